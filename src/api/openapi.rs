//! The OpenAPI 3.1 description of `/api` (API.md §10), served at `GET /api/openapi.json`.
//! It is generated from the handlers' own annotations and from the very types they read
//! and answer with, and a test compares it with the routes Rocket mounts, so it cannot
//! drift from the code.

use std::sync::OnceLock;

use rocket::response::content::RawJson;
use rocket::{get, routes, Route};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use crate::api::error::{ErrorBody, Failures};
use crate::api::{audit, auth, bucketlists, mfa, tokens, users};

pub(crate) fn routes() -> Vec<Route> {
    routes![document]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Self-hosted user accounts: the JSON API (API.md). Send an access token \
                       (JWT) or a personal access token in `x-access-token` or \
                       `Authorization: Bearer`."
    ),
    modifiers(&TokenHeaders),
    components(schemas(ErrorBody)),
    paths(
        auth::register, auth::login, auth::login_mfa, auth::refresh, auth::logout,
        auth::logout_all, auth::forgot_password, auth::reset_password, auth::verify_email,
        auth::resend_verification,
        users::me, users::update_me, users::change_password, users::list, users::create,
        users::show, users::patch_user, users::put_user, users::delete_user, users::sessions,
        users::end_session, users::clear_lockout, users::recovery_link,
        mfa::begin, mfa::confirm, mfa::disable, mfa::regenerate, mfa::remove,
        tokens::list, tokens::create, tokens::remove,
        audit::list,
        bucketlists::list, bucketlists::create, bucketlists::show, bucketlists::rename_patch,
        bucketlists::rename_put, bucketlists::remove, bucketlists::add_item,
        bucketlists::update_item, bucketlists::remove_item,
        document
    )
)]
struct ApiDoc;

/// The two token headers of API.md §1.
struct TokenHeaders;

impl Modify for TokenHeaders {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let header = ApiKey::Header(ApiKeyValue::new("x-access-token"));
        components.add_security_scheme("access_token", SecurityScheme::ApiKey(header));
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT, or a personal access token gatehouse_pat_…")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// This document.
#[utoipa::path(
    get,
    operation_id = "openapi_document",
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This OpenAPI 3.1 description of the API.",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object), Failures)
)]
#[get("/openapi.json")]
fn document() -> RawJson<&'static str> {
    // Made once: it is the same for every request, and anyone may ask for it.
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    RawJson(DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default()))
}

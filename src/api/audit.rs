//! The audit log, for admins.

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};

use crate::api::error::{Failures, Result};
use crate::api::views::{AuditPage, AuditView};
use crate::app::App;
use crate::audit;
use crate::auth::guard::Admin;
use crate::error::Error;
use crate::params::AuditParams;

pub(crate) fn routes() -> Vec<Route> {
    routes![list]
}

#[utoipa::path(
    get,
    operation_id = "audit_list",
    path = "/api/audit",
    tag = "audit",
    summary = "The audit log (admins).",
    security(("access_token" = []), ("bearer" = [])),
    params(AuditParams),
    responses((status = 200, description = "A page of events, newest first", body = AuditPage), Failures)
)]
#[get("/audit?<params..>")]
async fn list(app: &State<App>, _admin: Admin, params: AuditParams<'_>) -> Result<Json<AuditPage>> {
    let query = params.audit_query(None)?;
    let (page, per_page) = (query.page, query.per_page);
    let (events, total) = app
        .db
        .run(move |c| Ok::<_, Error>(audit::list(c, &query)?))
        .await?;
    let events = events.into_iter().map(AuditView::from).collect();
    Ok(Json(AuditPage {
        events,
        page,
        per_page,
        total,
    }))
}

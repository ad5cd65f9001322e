//! What an operator's tools read (API.md §11): `GET /metrics` for Prometheus, served only
//! with `metrics_token` set and sent as a Bearer token; anyone else finds no such page.

use rocket::http::ContentType;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::{get, routes, Route, State};

use crate::app::App;
use crate::auth::tokens::constant_time_eq;
use crate::http;

pub(crate) fn routes() -> Vec<Route> {
    routes![metrics]
}

/// The token of an `Authorization: Bearer …` header, if the request has one.
struct Bearer(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let header = req.headers().get_one("Authorization");
        let token = header.and_then(http::bearer_token).map(str::to_owned);
        Outcome::Success(Bearer(token))
    }
}

/// Every family in Prometheus's text format; 404 without the right token, as for a path
/// that does not exist, so a scanner learns nothing.
#[get("/metrics")]
fn metrics(app: &State<App>, bearer: Bearer) -> Option<(ContentType, String)> {
    let expected = app.settings.metrics_token.as_deref()?;
    let sent = bearer.0?;
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return None;
    }
    let (in_use, idle) = app.db.connections();
    crate::metrics::pool(in_use, idle);
    let format = ContentType::new("text", "plain").with_params(("version", "0.0.4"));
    Some((format, crate::metrics::render()))
}

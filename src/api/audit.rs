//! The audit log, for admins.

use rocket::serde::json::Value;
use rocket::{get, routes, FromForm, Route, State};
use serde_json::json;

use crate::accounts::validation::Checker;
use crate::api::pagination;
use crate::api::views::AuditView;
use crate::audit::{self, AuditQuery, Event};
use crate::auth::guard::Admin;
use crate::error::{Error, Result};
use crate::App;

pub fn routes() -> Vec<Route> {
    routes![list]
}

#[derive(FromForm)]
struct AuditParams<'r> {
    user: Option<&'r str>,
    event: Option<&'r str>,
    page: Option<&'r str>,
    per_page: Option<&'r str>,
}

#[get("/audit?<params..>")]
async fn list(app: &State<App>, _admin: Admin, params: AuditParams<'_>) -> Result<Value> {
    let mut checker = Checker::default();
    let (page, per_page) = pagination(&mut checker, params.page, params.per_page);
    let event = params.event.and_then(|text| {
        let event = Event::parse(text);
        if event.is_none() {
            checker.add("event", "is not a known event type");
        }
        event
    });
    let user = params.user.and_then(|text| {
        let id = uuid::Uuid::parse_str(text).ok();
        if id.is_none() {
            checker.add("user", "must be a user id");
        }
        id.map(|id| id.to_string())
    });
    checker.finish()?;
    let query = AuditQuery {
        user,
        event,
        page,
        per_page,
    };
    let (events, total) = app
        .db
        .run(move |c| Ok::<_, Error>(audit::list(c, &query)?))
        .await?;
    let events: Vec<AuditView> = events.into_iter().map(AuditView::from).collect();
    Ok(json!({"events": events, "page": page, "per_page": per_page, "total": total}))
}

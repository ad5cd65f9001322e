//! The audit log, for admins.

use rocket::serde::json::Value;
use rocket::{get, routes, Route, State};
use serde_json::json;

use crate::api::error::Result;
use crate::api::views::AuditView;
use crate::app::App;
use crate::audit;
use crate::auth::guard::Admin;
use crate::error::Error;
use crate::params::AuditParams;

pub(crate) fn routes() -> Vec<Route> {
    routes![list]
}

#[get("/audit?<params..>")]
async fn list(app: &State<App>, _admin: Admin, params: AuditParams<'_>) -> Result<Value> {
    let query = params.audit_query(None)?;
    let (page, per_page) = (query.page, query.per_page);
    let (events, total) = app
        .db
        .run(move |c| Ok::<_, Error>(audit::list(c, &query)?))
        .await?;
    let events: Vec<AuditView> = events.into_iter().map(AuditView::from).collect();
    Ok(json!({"events": events, "page": page, "per_page": per_page, "total": total}))
}

//! `/admin/users`: search over username, email and name; filters; sortable columns.

use rocket::http::uri::Origin;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::app::App;
use crate::params::ListParams;
use crate::web::failure::Served;
use crate::web::layout::{page, Layout, Page};
use crate::web::present::{Paging, UserRow};
use crate::web::session::AdminPage;
use crate::web::users::page_of_users;

const PER_PAGE: i64 = 50;

pub(super) fn routes() -> Vec<Route> {
    routes![list]
}

#[derive(Serialize)]
struct Filters<'a> {
    q: &'a str,
    role: &'a str,
    active: &'a str,
    mfa: &'a str,
    sort: &'a str,
}

#[derive(Serialize)]
struct ListPage<'a> {
    #[serde(flatten)]
    layout: Layout,
    rows: Vec<UserRow>,
    filters: Filters<'a>,
    /// This page's query (without `select`): the bulk action comes back to it.
    back: String,
    /// "Select all on this page" was chosen: every box starts ticked (no script needed).
    select_all: bool,
    #[serde(flatten)]
    paging: Paging,
}

#[get("/admin/users?<select>&<params..>")]
async fn list(
    app: &State<App>,
    admin: AdminPage,
    origin: &Origin<'_>,
    select: Option<&str>,
    params: ListParams<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let query = params.user_query(&admin.user, Some(PER_PAGE))?;
    let (users, paging) = page_of_users(app, query).await?;
    let back = origin.query().map_or_else(String::new, |query| {
        let kept = query.as_str().split('&');
        let kept: Vec<&str> = kept.filter(|p| !p.starts_with("select=")).collect();
        kept.join("&")
    });
    let context = ListPage {
        layout: Layout::signed_in(&admin, flash),
        back,
        select_all: select == Some("all"),
        rows: users.iter().map(UserRow::from).collect(),
        filters: Filters {
            q: params.q.unwrap_or_default(),
            role: params.role.unwrap_or_default(),
            active: params.active.unwrap_or_default(),
            mfa: params.mfa.unwrap_or_default(),
            sort: params.sort.unwrap_or("username"),
        },
        paging,
    };
    Ok(page(Status::Ok, "admin/users", context))
}

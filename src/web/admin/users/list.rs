//! `/admin/users`: search over username, email and name; filters; sortable columns.

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::accounts::model::User;
use crate::app::App;
use crate::params::ListParams;
use crate::web::failure::Served;
use crate::web::layout::{page, Layout, Page};
use crate::web::present::{Paging, UserRow};
use crate::web::session::AdminPage;

const PER_PAGE: i64 = 50;

pub(super) fn routes() -> Vec<Route> {
    routes![list]
}

#[derive(Serialize)]
struct Filters<'a> {
    q: &'a str,
    role: &'a str,
    active: &'a str,
    sort: &'a str,
}

#[derive(Serialize)]
struct ListPage<'a> {
    #[serde(flatten)]
    layout: Layout,
    rows: Vec<UserRow>,
    filters: Filters<'a>,
    #[serde(flatten)]
    paging: Paging,
}

#[get("/admin/users?<params..>")]
async fn list(
    app: &State<App>,
    admin: AdminPage,
    params: ListParams<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let query = params.user_query(&admin.user, Some(PER_PAGE))?;
    let (page_number, per_page) = (query.page, query.per_page);
    let (users, total) = app.db.run(move |c| User::list(c, &query)).await?;
    let context = ListPage {
        layout: Layout::signed_in(&admin, flash),
        rows: users.iter().map(UserRow::from).collect(),
        filters: Filters {
            q: params.q.unwrap_or_default(),
            role: params.role.unwrap_or_default(),
            active: params.active.unwrap_or_default(),
            sort: params.sort.unwrap_or("username"),
        },
        paging: Paging::new(page_number, per_page, total),
    };
    Ok(page(Status::Ok, "admin/users", context))
}

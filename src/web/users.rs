//! The member directory and profiles.

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::accounts::model::{SortKey, User, UserQuery};
use crate::accounts::{self, policy};
use crate::app::App;
use crate::error::Error;
use crate::params::MAX_PAGE;
use crate::web::failure::Served;
use crate::web::layout::{page, Layout, Page};
use crate::web::present::{Member, Paging};
use crate::web::session::SignedIn;

const PER_PAGE: i64 = 20;

pub(crate) fn routes() -> Vec<Route> {
    routes![directory, profile]
}

#[derive(Serialize)]
struct Directory {
    #[serde(flatten)]
    layout: Layout,
    members: Vec<Member>,
    q: String,
    #[serde(flatten)]
    paging: Paging,
}

/// Active members, searchable by username and name, 20 to a page.
#[get("/users?<q>&<page>")]
async fn directory(
    app: &State<App>,
    signed_in: SignedIn,
    q: Option<String>,
    page: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let q = q.unwrap_or_default().trim().to_owned();
    if q.chars().any(char::is_control) {
        return Err(Error::field("q", "must not contain control characters").into());
    }
    let page_number = page
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=MAX_PAGE).contains(p))
        .unwrap_or(1);
    let query = UserQuery {
        search: (!q.is_empty()).then(|| q.clone()),
        search_email: false,
        role: None,
        active: Some(true),
        mfa: None,
        sort: SortKey::Username,
        descending: false,
        page: page_number,
        per_page: PER_PAGE,
    };
    let (users, paging) = page_of_users(app, query).await?;
    let directory = Directory {
        layout: Layout::signed_in(&signed_in.0, flash),
        members: users.iter().map(Member::from).collect(),
        q,
        paging,
    };
    Ok(self::page(Status::Ok, "users/directory", directory))
}

/// One page of a user listing; a page past the last shows the last (a stale link after
/// deletions, a hand-edited number), never "Page 9 of 3".
pub(crate) async fn page_of_users(app: &App, query: UserQuery) -> Served<(Vec<User>, Paging)> {
    let per_page = query.per_page;
    let first = query.clone();
    let (users, total) = app.db.run(move |c| User::list(c, &first)).await?;
    let last = Paging::last_page(total, per_page);
    if query.page <= last {
        return Ok((users, Paging::new(query.page, per_page, total)));
    }
    let again = UserQuery {
        page: last,
        ..query
    };
    let (users, total) = app.db.run(move |c| User::list(c, &again)).await?;
    Ok((users, Paging::new(last, per_page, total)))
}

#[derive(Serialize)]
struct Profile {
    #[serde(flatten)]
    layout: Layout,
    member: Member,
    is_self: bool,
}

#[get("/users/<id>")]
async fn profile(app: &State<App>, signed_in: SignedIn, id: &str) -> Served<Page> {
    let user = accounts::find(app, id).await?;
    let viewer = &signed_in.0.user;
    if !policy::visible_to(&user, viewer) {
        return Err(Error::NotFound.into());
    }
    let profile = Profile {
        member: Member::from(&user),
        is_self: user.id == viewer.id,
        layout: Layout::signed_in(&signed_in.0, None),
    };
    Ok(page(Status::Ok, "users/profile", profile))
}

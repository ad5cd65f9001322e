//! What every page shares: the base layout's values (who is signed in, the CSRF token for
//! the forms, a flash message), the page and form-reply types, and safe `next` targets.

use rocket::http::uri::{Absolute, Origin, Reference};
use rocket::http::{Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect, Responder};
use rocket::Request;
use rocket_dyn_templates::Template;
use serde::Serialize;

use crate::app::App;
use crate::auth::Actor;
use crate::web::session;

/// What the base layout needs on every page.
#[derive(Serialize)]
pub(crate) struct Layout {
    /// Who is signed in, for the header. A name of its own, so that no page's values (an
    /// admin page's `user` is the account it shows) can stand in for it.
    signed_in: Option<NavUser>,
    /// For the forms on the page, the nav's logout button included.
    csrf_token: String,
    flash: Option<FlashView>,
}

#[derive(Serialize)]
struct NavUser {
    id: String,
    username: String,
    is_admin: bool,
}

#[derive(Serialize)]
struct FlashView {
    kind: String,
    message: String,
}

impl Layout {
    pub(crate) fn signed_in(current: &Actor, flash: Option<FlashMessage<'_>>) -> Self {
        Layout {
            signed_in: Some(NavUser {
                id: current.user.public_id.clone(),
                username: current.user.username.clone(),
                is_admin: current.user.is_admin(),
            }),
            // Pages are signed in by session cookies only: there is always one.
            csrf_token: current
                .session()
                .map(|s| s.csrf_token.clone())
                .unwrap_or_default(),
            flash: flash.map(FlashView::from),
        }
    }

    pub(crate) fn anonymous(csrf_token: String, flash: Option<FlashMessage<'_>>) -> Self {
        Layout {
            signed_in: None,
            csrf_token,
            flash: flash.map(FlashView::from),
        }
    }

    /// The layout for whoever made the request (used by error pages).
    pub(crate) fn for_request(req: &Request<'_>) -> Self {
        match session::signed_in(req) {
            Some(current) => Self::signed_in(current, None),
            None => Self::anonymous(String::new(), None),
        }
    }
}

impl From<FlashMessage<'_>> for FlashView {
    fn from(flash: FlashMessage<'_>) -> Self {
        FlashView {
            kind: flash.kind().to_owned(),
            message: flash.message().to_owned(),
        }
    }
}

/// A page: a template with the status it is served with.
pub(crate) type Page = (Status, Template);

/// What a form page answers: done (a redirect with a flash message), the form (again, with
/// what was typed and the problems found), or elsewhere (a signed-in visitor on the login
/// page).
#[derive(Responder)]
pub(crate) enum Reply {
    Done(Flash<Redirect>),
    Form(Page),
    Away(Redirect),
    /// The form again, refused for now: `Retry-After` says for how long.
    Wait(Page, Header<'static>),
}

impl Reply {
    /// A form page (its status already 429) told to wait `seconds`.
    pub(crate) fn wait(form: Page, seconds: i64) -> Self {
        Reply::Wait(form, Header::new("Retry-After", seconds.to_string()))
    }

    /// Done: on to `to`, with a message shown there.
    pub(crate) fn done(to: impl TryInto<Reference<'static>>, message: impl Into<String>) -> Self {
        Reply::Done(Flash::success(Redirect::to(to), message.into()))
    }

    /// Done, but with something the user should look at (a skipped item, an empty choice).
    pub(crate) fn warning(
        to: impl TryInto<Reference<'static>>,
        message: impl Into<String>,
    ) -> Self {
        Reply::Done(Flash::warning(Redirect::to(to), message.into()))
    }
}

/// The confirmation step before a destructive action: the question, what it will do, and a
/// danger button posting to `action` (`GET` on that path shows this page).
#[derive(Serialize)]
pub(crate) struct Confirmation {
    #[serde(flatten)]
    pub(crate) layout: Layout,
    pub(crate) question: String,
    pub(crate) detail: String,
    pub(crate) action: String,
    pub(crate) button: String,
    pub(crate) cancel: String,
}

impl Confirmation {
    pub(crate) fn page(self) -> Page {
        page(Status::Ok, "confirm", self)
    }
}

/// A page's values, and the template's own name: the navigation marks the current page by it.
#[derive(Serialize)]
struct Named<C> {
    #[serde(flatten)]
    context: C,
    page_name: &'static str,
}

pub(crate) fn page(status: Status, name: &'static str, context: impl Serialize) -> Page {
    let context = Named {
        context,
        page_name: name,
    };
    (status, Template::render(name, context))
}

/// Where a signed-in browser goes on to: an app behind forward auth when `next` is an
/// absolute URL allowed there (see [`app_url`]), else the path on this site that
/// [`local_path`] allows; `greeting` is shown when it stays here.
pub(crate) fn go_on(next: &str, app: &App, greeting: impl Into<String>) -> Reply {
    match app_url(next, app) {
        // Another site: no flash message, which would wait in a cookie until the next visit.
        Some(url) => Reply::Away(Redirect::to(url)),
        None => Reply::done(local_path(next), greeting),
    }
}

/// Where `next` leads, as [`go_on`] reads it (for a browser already signed in).
pub(crate) fn next_target(next: &str, app: &App) -> Reference<'static> {
    match app_url(next, app) {
        Some(url) => url.into(),
        None => local_path(next).into(),
    }
}

/// `next` as an absolute `http(s)` URL when its host (exact, any port) is `public_url`'s or
/// one of `forward_auth_domains` (API.md §10) and it names no user: nothing else leaves
/// this site, so a link cannot make the login an open redirect.
fn app_url(next: &str, app: &App) -> Option<Absolute<'static>> {
    let url = url::Url::parse(next).ok()?;
    let web = matches!(url.scheme(), "http" | "https");
    if !web || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let settings = &app.settings;
    let allowed = host == app.mailer.host().to_ascii_lowercase()
        || settings.forward_auth_domains.contains(&host);
    allowed
        .then(|| Absolute::parse_owned(url.to_string()).ok())
        .flatten()
}

/// Where to go after login: `next` only when it is a path on this site (one leading `/`,
/// no `//`, no backslash, no control character) that is a valid URI as it stands (a space
/// or `é` would fail the redirect after the login succeeded), else the start page.
pub(crate) fn local_path(next: &str) -> Origin<'static> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    let parsed = local.then(|| Origin::parse_owned(next.to_owned()).ok());
    parsed.flatten().unwrap_or(Origin::ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_this_site() {
        for local in ["/", "/account", "/users?q=a&page=2"] {
            assert_eq!(local_path(local).to_string(), local);
        }
        for foreign in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/account\nLocation: x",
            "",
            "/a b",
            "/caf\u{e9}",
            "/<script>",
            "/\"quoted\"",
            "/a|b",
        ] {
            assert_eq!(local_path(foreign).to_string(), "/", "{foreign:?}");
        }
    }
}

//! Forward auth (API.md §10): `/auth/verify` tells a reverse proxy (nginx `auth_request`,
//! Caddy `forward_auth`, Traefik `ForwardAuth`) whether the request it holds may reach the
//! app behind it, checking the session or token against the database like every request.
//!
//! The original URL is read from `X-Forwarded-Proto`/`-Host`/`-Uri` (or `X-Original-URL`),
//! and its method from `X-Forwarded-Method` (a read-only token may not write through the
//! proxy either), only when the connection comes from `trusted_proxies`: anyone else could
//! name any URL (the mistake behind authentik CVE-2024-47070). Nothing is renewed here: a refresh would
//! set cookies that a proxy may not pass on, so an expired access cookie is sent to the
//! login page, which renews it on this site and comes back.

use rocket::http::{Header, Method, Status};
use rocket::response::{self, Responder, Response};
use rocket::route::{Handler, Outcome, Route};
use rocket::{Data, Request};

use crate::accounts::model::User;
use crate::app::App;
use crate::auth::guard::{identify, is_read};
use crate::error::Error;
use crate::http::{self, Failure};

/// Mounted for every method a proxy may forward (HEAD answers as GET does).
pub(crate) fn routes() -> Vec<Route> {
    let methods = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];
    methods
        .into_iter()
        .map(|method| Route::new(method, "/auth/verify", Verify))
        .collect()
}

#[derive(Clone)]
struct Verify;

#[rocket::async_trait]
impl Handler for Verify {
    async fn handle<'r>(&self, req: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        Outcome::from(req, verdict(req).await)
    }
}

/// What the proxy is told.
enum Verdict {
    /// Let it through, saying who it is.
    Allowed(Box<User>),
    /// Signed in, but not allowed (`role=admin`, a read-only token changing something), or
    /// the check itself failed (503).
    Refused(Status),
    /// Not signed in: a browser goes to the login page when the original URL is known;
    /// anything else gets 401, with the login address in `X-Auth-Login` for proxies that
    /// cannot pass a redirect on (nginx's `auth_request` allows only 2xx, 401 and 403).
    SignIn {
        login: Option<String>,
        browser: bool,
    },
}

async fn verdict(req: &Request<'_>) -> Verdict {
    let app = match http::app_state(req).await {
        Ok(app) => app,
        Err(failure) => return Verdict::Refused(failure.status()),
    };
    let admin_only = match req.query_value::<&str>("role") {
        None | Some(Ok("user")) => false,
        Some(Ok("admin")) => true,
        Some(_) => return Verdict::Refused(Status::BadRequest),
    };
    let trusted = from_trusted_proxy(req, app);
    // Proxies ask by GET whatever the request was: only a trusted proxy's word that it
    // reads lets a `read` personal token through (an unknown method may write: WebDAV).
    let reads_only = trusted
        && req
            .headers()
            .get_one("X-Forwarded-Method")
            .and_then(|name| name.parse::<Method>().ok())
            .is_some_and(is_read);
    match identify(req, reads_only).await {
        Ok((actor, _)) if admin_only && !actor.user.is_admin() => {
            Verdict::Refused(Status::Forbidden)
        }
        Ok((actor, _)) if admin_only => match actor.ensure_admin_cleared(&app.settings) {
            Ok(()) => Verdict::Allowed(Box::new(actor.user)),
            Err(_) => Verdict::Refused(Status::Forbidden),
        },
        Ok((actor, _)) => Verdict::Allowed(Box::new(actor.user)),
        Err(Failure::Domain(Error::Auth(_))) => {
            let original = trusted.then(|| original_url(req)).flatten();
            let login = original.map(|url| login_url(app, &url));
            let browser = req
                .headers()
                .get("Accept")
                .any(|accept| accept.contains("text/html"));
            Verdict::SignIn { login, browser }
        }
        Err(failure) => Verdict::Refused(failure.status()),
    }
}

/// Whether the connection comes from one of `trusted_proxies`, whose `X-Forwarded-*` and
/// `X-Original-URL` headers are then believed (from anyone else they are ignored).
fn from_trusted_proxy(req: &Request<'_>, app: &App) -> bool {
    let peer = req.remote().map(|peer| peer.ip().to_canonical());
    let trusted = &app.settings.trusted_proxies;
    peer.is_some_and(|peer| trusted.iter().any(|network| network.contains(&peer)))
}

/// The URL the proxy was asked for, as the proxy names it.
fn original_url(req: &Request<'_>) -> Option<String> {
    let headers = req.headers();
    let part = |name| headers.get_one(name);
    // The X-Forwarded-* that Caddy, Traefik and the README's nginx block set themselves
    // first: each proxy passes a client's other headers on as they came.
    let forwarded = (|| {
        let (proto, host) = (part("X-Forwarded-Proto")?, part("X-Forwarded-Host")?);
        Some(format!("{proto}://{host}{}", part("X-Forwarded-Uri")?))
    })();
    let named = forwarded.or_else(|| part("X-Original-URL").map(str::to_owned))?;
    let url = url::Url::parse(&named).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// This server's login page, coming back to `original` afterwards (the login page decides
/// whether it may: `forward_auth_domains`).
fn login_url(app: &App, original: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(original.as_bytes()).collect();
    app.mailer.link(&format!("/login?next={next}"))
}

impl<'r> Responder<'r, 'static> for Verdict {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut answer = Response::build();
        // Each answer is about this request's credentials alone: never kept by a cache.
        answer.header(Header::new("Cache-Control", "no-store"));
        match self {
            Verdict::Allowed(user) => {
                answer
                    .status(Status::Ok)
                    .header(Header::new("X-Auth-User", user.username))
                    .header(Header::new("X-Auth-User-Id", user.public_id))
                    .header(Header::new("X-Auth-Email", user.email))
                    .header(Header::new("X-Auth-Role", user.role.as_str()));
            }
            Verdict::Refused(status) => {
                answer.status(status);
            }
            Verdict::SignIn {
                login: Some(login),
                browser: true,
            } => {
                answer
                    .status(Status::Found)
                    .header(Header::new("Location", login));
            }
            Verdict::SignIn { login, .. } => {
                answer.status(Status::Unauthorized);
                if let Some(login) = login {
                    answer.header(Header::new("X-Auth-Login", login));
                }
            }
        }
        answer.ok()
    }
}

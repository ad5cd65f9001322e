//! Security headers on every response, pages and JSON alike.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// No inline script, no framing, no sniffing, no referrer leaking ids in paths; forms post
/// to this site only (the `form-action` list is completed by [`SecurityHeaders::new`]).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

pub(crate) struct SecurityHeaders {
    /// The site is served over TLS (`cookie_secure`), so browsers may be told to insist.
    hsts: bool,
    content_security_policy: String,
}

impl SecurityHeaders {
    /// `app_hosts`: the hosts a login form may end up on, through its redirect (the apps
    /// behind forward auth, API.md §10). Browsers apply `form-action` to a form's redirects
    /// too, so without them the login's way back to an app would be blocked.
    pub(crate) fn new(hsts: bool, app_hosts: &[&str]) -> Self {
        let mut content_security_policy = CONTENT_SECURITY_POLICY.to_owned();
        for host in app_hosts {
            content_security_policy.push_str(&format!(" {host}:*"));
        }
        SecurityHeaders {
            hsts,
            content_security_policy,
        }
    }
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            self.content_security_policy.clone(),
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        if self.hsts {
            let policy = "max-age=31536000; includeSubDomains";
            res.set_header(Header::new("Strict-Transport-Security", policy));
        }
        // Pages and API answers carry tokens, CSRF tokens and personal data: no cache may
        // keep them. Only the stylesheets are cacheable.
        if !req.uri().path().starts_with("/static/") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

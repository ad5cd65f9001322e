//! Security headers on every response, pages and JSON alike.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// No inline script, no framing, no sniffing, no referrer leaking ids in paths.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `hsts`: the site is served over TLS (`cookie_secure`), so browsers may be told to insist.
pub(crate) struct SecurityHeaders {
    pub(crate) hsts: bool,
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
            CONTENT_SECURITY_POLICY,
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

//! Each request counted and timed in the metrics (`gatehouse_http_requests_total`,
//! `gatehouse_http_request_duration_seconds`), by its route's template (`/api/users/<id>`),
//! never its path: ids would make a new series each.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

/// The fairing that observes every request.
pub(crate) struct Observe;

/// When the request arrived.
struct Arrived(Instant);

#[rocket::async_trait]
impl Fairing for Observe {
    fn info(&self) -> Info {
        Info {
            name: "Request metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        req.local_cache(|| Arrived(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Arrived(at) = req.local_cache(|| Arrived(Instant::now()));
        // No route matched (a 404 for an unknown path): one series for all of them.
        let route = req
            .route()
            .map_or("unmatched".into(), |r| r.uri.path().to_string());
        let status = res.status().code;
        crate::metrics::request(req.method().as_str(), &route, status, at.elapsed());
    }
}

//! Each request counted, timed and logged: in the metrics
//! (`gatehouse_http_requests_total`, `gatehouse_http_request_duration_seconds`) and in one log
//! line, by its route's template (`/api/users/<id>`), never its path (ids would make a series
//! each, and paths can carry one-time tokens). Each request gets an id, sent back as
//! `X-Request-Id` and named by its log line and by a 500's body.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};

use crate::logs::{self, RequestLine};

/// The fairing that observes every request.
pub(crate) struct Observe;

/// When the request arrived, and its id.
struct Arrival {
    at: Instant,
    id: String,
}

fn arrival<'r>(req: &'r Request<'_>) -> &'r Arrival {
    req.local_cache(|| Arrival {
        at: Instant::now(),
        // 128 bits from the thread's generator: unique, and no system call per request
        // (a v4 UUID asks the kernel for each one).
        id: format!("{:032x}", rand::random::<u128>()),
    })
}

/// This request's id.
pub(crate) fn request_id<'r>(req: &'r Request<'_>) -> &'r str {
    &arrival(req).id
}

#[rocket::async_trait]
impl Fairing for Observe {
    fn info(&self) -> Info {
        Info {
            name: "Request metrics and log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        arrival(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Arrival { at, id } = arrival(req);
        let took = at.elapsed();
        // No route matched (a 404 for an unknown path): one series for all of them.
        let route = req.route().map_or("unmatched", |r| r.uri.path());
        let (method, status) = (req.method().as_str(), res.status().code);
        crate::metrics::request(method, route, status, took);
        logs::request(&RequestLine {
            request_id: id,
            method,
            route,
            status,
            duration_ms: took.as_secs_f64() * 1000.0,
            client: req.client_ip().map(|ip| ip.to_string()),
        });
        res.set_header(Header::new("X-Request-Id", id.clone()));
    }
}

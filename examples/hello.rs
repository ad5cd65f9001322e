//! The framework floor for the benchmarks: the smallest Rocket app, served with the same
//! runtime settings as Gatehouse, so `bench/run` can report Gatehouse as a fraction of it.

use rocket::{get, launch, routes};

#[get("/")]
fn hello() -> &'static str {
    "hello"
}

#[launch]
fn rocket() -> _ {
    rocket::build().mount("/", routes![hello])
}

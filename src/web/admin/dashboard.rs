//! `/admin`: counts, and a chart of daily sign-ups and logins drawn as SVG on the server.

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::app::App;
use crate::reports::{self, Day};
use crate::web::failure::Served;
use crate::web::layout::{page, Layout, Page};
use crate::web::session::AdminPage;

/// Chart geometry, in SVG user units.
const CHART_HEIGHT: f64 = 160.0;
const DAY_WIDTH: f64 = 20.0;
const BAR_WIDTH: f64 = 8.0;

pub(crate) fn routes() -> Vec<Route> {
    routes![dashboard]
}

#[derive(Serialize)]
struct Counts {
    users: i64,
    active: i64,
    admins: i64,
    /// Active admins and members who sign in with a second factor.
    admins_mfa: i64,
    members_mfa: i64,
    signups_7d: i64,
    logins_7d: i64,
}

/// One day of the chart: two bars, positioned here so the template only draws.
#[derive(Serialize)]
struct Bars {
    date: String,
    signups: i64,
    logins: i64,
    x: f64,
    signups_height: f64,
    logins_height: f64,
    /// Every seventh day gets a date label under the axis.
    label: bool,
}

#[derive(Serialize)]
struct DashboardPage {
    #[serde(flatten)]
    layout: Layout,
    counts: Counts,
    bars: Vec<Bars>,
    chart_width: f64,
    chart_height: f64,
    peak: i64,
    summary: String,
    /// The first day of the last seven, for the audit links behind the weekly figures.
    week_start: String,
}

#[get("/admin")]
async fn dashboard(
    app: &State<App>,
    admin: AdminPage,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let now = app.clock.now();
    let report = app.db.run(move |c| reports::dashboard(c, now)).await?;
    let peak = report
        .days
        .iter()
        .map(|d| d.signups.max(d.logins))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<Bars> = report
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| bars(i, day, peak))
        .collect();
    let total = |f: fn(&Day) -> i64| report.days.iter().map(f).sum::<i64>();
    let summary = format!(
        "{} sign-ups and {} sign-ins in the last 30 days",
        total(|d| d.signups),
        total(|d| d.logins)
    );
    let context = DashboardPage {
        layout: Layout::signed_in(&admin.0, flash),
        counts: Counts {
            users: report.users,
            active: report.active,
            admins: report.admins,
            admins_mfa: report.admins_mfa,
            members_mfa: report.members_mfa,
            signups_7d: report.signups_7d,
            logins_7d: report.logins_7d,
        },
        chart_width: DAY_WIDTH * bars.len() as f64,
        chart_height: CHART_HEIGHT,
        bars,
        peak,
        summary,
        week_start: (now - time::Duration::days(7)).date().to_string(),
    };
    Ok(page(Status::Ok, "admin/dashboard", context))
}

fn bars(index: usize, day: &Day, peak: i64) -> Bars {
    let height = |count: i64| (count as f64 / peak as f64 * CHART_HEIGHT).round();
    Bars {
        date: day.start.date().to_string(),
        signups: day.signups,
        logins: day.logins,
        x: index as f64 * DAY_WIDTH + (DAY_WIDTH - 2.0 * BAR_WIDTH) / 2.0,
        signups_height: height(day.signups),
        logins_height: height(day.logins),
        label: index.is_multiple_of(7),
    }
}

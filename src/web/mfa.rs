//! `/account/mfa`: the owner's second factor (API.md §9). Turning it on takes the password,
//! then a code from the app for the secret shown (a QR code and the text); the recovery
//! codes are shown once, on the page that answers the confirmation or a regeneration.

use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::Serialize;

use crate::app::App;
use crate::error::{Error, FieldErrors};
use crate::mfa;
use crate::web::csrf::CsrfForm;
use crate::web::failure::Served;
use crate::web::form::{send_back, Refused, Showing, Text};
use crate::web::layout::{page, Layout, Page, Reply};
use crate::web::present::qr_svg;
use crate::web::session::SignedIn;

pub(crate) fn routes() -> Vec<Route> {
    routes![show, begin, confirm, regenerate, disable]
}

/// The page's forms, by the name a refused one comes back under.
const BEGIN: &str = "mfa-begin";
const CONFIRM: &str = "mfa-confirm";
const CODES: &str = "mfa-codes";
const OFF: &str = "mfa-off";

#[derive(Serialize)]
struct Waiting {
    secret: String,
    otpauth_url: String,
    qr: Option<String>,
}

#[derive(Serialize)]
struct MfaPage {
    #[serde(flatten)]
    layout: Layout,
    enabled: bool,
    codes_left: i64,
    waiting: Option<Waiting>,
    /// An admin here must enrol before any admin page opens.
    required: bool,
    /// The problems of the form that was refused (the others have none).
    begin_errors: FieldErrors,
    confirm_errors: FieldErrors,
    codes_errors: FieldErrors,
    off_errors: FieldErrors,
}

#[get("/account/mfa")]
async fn show(
    app: &State<App>,
    signed_in: SignedIn,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let user = &signed_in.user;
    let which = [BEGIN, CONFIRM, CODES, OFF]
        .into_iter()
        .find(|form| refused.is(form));
    let shown = refused.showing(flash, which.unwrap_or(BEGIN), ());
    let waiting = mfa::waiting(app, user).await?.map(|enrolment| Waiting {
        qr: qr_svg(&enrolment.otpauth_url),
        secret: enrolment.secret,
        otpauth_url: enrolment.otpauth_url,
    });
    let errors_of = |form: &str| {
        if which == Some(form) {
            shown.errors.clone()
        } else {
            FieldErrors::new()
        }
    };
    let context = MfaPage {
        layout: Layout::signed_in(&signed_in, shown.flash),
        enabled: user.mfa_enabled,
        codes_left: mfa::codes_left(app, user).await?,
        waiting,
        required: user.is_admin() && app.settings.require_mfa_for_admins && !user.mfa_enabled,
        begin_errors: errors_of(BEGIN),
        confirm_errors: errors_of(CONFIRM),
        codes_errors: errors_of(CODES),
        off_errors: errors_of(OFF),
    };
    Ok(page(shown.status, "account/mfa", context))
}

#[derive(FromForm)]
struct PasswordForm {
    password: Text,
}

#[derive(FromForm)]
struct CodeForm {
    code: Text,
}

/// The recovery codes, shown this once.
#[derive(Serialize)]
struct CodesPage {
    #[serde(flatten)]
    layout: Layout,
    codes: Vec<String>,
    first_time: bool,
}

fn codes_page(signed_in: &SignedIn, codes: Vec<String>, first_time: bool) -> Reply {
    let context = CodesPage {
        layout: Layout::signed_in(signed_in, None),
        codes,
        first_time,
    };
    Reply::Form(page(Status::Ok, "account/recovery_codes", context))
}

/// Back to the page, where the form `form` shows `error` beside its field.
fn back(jar: &CookieJar<'_>, app: &App, form: &str, error: &Error) -> Served {
    let shown = Showing::again(error, ())?;
    Ok(send_back(jar, &app.settings, uri!(show), form, shown))
}

/// Checks the password and shows a new secret to put into the app.
#[post("/account/mfa/totp", data = "<form>")]
async fn begin(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> Served {
    match mfa::begin(app, &signed_in, form.0.password.into()).await {
        Ok(_) => Ok(Reply::done(
            uri!(show),
            "Scan the code with your app, then enter the code it shows.",
        )),
        Err(error) => back(jar, app, BEGIN, &error),
    }
}

/// A code from the app turns two-factor authentication on; the answer shows the recovery
/// codes.
#[post("/account/mfa/totp/confirm", data = "<form>")]
async fn confirm(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<CodeForm>,
) -> Served {
    match mfa::confirm(app, &signed_in, &form.0.code).await {
        Ok(codes) => Ok(codes_page(&signed_in, codes, true)),
        Err(error) => back(jar, app, CONFIRM, &error),
    }
}

/// New recovery codes for the password; the old ones stop working.
#[post("/account/mfa/recovery-codes", data = "<form>")]
async fn regenerate(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> Served {
    match mfa::regenerate(app, &signed_in, form.0.password.into()).await {
        Ok(codes) => Ok(codes_page(&signed_in, codes, false)),
        Err(error) => back(jar, app, CODES, &error),
    }
}

/// Turns two-factor authentication off (or cancels an enrolment) with the password.
#[post("/account/mfa/off", data = "<form>")]
async fn disable(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> Served {
    let was_on = signed_in.user.mfa_enabled;
    match mfa::disable(app, &signed_in, form.0.password.into()).await {
        Ok(()) if was_on => Ok(Reply::done(
            uri!(show),
            "Two-factor authentication is off: signing in asks for your password alone.",
        )),
        Ok(()) => Ok(Reply::done(uri!(show), "The enrolment is cancelled.")),
        Err(error) => back(jar, app, OFF, &error),
    }
}

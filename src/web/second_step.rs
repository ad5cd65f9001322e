//! The second step of signing in (API.md §9): after the right password, a code from the
//! authenticator app, or a recovery code instead. The login waiting for it is held in an
//! encrypted cookie (`session::hold_second_step`), with the page to go to after.

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::audit::Source;
use crate::auth::SecondFactor;
use crate::error::{Error, FieldErrors};
use crate::web::auth::few_left;
use crate::web::csrf::{AnonymousToken, CsrfForm};
use crate::web::failure::Served;
use crate::web::form::{send_back, Refused, Showing, Text};
use crate::web::layout::{go_on, page, Layout, Page, Reply};
use crate::web::session::{self, SignedIn};

pub(crate) fn routes() -> Vec<Route> {
    routes![code_form, check_code]
}

#[derive(FromForm, Serialize, Deserialize, Default)]
struct CodeForm {
    /// The six digits the app shows.
    code: Text,
    /// Or one of the account's recovery codes.
    recovery_code: Text,
    /// Which of the two the form asks for.
    recovery: bool,
}

#[derive(Serialize)]
struct CodePage {
    #[serde(flatten)]
    layout: Layout,
    values: CodeForm,
    errors: FieldErrors,
    problem: Option<String>,
}

fn code_page(csrf: AnonymousToken, shown: Showing<'_, CodeForm>) -> Page {
    let context = CodePage {
        layout: Layout::anonymous(csrf.0, shown.flash),
        values: shown.values,
        errors: shown.errors,
        problem: shown.problem,
    };
    page(shown.status, "auth/second_step", context)
}

/// Back to the password form, with why.
fn sign_in_again(jar: &CookieJar<'_>, app: &App, why: &str) -> Reply {
    session::drop_second_step(jar, &app.settings);
    Reply::warning(uri!("/login"), why.to_owned())
}

#[get("/login/mfa?<recovery>")]
fn code_form(
    app: &State<App>,
    jar: &CookieJar<'_>,
    recovery: Option<bool>,
    signed_in: Option<SignedIn>,
    csrf: AnonymousToken,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Reply {
    if signed_in.is_some() {
        return Reply::Away(Redirect::to(uri!("/")));
    }
    if session::second_step(jar, &app.settings).is_none() {
        return Reply::Away(Redirect::to(uri!("/login")));
    }
    let fresh = CodeForm {
        recovery: recovery.unwrap_or(false),
        ..CodeForm::default()
    };
    let mut shown = refused.showing(flash, "second-step", fresh);
    if let Some(recovery) = recovery {
        shown.values.recovery = recovery;
    }
    Reply::Form(code_page(csrf, shown))
}

/// Checks the code; on success the browser is signed in and goes where it was going.
#[post("/login/mfa", data = "<form>")]
async fn check_code(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    csrf: AnonymousToken,
    form: CsrfForm<CodeForm>,
) -> Served {
    let form = form.0;
    let Some((token, next)) = session::second_step(jar, &app.settings) else {
        return Ok(sign_in_again(jar, app, "Sign in first."));
    };
    let to = uri!(code_form(Some(form.recovery)));
    let factor = match (form.recovery, form.code.given(), form.recovery_code.given()) {
        (false, Some(code), _) => SecondFactor::Totp(code),
        (true, _, Some(code)) => SecondFactor::RecoveryCode(code),
        (recovery, ..) => {
            let field = if recovery { "recovery_code" } else { "code" };
            let errors = FieldErrors::from([(field.to_owned(), vec!["is required".to_owned()])]);
            let shown = Showing::refused(errors, form);
            return Ok(send_back(jar, &app.settings, to, "second-step", shown));
        }
    };
    let signed_in = match crate::auth::second_step(app, &token, factor, &source).await {
        Ok(signed_in) => signed_in,
        Err(Error::WrongCode { attempts_left: 0 }) => {
            let why = "Too many wrong codes: sign in again.";
            return Ok(sign_in_again(jar, app, why));
        }
        Err(error @ Error::WrongCode { attempts_left }) => {
            let problem = format!("{} {}", error.message(), few_left(attempts_left));
            let shown = Showing::problem(&error, problem.trim_end().to_owned(), form);
            return Ok(send_back(jar, &app.settings, to, "second-step", shown));
        }
        Err(Error::Validation(_)) => {
            let why = "Signing in took too long: enter your password again.";
            return Ok(sign_in_again(jar, app, why));
        }
        Err(error @ Error::TooManyRequests(seconds)) => {
            let shown = Showing::problem(&error, error.message(), form);
            return Ok(Reply::wait(code_page(csrf, shown), seconds));
        }
        Err(other) => return Err(other.into()),
    };
    session::drop_second_step(jar, &app.settings);
    session::sign_in(jar, &app.settings, &signed_in);
    let greeting = format!("Signed in as {}.", signed_in.user.username);
    Ok(go_on(&next, app, greeting))
}

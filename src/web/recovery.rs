//! One-time links on pages: the page that mails a reset link, the pages the links open
//! (a new password; confirming an address), and asking for a new confirmation link.

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::accounts::recovery;
use crate::app::App;
use crate::audit::Source;
use crate::error::FieldErrors;
use crate::web::csrf::{AnonymousToken, CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, typed_twice, Refused, Showing, Text};
use crate::web::layout::{page, Layout, Page, Reply};

pub(crate) fn routes() -> Vec<Route> {
    routes![
        forgot_form,
        forgot,
        reset_form,
        reset,
        verify_form,
        verify,
        resend_from_login
    ]
}

#[derive(Serialize)]
struct FormPage<V: Serialize> {
    #[serde(flatten)]
    layout: Layout,
    values: V,
    errors: FieldErrors,
    /// On the reset page: whether the link can still be used, and the link's token (the
    /// form posts back to it).
    usable: bool,
    token: String,
}

fn form_page<V: Serialize>(
    template: &'static str,
    csrf: AnonymousToken,
    shown: Showing<'_, V>,
    (usable, token): (bool, &str),
) -> Page {
    let context = FormPage {
        layout: Layout::anonymous(csrf.0, shown.flash),
        values: shown.values,
        errors: shown.errors,
        usable,
        token: token.to_owned(),
    };
    page(shown.status, template, context)
}

#[derive(FromForm, Serialize, Deserialize, Default)]
struct ForgotForm {
    email: Text,
}

#[get("/password/forgot")]
fn forgot_form(csrf: AnonymousToken, refused: Refused, flash: Option<FlashMessage<'_>>) -> Page {
    let shown = refused.showing(flash, "forgot", ForgotForm::default());
    form_page("auth/forgot", csrf, shown, (true, ""))
}

/// Mails a link when an active account has the address; says the same either way.
#[post("/password/forgot", data = "<form>")]
async fn forgot(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    _csrf: AnonymousToken,
    form: CsrfForm<ForgotForm>,
) -> Served {
    let form = form.0;
    match recovery::forgot(app, &form.email, &source) {
        Ok(()) => {
            let minutes = recovery::minutes(app.settings.reset_token_ttl);
            let sent = format!(
                "If an account has that address, we sent it a link to set a new password. \
                 It works for {minutes} minutes."
            );
            Ok(Reply::done(uri!(forgot_form), sent))
        }
        Err(error) => {
            let shown = Showing::again(&error, form)?;
            Ok(send_back(
                jar,
                &app.settings,
                uri!(forgot_form),
                "forgot",
                shown,
            ))
        }
    }
}

#[derive(FromForm)]
struct ResetForm {
    new_password: Text,
    new_password_confirm: Text,
}

/// The page a link opens: checks the link, uses nothing up, asks for the new password.
#[get("/password/reset/<token>")]
async fn reset_form(
    app: &State<App>,
    token: &str,
    csrf: AnonymousToken,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Page {
    let usable = recovery::check(app, token).await.is_ok();
    let shown = refused.showing(flash, "reset", ());
    form_page("auth/reset", csrf, shown, (usable, token))
}

/// Sets the new password; the link is used up and every session of the account ends.
#[post("/password/reset/<token>", data = "<form>")]
async fn reset(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    token: &str,
    _csrf: AnonymousToken,
    form: CsrfForm<ResetForm>,
) -> Served {
    let form = form.0;
    let result = match typed_twice(&form.new_password, &form.new_password_confirm) {
        Ok(()) => recovery::reset(app, token, form.new_password.into(), &source).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(Reply::done(
            uri!("/login"),
            "Your new password is set, and every session signed in before has ended. \
             Sign in with it.",
        )),
        Err(error) => {
            let shown = Showing::again(&error, ())?;
            Ok(send_back(
                jar,
                &app.settings,
                uri!(reset_form(token)),
                "reset",
                shown,
            ))
        }
    }
}

/// The page a verification link opens: a button that confirms (a GET changes nothing).
#[get("/verify-email/<token>")]
fn verify_form(
    token: &str,
    csrf: AnonymousToken,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Page {
    let shown = refused.showing(flash, "verify", ());
    form_page("auth/verify", csrf, shown, (true, token))
}

/// Uses the link: the address is confirmed, or a pending change applied.
#[post("/verify-email/<token>", data = "<_form>")]
async fn verify(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    token: &str,
    _csrf: AnonymousToken,
    _form: CsrfForm<Token>,
) -> Served {
    match recovery::verify(app, token, &source).await {
        Ok(()) => Ok(Reply::done(uri!("/"), "Your email address is confirmed.")),
        Err(error) => {
            let shown = Showing::again(&error, ())?;
            Ok(send_back(
                jar,
                &app.settings,
                uri!(verify_form(token)),
                "verify",
                shown,
            ))
        }
    }
}

#[derive(FromForm)]
struct ResendForm {
    username: Text,
}

/// From the login page, after the right password met an unconfirmed address: a new link.
/// It says the same whatever the name (no account is revealed), and is held to
/// `mail_per_hour`.
#[post("/verify-email/resend", data = "<form>")]
async fn resend_from_login(
    app: &State<App>,
    source: Source,
    _csrf: AnonymousToken,
    form: CsrfForm<ResendForm>,
) -> Served {
    recovery::resend_for(app, form.0.username.trim(), &source);
    Ok(Reply::done(
        uri!("/login"),
        "If that account has an address to confirm, a new link is on its way to it.",
    ))
}

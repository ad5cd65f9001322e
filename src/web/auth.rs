//! Sign-up, login and logout pages.

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, NewAccount, Origin};
use crate::app::App;
use crate::audit::Source;
use crate::auth::Login;
use crate::error::{Error, FieldErrors};
use crate::web::csrf::{AnonymousToken, CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, Refused, Showing, Text};
use crate::web::layout::{go_on, next_target, page, Layout, Page, Reply};
use crate::web::session::{self, clear_cookies, SignedIn};

pub(crate) fn routes() -> Vec<Route> {
    routes![signup_form, signup, login_form, login, logout_form, logout]
}

/// A form shown, or re-shown with what was typed (never a password: the form types skip
/// them) and the problems beside each field.
#[derive(Serialize)]
struct FormPage<V: Serialize> {
    #[serde(flatten)]
    layout: Layout,
    values: V,
    errors: FieldErrors,
    /// A problem with the form as a whole (a failed login).
    problem: Option<String>,
    /// The right password for an unconfirmed address: the page offers a new link.
    unconfirmed: bool,
}

/// The sign-up or login page of a browser that is not signed in; `unconfirmed` offers a
/// new confirmation link.
fn form_page<V: Serialize>(
    template: &'static str,
    csrf: AnonymousToken,
    shown: Showing<'_, V>,
    unconfirmed: bool,
) -> Page {
    let context = FormPage {
        layout: Layout::anonymous(csrf.0, shown.flash),
        values: shown.values,
        errors: shown.errors,
        problem: shown.problem,
        unconfirmed,
    };
    page(shown.status, template, context)
}

#[derive(FromForm, Serialize, Deserialize, Default)]
struct SignupForm {
    username: Text,
    email: Text,
    name: Text,
    #[serde(skip)]
    password: Text,
    #[serde(skip)]
    password_confirm: Text,
}

impl SignupForm {
    fn account(&self) -> NewAccount {
        NewAccount {
            username: self.username.to_string(),
            email: self.email.to_string(),
            password: Some(self.password.to_string()),
            name: Some(self.name.to_string()),
            role: None,
            active: None,
        }
    }
}

#[get("/signup")]
fn signup_form(
    signed_in: Option<SignedIn>,
    csrf: AnonymousToken,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Reply {
    if signed_in.is_some() {
        return Reply::Away(Redirect::to(uri!("/")));
    }
    let shown = refused.showing(flash, "signup", SignupForm::default());
    Reply::Form(form_page("auth/signup", csrf, shown, false))
}

/// Creates the account and signs it in; on a problem, the form again with what was typed.
#[post("/signup", data = "<form>")]
async fn signup(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    _csrf: AnonymousToken,
    form: CsrfForm<SignupForm>,
) -> Served {
    let form = form.0;
    let back = |shown| send_back(jar, &app.settings, uri!(signup_form), "signup", shown);
    if form.password != form.password_confirm {
        let mut errors = accounts::validate_new(&app.settings, &form.account())
            .err()
            .unwrap_or_default();
        let problem = vec!["does not match the password".into()];
        errors.insert("password_confirm".into(), problem);
        return Ok(back(Showing::refused(errors, form)));
    }
    let user = match accounts::create(app, form.account(), Origin::SignUp, &source).await {
        Ok(user) => user,
        Err(error) => return Ok(back(Showing::again(&error, form)?)),
    };
    let signed_in = crate::auth::start(app, user, None, &source).await?;
    session::sign_in(jar, &app.settings, &signed_in);
    let welcome = format!("Welcome to Gatehouse, {}!", signed_in.user.username);
    Ok(Reply::done(uri!("/"), welcome))
}

#[derive(FromForm, Serialize, Deserialize, Default)]
struct LoginForm {
    username: Text,
    #[serde(skip)]
    password: Text,
    next: Text,
}

#[get("/login?<next>")]
fn login_form(
    app: &State<App>,
    next: Option<&str>,
    signed_in: Option<SignedIn>,
    csrf: AnonymousToken,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Reply {
    let next = next.unwrap_or("/").to_owned();
    if signed_in.is_some() {
        return Reply::Away(Redirect::to(next_target(&next, app)));
    }
    let form = LoginForm {
        next: next.into(),
        ..LoginForm::default()
    };
    let unconfirmed = refused.is(UNCONFIRMED);
    let name = if unconfirmed { UNCONFIRMED } else { "login" };
    let shown = refused.showing(flash, name, form);
    Reply::Form(form_page("auth/login", csrf, shown, unconfirmed))
}

/// The login form refused for an unconfirmed address (it offers a new link).
const UNCONFIRMED: &str = "login-unconfirmed";

/// Signs in with a username or an email; one message for every failure, so the page
/// reveals nothing about which accounts exist.
#[post("/login", data = "<form>")]
async fn login(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    csrf: AnonymousToken,
    form: CsrfForm<LoginForm>,
) -> Served {
    let form = form.0;
    let to = uri!(login_form(Some(&*form.next)));
    let mut errors = FieldErrors::new();
    for (field, value) in [("username", &form.username), ("password", &form.password)] {
        if value.trim().is_empty() {
            errors.insert(field.into(), vec!["is required".into()]);
        }
    }
    if !errors.is_empty() {
        let shown = Showing::refused(errors, form);
        return Ok(send_back(jar, &app.settings, to, "login", shown));
    }
    let password = form.password.to_string();
    let device = session::device(jar, &app.settings);
    let username = form.username.trim();
    let signed_in = match crate::auth::login(app, username, password, &source, &device).await {
        Ok(Login::Done(signed_in)) => *signed_in,
        Ok(Login::SecondStep { mfa_token }) => {
            session::hold_second_step(jar, &app.settings, &mfa_token, &form.next);
            return Ok(Reply::Away(Redirect::to(uri!("/login/mfa"))));
        }
        Err(error @ (Error::InvalidCredentials { .. } | Error::AccountDisabled)) => {
            // One sentence for the whole form, the same whatever was wrong.
            let problem = match error {
                Error::InvalidCredentials {
                    attempts_left: Some(left),
                } => format!("{} {}", error.message(), few_left(left)),
                _ => error.message(),
            };
            let shown = Showing::problem(&error, problem, form);
            return Ok(send_back(jar, &app.settings, to, "login", shown));
        }
        Err(error @ Error::EmailUnverified) => {
            let shown = Showing::problem(&error, error.message(), form);
            return Ok(send_back(jar, &app.settings, to, UNCONFIRMED, shown));
        }
        Err(error @ Error::TooManyRequests(seconds)) => {
            // The form stays, with what was typed, and says when to try again: answered
            // here rather than sent back, since only this answer can carry Retry-After.
            let shown = Showing::problem(&error, error.message(), form);
            return Ok(Reply::wait(
                form_page("auth/login", csrf, shown, false),
                seconds,
            ));
        }
        Err(other) => return Err(other.into()),
    };
    session::sign_in(jar, &app.settings, &signed_in);
    let greeting = format!("Signed in as {}.", signed_in.user.username);
    Ok(go_on(&form.next, app, greeting))
}

/// A warning when a lock-out is near: it is no secret (strangers count per name typed,
/// whether or not an account has it), and it spares the owner a surprise.
pub(crate) fn few_left(left: i32) -> String {
    match left {
        0 => "Signing in from here is now paused for a while.".to_owned(),
        1 => "One more wrong attempt and signing in from here pauses for a while.".to_owned(),
        2 => "Two more wrong attempts and signing in from here pauses for a while.".to_owned(),
        _ => String::new(),
    }
}

/// A small page whose button signs out: a GET never changes anything.
#[get("/logout")]
fn logout_form(signed_in: Option<SignedIn>) -> Reply {
    match signed_in {
        Some(current) => Reply::Form(page(
            rocket::http::Status::Ok,
            "auth/logout",
            Layout::signed_in(&current, None),
        )),
        None => Reply::Away(Redirect::to(uri!("/"))),
    }
}

#[post("/logout", data = "<_form>")]
async fn logout(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    _form: CsrfForm<Token>,
) -> Served {
    crate::auth::logout(app, &signed_in, false).await?;
    clear_cookies(jar, &app.settings);
    Ok(Reply::done(uri!("/"), "You have signed out."))
}

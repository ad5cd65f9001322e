//! Sign-up, login and logout pages.

use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, FromForm, Route, State};
use serde::Serialize;

use crate::accounts::{self, NewAccount, Origin};
use crate::app::App;
use crate::audit::Source;
use crate::error::Error;
use crate::error::FieldErrors;
use crate::http;
use crate::web::csrf::{anonymous_token, CsrfForm, Token};
use crate::web::failure::PageError;
use crate::web::layout::{field_errors, local_path, page, Layout, Page, Reply};
use crate::web::session::{clear_cookies, set_cookies, SignedIn};

pub(crate) fn routes() -> Vec<Route> {
    routes![signup_form, signup, login_form, login, logout]
}

/// A form re-shown: what was typed (never a password) and the problems beside each field.
#[derive(Serialize)]
struct FormPage<V: Serialize> {
    #[serde(flatten)]
    layout: Layout,
    values: V,
    errors: FieldErrors,
    /// A problem with the form as a whole (a failed login).
    problem: Option<String>,
}

#[derive(FromForm)]
struct SignupForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    password_confirm: String,
}

#[derive(Serialize, Default)]
struct SignupValues {
    username: String,
    email: String,
    name: String,
}

#[get("/signup")]
fn signup_form(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: Option<SignedIn>,
    flash: Option<FlashMessage<'_>>,
) -> Reply {
    if signed_in.is_some() {
        return Reply::Away(Redirect::to("/"));
    }
    let csrf = anonymous_token(jar, app.settings.cookie_secure);
    Reply::Form(signup_page(
        Status::Ok,
        csrf,
        flash,
        SignupValues::default(),
        FieldErrors::new(),
    ))
}

fn signup_page(
    status: Status,
    csrf: String,
    flash: Option<FlashMessage<'_>>,
    values: SignupValues,
    errors: FieldErrors,
) -> Page {
    let form = FormPage {
        layout: Layout::anonymous(csrf, flash),
        values,
        errors,
        problem: None,
    };
    page(status, "auth/signup", form)
}

/// Creates the account and signs it in; on a problem, the form again with what was typed.
#[post("/signup", data = "<form>")]
async fn signup(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    form: CsrfForm<SignupForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let values = SignupValues {
        username: form.username.clone(),
        email: form.email.clone(),
        name: form.name.clone(),
    };
    let input = NewAccount {
        username: form.username,
        email: form.email,
        password: form.password,
        name: Some(form.name),
        role: None,
        active: None,
    };
    let csrf = anonymous_token(jar, app.settings.cookie_secure);
    if input.password != form.password_confirm {
        let mut errors = accounts::validate_new(&app.settings, &input)
            .err()
            .unwrap_or_default();
        errors.insert(
            "password_confirm".into(),
            vec!["does not match the password".into()],
        );
        return Ok(Reply::Form(signup_page(
            Status::UnprocessableEntity,
            csrf,
            None,
            values,
            errors,
        )));
    }
    let user = match accounts::create(app, input, Origin::SignUp, &source).await {
        Ok(user) => user,
        Err(error) => {
            let Some(errors) = field_errors(&error) else {
                return Err(error.into());
            };
            return Ok(Reply::Form(signup_page(
                http::status(&error),
                csrf,
                None,
                values,
                errors,
            )));
        }
    };
    let signed_in = crate::auth::start(app, user, None, &source).await?;
    set_cookies(jar, &signed_in.tokens, &app.settings);
    let welcome = format!("Welcome to Gatehouse, {}!", signed_in.user.username);
    Ok(Reply::Done(Flash::success(Redirect::to("/"), welcome)))
}

#[derive(FromForm)]
struct LoginForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    next: String,
}

#[derive(Serialize, Default)]
struct LoginValues {
    username: String,
    next: String,
}

#[get("/login?<next>")]
fn login_form(
    app: &State<App>,
    jar: &CookieJar<'_>,
    next: Option<&str>,
    signed_in: Option<SignedIn>,
    flash: Option<FlashMessage<'_>>,
) -> Reply {
    let next = next.unwrap_or("/").to_owned();
    if signed_in.is_some() {
        return Reply::Away(Redirect::to(local_path(&next).to_owned()));
    }
    let csrf = anonymous_token(jar, app.settings.cookie_secure);
    let values = LoginValues {
        username: String::new(),
        next,
    };
    Reply::Form(login_page(
        Status::Ok,
        csrf,
        flash,
        values,
        FieldErrors::new(),
        None,
    ))
}

fn login_page(
    status: Status,
    csrf: String,
    flash: Option<FlashMessage<'_>>,
    values: LoginValues,
    errors: FieldErrors,
    problem: Option<String>,
) -> Page {
    let form = FormPage {
        layout: Layout::anonymous(csrf, flash),
        values,
        errors,
        problem,
    };
    page(status, "auth/login", form)
}

/// Signs in with a username or an email; one message for every failure, so the page
/// reveals nothing about which accounts exist.
#[post("/login", data = "<form>")]
async fn login(
    app: &State<App>,
    jar: &CookieJar<'_>,
    source: Source,
    form: CsrfForm<LoginForm>,
) -> Result<Reply, PageError> {
    let LoginForm {
        username,
        password,
        next,
    } = form.0;
    let csrf = anonymous_token(jar, app.settings.cookie_secure);
    let values = LoginValues {
        username: username.clone(),
        next: next.clone(),
    };
    let mut errors = FieldErrors::new();
    for (field, value) in [("username", &username), ("password", &password)] {
        if value.trim().is_empty() {
            errors.insert(field.into(), vec!["is required".into()]);
        }
    }
    if !errors.is_empty() {
        let status = Status::UnprocessableEntity;
        return Ok(Reply::Form(login_page(
            status, csrf, None, values, errors, None,
        )));
    }
    let signed_in = match crate::auth::login(app, username.trim(), password, &source).await {
        Ok(signed_in) => signed_in,
        Err(error @ (Error::InvalidCredentials | Error::AccountDisabled)) => {
            let (status, problem) = (http::status(&error), Some(error.message()));
            return Ok(Reply::Form(login_page(
                status, csrf, None, values, errors, problem,
            )));
        }
        Err(other) => return Err(other.into()),
    };
    set_cookies(jar, &signed_in.tokens, &app.settings);
    let greeting = format!("Signed in as {}.", signed_in.user.username);
    let next = Redirect::to(local_path(&next).to_owned());
    Ok(Reply::Done(Flash::success(next, greeting)))
}

#[post("/logout", data = "<_form>")]
async fn logout(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    _form: CsrfForm<Token>,
) -> Result<Flash<Redirect>, PageError> {
    crate::auth::logout(app, &signed_in.0, false).await?;
    clear_cookies(jar, &app.settings);
    Ok(Flash::success(Redirect::to("/"), "You have signed out."))
}

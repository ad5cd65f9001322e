//! The account page: edit the profile, change the password, see and end sessions.

use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::Serialize;

use crate::accounts::model::User;
use crate::accounts::{self, AccountChanges};
use crate::app::App;
use crate::auth;
use crate::auth::Actor;
use crate::error::FieldErrors;
use crate::http;
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::{form_problems, PageError};
use crate::web::layout::{page, Layout, Page, Reply};
use crate::web::present::{session_rows, SessionRow};
use crate::web::session::{clear_cookies, SignedIn};

pub(crate) fn routes() -> Vec<Route> {
    routes![
        show,
        update_profile,
        change_password,
        end_session,
        logout_everywhere
    ]
}

#[derive(Serialize)]
struct AccountPage {
    #[serde(flatten)]
    layout: Layout,
    profile: ProfileForm,
    profile_errors: FieldErrors,
    password_errors: FieldErrors,
    sessions: Vec<SessionRow>,
}

/// What a re-shown account page carries besides the account itself.
#[derive(Default)]
struct Problems {
    profile: Option<(ProfileForm, FieldErrors)>,
    password: FieldErrors,
}

async fn account_page(
    app: &App,
    current: &Actor,
    status: Status,
    flash: Option<FlashMessage<'_>>,
    problems: Problems,
) -> Result<Page, PageError> {
    let sessions = auth::sessions(app, current, &current.user).await?;
    let sessions = session_rows(&sessions, &current.session);
    let (profile, profile_errors) = problems
        .profile
        .unwrap_or_else(|| (ProfileForm::from(&current.user), FieldErrors::new()));
    let context = AccountPage {
        layout: Layout::signed_in(current, flash),
        profile,
        profile_errors,
        password_errors: problems.password,
        sessions,
    };
    Ok(page(status, "account/account", context))
}

#[get("/account")]
async fn show(
    app: &State<App>,
    signed_in: SignedIn,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    account_page(app, &signed_in.0, Status::Ok, flash, Problems::default()).await
}

/// The profile form, and the values it shows again after a problem.
#[derive(FromForm, Serialize)]
struct ProfileForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    name: String,
}

impl From<&User> for ProfileForm {
    fn from(user: &User) -> Self {
        ProfileForm {
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
        }
    }
}

#[post("/account/profile", data = "<form>")]
async fn update_profile(
    app: &State<App>,
    signed_in: SignedIn,
    form: CsrfForm<ProfileForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let changes = AccountChanges {
        username: Some(form.username.clone()),
        email: Some(form.email.clone()),
        name: Some(form.name.clone()),
        ..AccountChanges::default()
    };
    let current = &signed_in.0;
    match accounts::update(app, current, &current.user, changes).await {
        Ok(_) => Ok(Reply::done(uri!(show), "Your profile is saved.")),
        Err(error) => {
            let errors = form_problems(&error)?;
            let problems = Problems {
                profile: Some((form, errors)),
                ..Problems::default()
            };
            let page = account_page(app, current, http::status(&error), None, problems).await?;
            Ok(Reply::Form(page))
        }
    }
}

#[derive(FromForm)]
struct PasswordForm {
    #[field(default = String::new())]
    current_password: String,
    #[field(default = String::new())]
    new_password: String,
    #[field(default = String::new())]
    new_password_confirm: String,
}

/// Changes the password; every other session of the account ends, this one goes on.
#[post("/account/password", data = "<form>")]
async fn change_password(
    app: &State<App>,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let current = &signed_in.0;
    let result = if form.new_password != form.new_password_confirm {
        let problem = vec!["does not match the new password".to_owned()];
        Err(FieldErrors::from([("new_password_confirm".to_owned(), problem)]).into())
    } else {
        accounts::change_own_password(app, current, form.current_password, form.new_password).await
    };
    match result {
        Ok(()) => Ok(Reply::done(
            uri!(show),
            "Your password is changed; other sessions have ended.",
        )),
        Err(error) => {
            let password = form_problems(&error)?;
            let problems = Problems {
                password,
                ..Problems::default()
            };
            let page = account_page(app, current, http::status(&error), None, problems).await?;
            Ok(Reply::Form(page))
        }
    }
}

/// Ends one of the account's sessions; ending the current one signs this browser out.
#[post("/account/sessions/<id>/end", data = "<_form>")]
async fn end_session(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    id: &str,
    _form: CsrfForm<Token>,
) -> Result<Reply, PageError> {
    let current = &signed_in.0;
    auth::end_session(app, current, &current.user, id).await?;
    if id == current.session.public_id {
        clear_cookies(jar, &app.settings);
        return Ok(Reply::done(uri!("/login"), "This session has ended."));
    }
    Ok(Reply::done(uri!(show), "That session has ended."))
}

#[post("/account/logout-all", data = "<_form>")]
async fn logout_everywhere(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    _form: CsrfForm<Token>,
) -> Result<Reply, PageError> {
    crate::auth::logout(app, &signed_in.0, true).await?;
    clear_cookies(jar, &app.settings);
    Ok(Reply::done(uri!("/"), "You have signed out everywhere."))
}

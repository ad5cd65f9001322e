//! The account page: edit the profile, change the password, see and end sessions, list the
//! personal access tokens (made and deleted by `web::tokens`).

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::accounts::model::User;
use crate::accounts::{self, AccountChanges};
use crate::app::App;
use crate::auth;
use crate::auth::{personal_tokens, Actor};
use crate::error::FieldErrors;
use crate::settings::EmailVerification;
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, typed_twice, Refused, Showing, Text};
use crate::web::layout::{page, Confirmation, Layout, Page, Reply};
use crate::web::present::{session_rows, SessionRow, TokenRow};
use crate::web::session::{clear_cookies, set_cookies, SignedIn};
use crate::web::tokens::{self, TokenForm};

pub(crate) fn routes() -> Vec<Route> {
    routes![
        show,
        update_profile,
        change_password,
        end_session,
        resend_verification,
        logout_everywhere_confirm,
        logout_everywhere,
        to_the_form
    ]
}

/// The paths the page's forms post to answer a GET (a reload after a problem, a bookmark)
/// with the page itself: a redirect, never a change.
#[get("/account/<_..>", rank = 10)]
fn to_the_form() -> Redirect {
    Redirect::to(uri!(show))
}

#[derive(Serialize)]
struct AccountPage {
    #[serde(flatten)]
    layout: Layout,
    profile: ProfileForm,
    profile_errors: FieldErrors,
    password_errors: FieldErrors,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    token_form: TokenForm,
    token_errors: FieldErrors,
    /// Whether addresses are confirmed by mail here, this one's state, and a change waiting.
    verification: bool,
    email_verified: bool,
    pending_email: Option<String>,
    mfa_enabled: bool,
}

/// Which of the page's forms is shown again, and how: the profile or a new token with their
/// values, or the password form (its fields are never filled in again).
enum Again {
    Profile(ProfileForm),
    Password,
    Token(TokenForm),
}

async fn account_page(app: &App, current: &Actor, shown: Showing<'_, Again>) -> Served<Page> {
    let sessions = auth::sessions(app, current, &current.user).await?;
    let tokens = personal_tokens::list(app, current).await?;
    let (mut profile_errors, mut password_errors) = (FieldErrors::new(), FieldErrors::new());
    let mut token_errors = FieldErrors::new();
    let (profile, token_form) = match shown.values {
        Again::Profile(form) => {
            profile_errors = shown.errors;
            (form, TokenForm::default())
        }
        Again::Password => {
            password_errors = shown.errors;
            (ProfileForm::from(&current.user), TokenForm::default())
        }
        Again::Token(form) => {
            token_errors = shown.errors;
            (ProfileForm::from(&current.user), form)
        }
    };
    let context = AccountPage {
        layout: Layout::signed_in(current, shown.flash),
        profile,
        profile_errors,
        password_errors,
        sessions: session_rows(&sessions, current.session()),
        tokens: tokens.iter().map(TokenRow::from).collect(),
        token_form,
        token_errors,
        verification: app.settings.email_verification != EmailVerification::Off,
        email_verified: current.user.email_verified,
        pending_email: current.user.pending_email.clone(),
        mfa_enabled: current.user.mfa_enabled,
    };
    Ok(page(shown.status, "account/account", context))
}

#[get("/account")]
async fn show(
    app: &State<App>,
    signed_in: SignedIn,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let shown = if refused.is("password") {
        refused
            .showing(flash, "password", ())
            .map(|()| Again::Password)
    } else if refused.is(tokens::FORM) {
        let fresh = TokenForm::default();
        refused
            .showing(flash, tokens::FORM, fresh)
            .map(Again::Token)
    } else {
        let fresh = ProfileForm::from(&signed_in.user);
        refused.showing(flash, "profile", fresh).map(Again::Profile)
    };
    account_page(app, &signed_in, shown).await
}

/// The profile form, and the values it shows again after a problem (never the password).
#[derive(FromForm, Serialize, Deserialize)]
struct ProfileForm {
    username: Text,
    email: Text,
    name: Text,
    /// Needed to change the email when the sign-in is not recent.
    #[serde(skip)]
    current_password: Text,
}

impl From<&User> for ProfileForm {
    fn from(user: &User) -> Self {
        ProfileForm {
            username: user.username.clone().into(),
            email: user.email.clone().into(),
            name: user.name.clone().unwrap_or_default().into(),
            current_password: Text::default(),
        }
    }
}

#[post("/account/profile", data = "<form>")]
async fn update_profile(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<ProfileForm>,
) -> Served {
    let form = form.0;
    let changes = AccountChanges {
        username: Some(form.username.to_string()),
        email: Some(form.email.to_string()),
        name: Some(form.name.to_string()),
        current_password: form.current_password.given(),
        ..AccountChanges::default()
    };
    let current = &signed_in.0;
    match accounts::update(app, current, &current.user, changes).await {
        Ok(saved) if saved.pending_email != current.user.pending_email => {
            let pending = saved.pending_email.unwrap_or_default();
            let sent = format!(
                "Your profile is saved. We sent a link to {pending}: it becomes your address \
                 once you open it."
            );
            Ok(Reply::done(uri!(show), sent))
        }
        Ok(_) => Ok(Reply::done(uri!(show), "Your profile is saved.")),
        Err(error) => {
            let shown = Showing::again(&error, form)?;
            Ok(send_back(jar, &app.settings, uri!(show), "profile", shown))
        }
    }
}

#[derive(FromForm)]
struct PasswordForm {
    current_password: Text,
    new_password: Text,
    new_password_confirm: Text,
}

/// Changes the password; every other session of the account ends, and this browser goes on
/// with a new session (a copy of its old cookies is worth nothing).
#[post("/account/password", data = "<form>")]
async fn change_password(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<PasswordForm>,
) -> Served {
    let form = form.0;
    let current = &signed_in.0;
    let result = match typed_twice(&form.new_password, &form.new_password_confirm) {
        Ok(()) => {
            let (current_password, new_password) =
                (form.current_password.into(), form.new_password.into());
            accounts::change_own_password(app, current, current_password, new_password).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => {
            set_cookies(jar, &auth::renew(app, current).await?, &app.settings);
            Ok(Reply::done(
                uri!(show),
                "Your password is changed; other sessions have ended.",
            ))
        }
        Err(error) => {
            let shown = Showing::again(&error, ())?;
            Ok(send_back(jar, &app.settings, uri!(show), "password", shown))
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
) -> Served {
    let current = &signed_in.0;
    auth::end_session(app, current, &current.user, id).await?;
    if current.session().is_some_and(|s| s.public_id == id) {
        clear_cookies(jar, &app.settings);
        return Ok(Reply::done(uri!("/login"), "This session has ended."));
    }
    Ok(Reply::done(uri!(show), "That session has ended."))
}

/// Mails a new link to the address waiting to be confirmed.
#[post("/account/email/verification", data = "<_form>")]
async fn resend_verification(
    app: &State<App>,
    signed_in: SignedIn,
    _form: CsrfForm<Token>,
) -> Served {
    crate::accounts::recovery::resend(app, &signed_in.user, &signed_in.source).await?;
    let sent = "If there is an address to confirm, a new link is on its way to it.";
    Ok(Reply::done(uri!(show), sent))
}

#[get("/account/logout-all")]
fn logout_everywhere_confirm(signed_in: SignedIn) -> Page {
    Confirmation {
        layout: Layout::signed_in(&signed_in, None),
        question: "Sign out everywhere?".to_owned(),
        detail: "Every session of your account ends, this one too: each browser and program \
                 signed in as you will have to sign in again."
            .to_owned(),
        action: uri!(logout_everywhere).to_string(),
        button: "Sign out everywhere".to_owned(),
        cancel: uri!(show).to_string(),
    }
    .page()
}

#[post("/account/logout-all", data = "<_form>")]
async fn logout_everywhere(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    _form: CsrfForm<Token>,
) -> Served {
    crate::auth::logout(app, &signed_in.0, true).await?;
    clear_cookies(jar, &app.settings);
    Ok(Reply::done(uri!("/"), "You have signed out everywhere."))
}

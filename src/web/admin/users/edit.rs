//! One user in the console: new users, the user's page (profile, role, active, password,
//! sessions, lock-out) and deletion with a confirmation step.

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::accounts::model::User;
use crate::accounts::{self, AccountChanges, NewAccount, Origin};
use crate::app::App;
use crate::auth;
use crate::error::{Error, FieldErrors};
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, typed_twice, Refused, Showing, Text};
use crate::web::layout::{page, Confirmation, Layout, Page, Reply};
use crate::web::present::{session_rows, SessionRow};
use crate::web::present::{UserRow, When};
use crate::web::session::{set_cookies, AdminPage};

pub(super) fn routes() -> Vec<Route> {
    routes![
        new_form,
        create,
        show,
        update,
        set_password,
        end_session,
        unlock,
        recovery_link,
        remove_mfa_confirm,
        remove_mfa,
        delete_confirm,
        delete,
        to_the_form
    ]
}

/// The paths the user page's forms post to answer a GET with the user's page: a redirect,
/// never a change.
#[get("/admin/users/<id>/<_..>", rank = 10)]
fn to_the_form(id: &str) -> Redirect {
    Redirect::to(uri!(show(id)))
}

/// An account's fields as the edit form sends them, and as the page shows them again.
#[derive(FromForm, Serialize, Deserialize)]
struct AccountForm {
    username: Text,
    email: Text,
    name: Text,
    role: Text,
    active: bool,
    /// Asked when admins change their own email without a recent sign-in.
    #[serde(skip)]
    current_password: Text,
}

impl From<&User> for AccountForm {
    fn from(user: &User) -> Self {
        AccountForm {
            username: user.username.clone().into(),
            email: user.email.clone().into(),
            name: user.name.clone().unwrap_or_default().into(),
            role: user.role.as_str().to_owned().into(),
            active: user.active,
            current_password: Text::default(),
        }
    }
}

impl AccountForm {
    fn changes(&self) -> AccountChanges {
        AccountChanges {
            username: Some(self.username.to_string()),
            email: Some(self.email.to_string()),
            name: Some(self.name.to_string()),
            role: Some(self.role.to_string()),
            active: Some(self.active),
            current_password: self.current_password.given(),
            ..AccountChanges::default()
        }
    }
}

/// The new-user form: an account's fields and a first password (never shown again).
#[derive(FromForm, Serialize, Deserialize)]
struct NewUserForm {
    username: Text,
    email: Text,
    name: Text,
    #[serde(skip)]
    password: Text,
    #[field(default = String::from("user"))]
    role: String,
    active: bool,
}

impl Default for NewUserForm {
    /// A blank form: an active member.
    fn default() -> Self {
        NewUserForm {
            username: Text::default(),
            email: Text::default(),
            name: Text::default(),
            password: Text::default(),
            role: "user".into(),
            active: true,
        }
    }
}

impl NewUserForm {
    fn account(&self) -> NewAccount {
        NewAccount {
            username: self.username.to_string(),
            email: self.email.to_string(),
            password: self.password.given(),
            name: Some(self.name.to_string()),
            role: Some(self.role.to_string()),
            active: Some(self.active),
        }
    }
}

#[derive(Serialize)]
struct NewUserPage {
    #[serde(flatten)]
    layout: Layout,
    values: NewUserForm,
    errors: FieldErrors,
}

#[get("/admin/users/new")]
fn new_form(admin: AdminPage, refused: Refused, flash: Option<FlashMessage<'_>>) -> Page {
    let shown = refused.showing(flash, "new-user", NewUserForm::default());
    let context = NewUserPage {
        layout: Layout::signed_in(&admin, shown.flash),
        values: shown.values,
        errors: shown.errors,
    };
    page(shown.status, "admin/new_user", context)
}

#[post("/admin/users/new", data = "<form>")]
async fn create(
    app: &State<App>,
    jar: &CookieJar<'_>,
    admin: AdminPage,
    form: CsrfForm<NewUserForm>,
) -> Served {
    let form = form.0;
    let origin = Origin::Admin(&admin.0);
    match accounts::create(app, form.account(), origin, &admin.source).await {
        Ok(user) => {
            let message = if form.password.is_empty() {
                format!(
                    "Created {} and mailed them an invitation to set a password.",
                    user.username
                )
            } else {
                format!("Created {}.", user.username)
            };
            Ok(Reply::done(uri!(show(&user.public_id)), message))
        }
        Err(error) => {
            let shown = Showing::again(&error, form)?;
            Ok(send_back(
                jar,
                &app.settings,
                uri!(new_form),
                "new-user",
                shown,
            ))
        }
    }
}

#[derive(Serialize)]
struct UserPage {
    #[serde(flatten)]
    layout: Layout,
    user: UserRow,
    is_self: bool,
    values: AccountForm,
    errors: FieldErrors,
    password_errors: FieldErrors,
    /// A refusal of the whole change (the last admin).
    problem: Option<String>,
    sessions: Vec<SessionRow>,
    /// Seconds left on a login lock-out.
    locked_for: Option<i64>,
}

/// Which of the page's forms is shown again with its problems.
enum Again {
    Account(AccountForm),
    Password,
}

async fn user_page(
    app: &App,
    admin: &AdminPage,
    user: &User,
    shown: Showing<'_, Again>,
) -> Served<Page> {
    let sessions = auth::sessions(app, admin, user).await?;
    let locked_for = auth::lockouts::lockout(app, user).await?;
    let (mut errors, mut password_errors) = (FieldErrors::new(), FieldErrors::new());
    let values = match shown.values {
        Again::Account(form) => {
            errors = shown.errors;
            form
        }
        Again::Password => {
            password_errors = shown.errors;
            AccountForm::from(user)
        }
    };
    let context = UserPage {
        layout: Layout::signed_in(admin, shown.flash),
        is_self: user.id == admin.user.id,
        user: UserRow::from(user),
        values,
        errors,
        password_errors,
        problem: shown.problem,
        sessions: session_rows(&sessions, admin.session()),
        locked_for,
    };
    Ok(page(shown.status, "admin/user", context))
}

#[get("/admin/users/<id>")]
async fn show(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let user = accounts::find(app, id).await?;
    let shown = if refused.is("password") {
        refused
            .showing(flash, "password", ())
            .map(|()| Again::Password)
    } else {
        let fresh = AccountForm::from(&user);
        refused.showing(flash, "account", fresh).map(Again::Account)
    };
    user_page(app, &admin, &user, shown).await
}

/// Saves username, email, name, role and active in one change.
#[post("/admin/users/<id>", data = "<form>")]
async fn update(
    app: &State<App>,
    jar: &CookieJar<'_>,
    admin: AdminPage,
    id: &str,
    form: CsrfForm<AccountForm>,
) -> Served {
    let form = form.0;
    let user = accounts::find(app, id).await?;
    let error = match accounts::update(app, &admin, &user, form.changes()).await {
        Ok(saved) => return Ok(back_to(&saved, format!("Saved {}.", saved.username))),
        Err(error) => error,
    };
    let shown = match &error {
        // Nothing was saved: the form shows the account as it still is, not the refused
        // state, and says why beside the role.
        Error::Conflict(why) => {
            let problem = format!("Nothing was saved. {why}");
            Showing::problem(&error, problem, AccountForm::from(&user))
        }
        error => Showing::again(error, form)?,
    };
    let to = uri!(show(&user.public_id));
    Ok(send_back(jar, &app.settings, to, "account", shown))
}

#[derive(FromForm)]
struct PasswordForm {
    new_password: Text,
    new_password_confirm: Text,
    /// Only asked when admins reset their own password.
    current_password: Text,
}

/// Sets a new password; every session of that user ends (but the admin's own current one).
#[post("/admin/users/<id>/password", data = "<form>")]
async fn set_password(
    app: &State<App>,
    jar: &CookieJar<'_>,
    admin: AdminPage,
    id: &str,
    form: CsrfForm<PasswordForm>,
) -> Served {
    let form = form.0;
    let user = accounts::find(app, id).await?;
    let result = match typed_twice(&form.new_password, &form.new_password_confirm) {
        Ok(()) => {
            let changes = AccountChanges {
                password: Some(form.new_password.into()),
                current_password: form.current_password.given(),
                ..AccountChanges::default()
            };
            accounts::update(app, &admin, &user, changes).await
        }
        Err(error) => Err(error),
    };
    let error = match result {
        Ok(saved) => {
            if saved.id == admin.user.id {
                set_cookies(jar, &auth::renew(app, &admin).await?, &app.settings);
            }
            let message = format!("New password set for {}.", saved.username);
            return Ok(back_to(&saved, message));
        }
        Err(error) => error,
    };
    let mut shown = Showing::again(&error, ())?;
    if let Some(problems) = shown.errors.remove("password") {
        shown.errors.insert("new_password".into(), problems);
    }
    let to = uri!(show(&user.public_id));
    Ok(send_back(jar, &app.settings, to, "password", shown))
}

#[post("/admin/users/<id>/sessions/<sid>/end", data = "<_form>")]
async fn end_session(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    sid: &str,
    _form: CsrfForm<Token>,
) -> Served {
    let user = accounts::find(app, id).await?;
    auth::end_session(app, &admin, &user, sid).await?;
    Ok(back_to(&user, "That session has ended."))
}

#[post("/admin/users/<id>/unlock", data = "<_form>")]
async fn unlock(app: &State<App>, admin: AdminPage, id: &str, _form: CsrfForm<Token>) -> Served {
    let user = accounts::find(app, id).await?;
    auth::lockouts::clear_lockout(app, &admin, &user).await?;
    Ok(back_to(&user, "The login lock-out is cleared."))
}

#[derive(Serialize)]
struct RecoveryLinkPage {
    #[serde(flatten)]
    layout: Layout,
    user: UserRow,
    url: String,
    expires: When,
}

/// Makes a set-a-password link for the admin to hand over (no mail needed), and shows it
/// once: it is a secret, so it is never put in a flash message or a URL.
#[post("/admin/users/<id>/recovery-link", data = "<_form>")]
async fn recovery_link(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    _form: CsrfForm<Token>,
) -> Served<Page> {
    let user = accounts::find(app, id).await?;
    let (url, expires) = accounts::recovery::recovery_link(app, &admin, &user).await?;
    let context = RecoveryLinkPage {
        layout: Layout::signed_in(&admin, None),
        user: UserRow::from(&user),
        url,
        expires: expires.into(),
    };
    Ok(page(
        rocket::http::Status::Ok,
        "admin/recovery_link",
        context,
    ))
}

/// The confirmation step of removing a user's second factor.
#[get("/admin/users/<id>/mfa/remove")]
async fn remove_mfa_confirm(app: &State<App>, admin: AdminPage, id: &str) -> Served<Page> {
    let user = accounts::find(app, id).await?;
    Ok(Confirmation {
        layout: Layout::signed_in(&admin, None),
        question: format!("Remove the second factor of {}?", user.username),
        detail: format!(
            "For a lost phone: {0} signs in with the password alone until they turn \
             two-factor authentication on again; their recovery codes stop working. {0} is \
             told by mail, and the audit log records it.",
            user.username
        ),
        action: uri!(remove_mfa(&user.public_id)).to_string(),
        button: "Remove the second factor".to_owned(),
        cancel: uri!(show(&user.public_id)).to_string(),
    }
    .page())
}

#[post("/admin/users/<id>/mfa/remove", data = "<_form>")]
async fn remove_mfa(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    _form: CsrfForm<Token>,
) -> Served {
    let user = accounts::find(app, id).await?;
    match crate::mfa::remove_by_admin(app, &admin, &user).await {
        Ok(()) => Ok(back_to(&user, "The second factor is removed.")),
        Err(error @ Error::Conflict(_)) => {
            Ok(Reply::warning(uri!(show(&user.public_id)), error.message()))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Serialize)]
struct DeletePage {
    #[serde(flatten)]
    layout: Layout,
    user: UserRow,
    problem: Option<String>,
}

/// The confirmation step of a deletion, and where a refused one says why.
#[get("/admin/users/<id>/delete")]
async fn delete_confirm(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    refused: Refused,
) -> Served<Page> {
    let user = accounts::find(app, id).await?;
    let shown = refused.showing(None, "delete", ());
    let context = DeletePage {
        layout: Layout::signed_in(&admin, None),
        user: UserRow::from(&user),
        problem: shown.problem,
    };
    Ok(page(shown.status, "admin/delete", context))
}

#[post("/admin/users/<id>/delete", data = "<_form>")]
async fn delete(
    app: &State<App>,
    jar: &CookieJar<'_>,
    admin: AdminPage,
    id: &str,
    _form: CsrfForm<Token>,
) -> Served {
    let user = accounts::find(app, id).await?;
    match accounts::delete(app, &admin, &user).await {
        Ok(()) => Ok(Reply::done(
            uri!("/admin/users"),
            format!("Deleted {}.", user.username),
        )),
        Err(error @ (Error::Conflict(_) | Error::Forbidden(_))) => {
            let shown = Showing::problem(&error, error.message(), ());
            let to = uri!(delete_confirm(&user.public_id));
            Ok(send_back(jar, &app.settings, to, "delete", shown))
        }
        Err(other) => Err(other.into()),
    }
}

/// Back to the user's page (by its canonical id, whatever spelling of it was asked for),
/// with a message.
fn back_to(user: &User, message: impl Into<String>) -> Reply {
    Reply::done(uri!(show(&user.public_id)), message)
}

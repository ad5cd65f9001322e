//! `/admin/users` and below: find, create, edit, (de)activate, reset, delete, bulk actions.

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, FromForm, Route, State};
use serde::Serialize;

use crate::accounts::model::User;
use crate::accounts::{self, AccountChanges, NewAccount, Origin};
use crate::app::App;
use crate::error::Error;
use crate::error::FieldErrors;
use crate::http;
use crate::params::ListParams;
use crate::web::account::{session_rows, SessionRow};
use crate::web::admin::AdminPage;
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::PageError;
use crate::web::layout::{field_errors, page, Layout, Page, Reply};
use crate::web::present::When;

const PER_PAGE: i64 = 50;

pub(crate) fn routes() -> Vec<Route> {
    routes![
        list,
        bulk_confirm,
        bulk_apply,
        new_form,
        create,
        show,
        update,
        set_password,
        end_session,
        unlock,
        delete_confirm,
        delete
    ]
}

/// A user as the console shows it.
#[derive(Serialize)]
struct Row {
    id: String,
    username: String,
    email: String,
    name: String,
    role: String,
    active: bool,
    created: When,
    last_login: Option<When>,
}

impl From<&User> for Row {
    fn from(user: &User) -> Self {
        Row {
            id: user.public_id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
            role: user.role.as_str().to_owned(),
            active: user.active,
            created: user.created_at.into(),
            last_login: user.last_login_at.map(When::from),
        }
    }
}

#[derive(Serialize)]
struct Filters {
    q: String,
    role: String,
    active: String,
    sort: String,
}

#[derive(Serialize)]
struct ListPage {
    #[serde(flatten)]
    layout: Layout,
    rows: Vec<Row>,
    filters: Filters,
    page: i64,
    pages: i64,
    total: i64,
}

/// Search over username, email and name; filters; sortable columns; 50 to a page.
#[get("/admin/users?<params..>")]
async fn list(
    app: &State<App>,
    admin: AdminPage,
    params: ListParams<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let query = params.user_query(&admin.0.user, Some(PER_PAGE))?;
    let (page_number, per_page) = (query.page, query.per_page);
    let (users, total) = app.db.run(move |c| User::list(c, &query)).await?;
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    let context = ListPage {
        layout: Layout::signed_in(&admin.0, flash),
        rows: users.iter().map(Row::from).collect(),
        filters: Filters {
            q: text(params.q),
            role: text(params.role),
            active: text(params.active),
            sort: params.sort.unwrap_or("username").to_owned(),
        },
        page: page_number,
        pages: (total + per_page - 1) / per_page,
        total,
    };
    Ok(page(Status::Ok, "admin/users", context))
}

#[derive(FromForm)]
struct BulkForm {
    #[field(default = Vec::new())]
    ids: Vec<String>,
    #[field(default = String::new())]
    action: String,
}

/// What a bulk action does, in words.
fn bulk_verb(action: &str) -> Option<&'static str> {
    match action {
        "activate" => Some("Activate"),
        "deactivate" => Some("Deactivate"),
        "delete" => Some("Delete"),
        _ => None,
    }
}

#[derive(Serialize)]
struct BulkPage {
    #[serde(flatten)]
    layout: Layout,
    action: String,
    verb: &'static str,
    rows: Vec<Row>,
}

/// The confirmation step: nothing changes until the admin confirms on this page.
#[post("/admin/users/bulk", data = "<form>")]
async fn bulk_confirm(
    app: &State<App>,
    admin: AdminPage,
    form: CsrfForm<BulkForm>,
) -> Result<Reply, PageError> {
    let BulkForm { ids, action } = form.0;
    let verb = bulk_verb(&action).ok_or(Error::field("action", "choose an action"))?;
    if ids.is_empty() {
        let back = Redirect::to("/admin/users");
        return Ok(Reply::Done(Flash::warning(
            back,
            "Select at least one user first.",
        )));
    }
    let mut rows = Vec::with_capacity(ids.len());
    for id in &ids {
        rows.push(Row::from(&accounts::find(app, id).await?));
    }
    let context = BulkPage {
        layout: Layout::signed_in(&admin.0, None),
        action,
        verb,
        rows,
    };
    Ok(Reply::Form(page(Status::Ok, "admin/bulk", context)))
}

/// Applies a confirmed bulk action user by user; those that break a rule (the last admin)
/// are skipped and named in the message.
#[post("/admin/users/bulk/apply", data = "<form>")]
async fn bulk_apply(
    app: &State<App>,
    admin: AdminPage,
    form: CsrfForm<BulkForm>,
) -> Result<Flash<Redirect>, PageError> {
    let BulkForm { ids, action } = form.0;
    let verb = bulk_verb(&action).ok_or(Error::field("action", "choose an action"))?;
    let (mut done, mut skipped) = (0, Vec::new());
    for id in &ids {
        let user = match accounts::find(app, id).await {
            Ok(user) => user,
            Err(Error::NotFound) => continue,
            Err(other) => return Err(other.into()),
        };
        let result = match action.as_str() {
            "delete" => accounts::delete(app, &admin, &user).await,
            _ => {
                let changes = AccountChanges {
                    active: Some(action == "activate"),
                    ..AccountChanges::default()
                };
                accounts::update(app, &admin, &user, changes)
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => done += 1,
            Err(Error::Conflict(reason)) => skipped.push(format!("{}: {reason}", user.username)),
            Err(other) => return Err(other.into()),
        }
    }
    let mut message = format!("{verb}d {done} account(s).");
    if !skipped.is_empty() {
        message.push_str(&format!(" Skipped {}", skipped.join("; ")));
        return Ok(Flash::warning(Redirect::to("/admin/users"), message));
    }
    Ok(Flash::success(Redirect::to("/admin/users"), message))
}

#[derive(FromForm)]
struct NewUserForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::from("user"))]
    role: String,
    #[field(default = false)]
    active: bool,
}

/// An account's fields as typed into the new-user and edit forms (never a password).
#[derive(Serialize)]
struct AccountValues {
    username: String,
    email: String,
    name: String,
    role: String,
    active: bool,
}

#[derive(Serialize)]
struct NewUserPage {
    #[serde(flatten)]
    layout: Layout,
    values: AccountValues,
    errors: FieldErrors,
}

#[get("/admin/users/new")]
fn new_form(admin: AdminPage) -> Page {
    let values = AccountValues {
        username: String::new(),
        email: String::new(),
        name: String::new(),
        role: "user".into(),
        active: true,
    };
    let context = NewUserPage {
        layout: Layout::signed_in(&admin.0, None),
        values,
        errors: FieldErrors::new(),
    };
    page(Status::Ok, "admin/new_user", context)
}

#[post("/admin/users/new", data = "<form>")]
async fn create(
    app: &State<App>,
    admin: AdminPage,
    form: CsrfForm<NewUserForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let values = AccountValues {
        username: form.username.clone(),
        email: form.email.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
        active: form.active,
    };
    let input = NewAccount {
        username: form.username,
        email: form.email,
        password: form.password,
        name: Some(form.name),
        role: Some(form.role),
        active: Some(form.active),
    };
    match accounts::create(app, input, Origin::Admin(&admin.0.user), &admin.0.source).await {
        Ok(user) => {
            let to = Redirect::to(format!("/admin/users/{}", user.public_id));
            let message = format!("Created {}.", user.username);
            Ok(Reply::Done(Flash::success(to, message)))
        }
        Err(error) => {
            let errors = field_errors(&error).ok_or_else(|| PageError::from(error.clone()))?;
            let context = NewUserPage {
                layout: Layout::signed_in(&admin.0, None),
                values,
                errors,
            };
            Ok(Reply::Form(page(
                http::status(&error),
                "admin/new_user",
                context,
            )))
        }
    }
}

#[derive(Serialize)]
struct UserPage {
    #[serde(flatten)]
    layout: Layout,
    user: Row,
    is_self: bool,
    values: AccountValues,
    errors: FieldErrors,
    password_errors: FieldErrors,
    /// A refusal of the whole change (the last admin).
    problem: Option<String>,
    sessions: Vec<SessionRow>,
    /// Seconds left on a login lock-out.
    locked_for: Option<i64>,
}

/// What a re-shown user page carries besides the user.
#[derive(Default)]
struct Shown {
    values: Option<AccountValues>,
    errors: FieldErrors,
    password_errors: FieldErrors,
    problem: Option<String>,
}

async fn user_page(
    app: &App,
    admin: &AdminPage,
    user: &User,
    status: Status,
    flash: Option<FlashMessage<'_>>,
    shown: Shown,
) -> Result<Page, PageError> {
    let sessions = accounts::sessions(app, admin, user).await?;
    let locked_for = accounts::lockout(app, user).await?;
    let values = shown.values.unwrap_or_else(|| AccountValues {
        username: user.username.clone(),
        email: user.email.clone(),
        name: user.name.clone().unwrap_or_default(),
        role: user.role.as_str().to_owned(),
        active: user.active,
    });
    let context = UserPage {
        layout: Layout::signed_in(&admin.0, flash),
        is_self: user.id == admin.0.user.id,
        user: Row::from(user),
        values,
        errors: shown.errors,
        password_errors: shown.password_errors,
        problem: shown.problem,
        sessions: session_rows(&sessions, &admin.0.session),
        locked_for,
    };
    Ok(page(status, "admin/user", context))
}

#[get("/admin/users/<id>")]
async fn show(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let user = accounts::find(app, id).await?;
    user_page(app, &admin, &user, Status::Ok, flash, Shown::default()).await
}

#[derive(FromForm)]
struct EditForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    role: String,
    #[field(default = false)]
    active: bool,
}

/// Saves username, email, name, role and active in one change.
#[post("/admin/users/<id>", data = "<form>")]
async fn update(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    form: CsrfForm<EditForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let values = AccountValues {
        username: form.username.clone(),
        email: form.email.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
        active: form.active,
    };
    let changes = AccountChanges {
        username: Some(form.username),
        email: Some(form.email),
        name: Some(form.name),
        role: Some(form.role),
        active: Some(form.active),
        ..AccountChanges::default()
    };
    let user = accounts::find(app, id).await?;
    match accounts::update(app, &admin, &user, changes).await {
        Ok(saved) => Ok(back_to(id, format!("Saved {}.", saved.username))),
        Err(error) => {
            let mut shown = Shown {
                values: Some(values),
                ..Shown::default()
            };
            match (&error, field_errors(&error)) {
                (_, Some(errors)) => shown.errors = errors,
                (Error::Conflict(message), None) => shown.problem = Some(message.clone()),
                _ => return Err(error.into()),
            }
            let status = http::status(&error);
            let page = user_page(app, &admin, &user, status, None, shown).await?;
            Ok(Reply::Form(page))
        }
    }
}

#[derive(FromForm)]
struct PasswordForm {
    #[field(default = String::new())]
    new_password: String,
    #[field(default = String::new())]
    new_password_confirm: String,
    /// Only asked when admins reset their own password.
    #[field(default = String::new())]
    current_password: String,
}

/// Sets a new password; every session of that user ends (but the admin's own current one).
#[post("/admin/users/<id>/password", data = "<form>")]
async fn set_password(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    form: CsrfForm<PasswordForm>,
) -> Result<Reply, PageError> {
    let form = form.0;
    let user = accounts::find(app, id).await?;
    let result = if form.new_password != form.new_password_confirm {
        let problem = vec!["does not match the new password".to_owned()];
        Err(FieldErrors::from([("new_password_confirm".to_owned(), problem)]).into())
    } else {
        let changes = AccountChanges {
            password: Some(form.new_password),
            current_password: Some(form.current_password).filter(|p| !p.is_empty()),
            ..AccountChanges::default()
        };
        accounts::update(app, &admin, &user, changes).await
    };
    match result {
        Ok(saved) => Ok(back_to(
            id,
            format!("New password set for {}.", saved.username),
        )),
        Err(error) => {
            let mut errors = field_errors(&error).ok_or_else(|| PageError::from(error.clone()))?;
            if let Some(problems) = errors.remove("password") {
                errors.insert("new_password".into(), problems);
            }
            let shown = Shown {
                password_errors: errors,
                ..Shown::default()
            };
            let status = http::status(&error);
            let page = user_page(app, &admin, &user, status, None, shown).await?;
            Ok(Reply::Form(page))
        }
    }
}

#[post("/admin/users/<id>/sessions/<sid>/end", data = "<_form>")]
async fn end_session(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    sid: &str,
    _form: CsrfForm<Token>,
) -> Result<Reply, PageError> {
    let user = accounts::find(app, id).await?;
    accounts::end_session(app, &admin, &user, sid).await?;
    Ok(back_to(id, "That session has ended.".into()))
}

#[post("/admin/users/<id>/unlock", data = "<_form>")]
async fn unlock(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    _form: CsrfForm<Token>,
) -> Result<Reply, PageError> {
    let user = accounts::find(app, id).await?;
    accounts::clear_lockout(app, &admin, &user).await?;
    Ok(back_to(id, "The login lock-out is cleared.".into()))
}

#[derive(Serialize)]
struct DeletePage {
    #[serde(flatten)]
    layout: Layout,
    user: Row,
    problem: Option<String>,
}

/// The confirmation step of a deletion.
#[get("/admin/users/<id>/delete")]
async fn delete_confirm(app: &State<App>, admin: AdminPage, id: &str) -> Result<Page, PageError> {
    let user = accounts::find(app, id).await?;
    let context = DeletePage {
        layout: Layout::signed_in(&admin.0, None),
        user: Row::from(&user),
        problem: None,
    };
    Ok(page(Status::Ok, "admin/delete", context))
}

#[post("/admin/users/<id>/delete", data = "<_form>")]
async fn delete(
    app: &State<App>,
    admin: AdminPage,
    id: &str,
    _form: CsrfForm<Token>,
) -> Result<Reply, PageError> {
    let user = accounts::find(app, id).await?;
    match accounts::delete(app, &admin, &user).await {
        Ok(()) => {
            let message = format!("Deleted {}.", user.username);
            Ok(Reply::Done(Flash::success(
                Redirect::to("/admin/users"),
                message,
            )))
        }
        Err(Error::Conflict(message)) => {
            let context = DeletePage {
                layout: Layout::signed_in(&admin.0, None),
                user: Row::from(&user),
                problem: Some(message),
            };
            Ok(Reply::Form(page(Status::Conflict, "admin/delete", context)))
        }
        Err(other) => Err(other.into()),
    }
}

fn back_to(id: &str, message: String) -> Reply {
    Reply::Done(Flash::success(
        Redirect::to(format!("/admin/users/{id}")),
        message,
    ))
}

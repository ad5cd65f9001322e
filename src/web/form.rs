//! The one pattern of a form page: shown the first time (200, the flash message left by the
//! last redirect), or shown again after a problem (the problem's status, what was typed,
//! the problems beside each field). A form that breaks no field rule is the error page.
//!
//! A refused form is not answered at the path it was posted to: it goes back to the page
//! that holds it (Post/Redirect/Get, [`send_back`] and [`Refused`]), so that Back and
//! reload show the form again instead of "Confirm Form Resubmission".

use std::ops::Deref;

use rocket::form::{self, FromFormField, ValueField};
use rocket::http::uri::Origin;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use rocket::response::Redirect;
use rocket::time::Duration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::error::{Error, FieldErrors};
use crate::http::{self, cookie_name};
use crate::settings::Settings;
use crate::web::failure::PageError;
use crate::web::layout::Reply;

/// How a form page is shown, with `values` in its fields.
pub(crate) struct Showing<'r, V> {
    pub(crate) status: Status,
    pub(crate) flash: Option<FlashMessage<'r>>,
    pub(crate) values: V,
    pub(crate) errors: FieldErrors,
    /// A problem with the form as a whole (a failed login, the last admin).
    pub(crate) problem: Option<String>,
}

impl<'r, V> Showing<'r, V> {
    /// The first time, with the flash message of the redirect that led here.
    pub(crate) fn first(flash: Option<FlashMessage<'r>>, values: V) -> Self {
        Showing {
            status: Status::Ok,
            flash,
            values,
            errors: FieldErrors::new(),
            problem: None,
        }
    }

    /// Again, refused by checks of the page itself (two passwords that differ, a field left
    /// empty), with what was typed.
    pub(crate) fn refused(errors: FieldErrors, values: V) -> Self {
        Showing {
            status: Status::UnprocessableEntity,
            errors,
            ..Showing::first(None, values)
        }
    }

    /// Again after `error`, with what was typed; an error that belongs to no field (not
    /// allowed, not found, unavailable …) is the error page instead.
    pub(crate) fn again(error: &Error, values: V) -> Result<Self, PageError> {
        Ok(Showing {
            status: http::status(error),
            errors: field_errors(error).ok_or_else(|| PageError::from(error.clone()))?,
            ..Showing::first(None, values)
        })
    }

    /// The same showing, with its values made into another type (a page's choice of form).
    pub(crate) fn map<W>(self, f: impl FnOnce(V) -> W) -> Showing<'r, W> {
        Showing {
            status: self.status,
            flash: self.flash,
            values: f(self.values),
            errors: self.errors,
            problem: self.problem,
        }
    }

    /// Again with one problem for the whole form, and the status of `error`.
    pub(crate) fn problem(error: &Error, problem: String, values: V) -> Self {
        Showing {
            status: http::status(error),
            problem: Some(problem),
            ..Showing::first(None, values)
        }
    }
}

/// A new password typed twice: the problem, beside the second field, when the two differ.
pub(crate) fn typed_twice(new_password: &Text, again: &Text) -> Result<(), Error> {
    if new_password == again {
        return Ok(());
    }
    let problem = vec!["does not match the new password".to_owned()];
    Err(Error::Validation(FieldErrors::from([(
        "new_password_confirm".to_owned(),
        problem,
    )])))
}

/// Base name of the private cookie that carries a refused form back to its page.
const REFUSED_COOKIE: &str = "refused_form";
/// Most bytes of a held form; encrypted and encoded it grows by about a third and must stay
/// under browsers' 4096 bytes a cookie. Beyond it (a pasted novel) the typed values stay
/// behind and the page shows its problems with the fields as they were.
const MOST_CARRIED: usize = 2800;

/// A refused form on its way back to its page: which form, its problems and status, and
/// what was typed (never a password: form types skip them when serialized).
#[derive(Serialize, Deserialize)]
struct Held {
    path: String,
    form: String,
    status: u16,
    values: Value,
    errors: FieldErrors,
    problem: Option<String>,
}

/// Sends a refused form back to the page `to` that holds it: a private (encrypted) cookie
/// holds it for a minute, and a 303 leads there, where [`Refused`] picks it up.
pub(crate) fn send_back<V: Serialize>(
    jar: &CookieJar<'_>,
    settings: &Settings,
    to: Origin<'static>,
    form: &str,
    shown: Showing<'_, V>,
) -> Reply {
    let mut held = Held {
        path: to.path().to_string(),
        form: form.to_owned(),
        status: shown.status.code,
        values: serde_json::to_value(&shown.values).unwrap_or(Value::Null),
        errors: shown.errors,
        problem: shown.problem,
    };
    let mut text = serde_json::to_string(&held).unwrap_or_default();
    if text.len() > MOST_CARRIED {
        held.values = Value::Null;
        text = serde_json::to_string(&held).unwrap_or_default();
    }
    if text.len() <= MOST_CARRIED {
        let cookie = Cookie::build((cookie_name(REFUSED_COOKIE, settings.cookie_secure), text))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(settings.cookie_secure)
            .max_age(Duration::minutes(1));
        jar.add_private(cookie);
    }
    Reply::Away(Redirect::to(to))
}

/// The refused form that brought the visitor to this page, if any (read once: the cookie
/// goes as it is read).
pub(crate) struct Refused(Option<Held>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Refused {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let app = req.rocket().state::<App>();
        let secure = app.is_some_and(|app| app.settings.cookie_secure);
        let name = cookie_name(REFUSED_COOKIE, secure);
        let jar = req.cookies();
        let Some(cookie) = jar.get_private(&name) else {
            return Outcome::Success(Refused(None));
        };
        jar.remove_private(Cookie::build(name).path("/").secure(secure));
        let held = serde_json::from_str::<Held>(cookie.value()).ok();
        let here = req.uri().path().to_string();
        Outcome::Success(Refused(held.filter(|held| held.path == here)))
    }
}

impl Refused {
    /// Whether it is the form `form` that was refused.
    pub(crate) fn is(&self, form: &str) -> bool {
        self.0.as_ref().is_some_and(|held| held.form == form)
    }

    /// How the page shows its form `form`: again as refused, when that is what brought the
    /// visitor here, else the first time with `fresh` values.
    pub(crate) fn showing<'r, V: DeserializeOwned>(
        &self,
        flash: Option<FlashMessage<'r>>,
        form: &str,
        fresh: V,
    ) -> Showing<'r, V> {
        match self.0.as_ref().filter(|held| held.form == form) {
            Some(held) => Showing {
                status: Status::from_code(held.status).unwrap_or(Status::UnprocessableEntity),
                flash,
                values: serde_json::from_value(held.values.clone()).unwrap_or(fresh),
                errors: held.errors.clone(),
                problem: held.problem.clone(),
            },
            None => Showing::first(flash, fresh),
        }
    }
}

/// The problems of an error to show beside a form's fields, if it has any.
fn field_errors(error: &Error) -> Option<FieldErrors> {
    match error {
        Error::Validation(fields) => Some(fields.clone()),
        Error::Taken(field) => Some(FieldErrors::from([(
            field.to_string(),
            vec!["is already taken".to_owned()],
        )])),
        _ => None,
    }
}

/// A text field of a page's form. A browser may leave a field out (a form from an older
/// page, a field the user's tools removed): it then reads as empty, so the form is shown
/// again with "is required" beside it instead of failing as unreadable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Text(String);

impl<'v> FromFormField<'v> for Text {
    fn from_value(field: ValueField<'v>) -> form::Result<'v, Self> {
        Ok(Text(field.value.to_owned()))
    }

    fn default() -> Option<Self> {
        Some(Text(String::new()))
    }
}

impl Text {
    /// The value, unless the field was left empty (an optional field not filled in).
    pub(crate) fn given(&self) -> Option<String> {
        Some(self.0.clone()).filter(|text| !text.is_empty())
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(text)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

//! The one pattern of a form page: shown the first time (200, the flash message left by the
//! last redirect), or shown again after a problem (the problem's status, what was typed,
//! the problems beside each field). A form that breaks no field rule is the error page.

use std::ops::Deref;

use rocket::form::{self, FromFormField, ValueField};
use rocket::http::Status;
use rocket::request::FlashMessage;
use serde::Serialize;

use crate::error::{Error, FieldErrors};
use crate::http;
use crate::web::failure::PageError;

/// How a form page is shown, with `values` in its fields.
pub(crate) struct Showing<'r, V> {
    pub(crate) status: Status,
    pub(crate) flash: Option<FlashMessage<'r>>,
    pub(crate) values: V,
    pub(crate) errors: FieldErrors,
}

impl<'r, V> Showing<'r, V> {
    /// The first time, with the flash message of the redirect that led here.
    pub(crate) fn first(flash: Option<FlashMessage<'r>>, values: V) -> Self {
        Showing {
            status: Status::Ok,
            flash,
            values,
            errors: FieldErrors::new(),
        }
    }

    /// Again, refused by checks of the page itself (two passwords that differ, a field left
    /// empty), with what was typed.
    pub(crate) fn refused(errors: FieldErrors, values: V) -> Self {
        Showing {
            status: Status::UnprocessableEntity,
            flash: None,
            values,
            errors,
        }
    }

    /// Again after `error`, with what was typed; an error that belongs to no field (not
    /// allowed, not found, unavailable …) is the error page instead.
    pub(crate) fn again(error: &Error, values: V) -> Result<Self, PageError> {
        Ok(Showing {
            status: http::status(error),
            flash: None,
            values,
            errors: field_errors(error).ok_or_else(|| PageError::from(error.clone()))?,
        })
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

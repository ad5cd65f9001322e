//! The JSON body guard. Unlike `rocket::serde::json::Json` it answers every way a body can be
//! wrong with the documented error: 415 for another content type, 413 over the `json` limit,
//! 400 for malformed JSON, and 422 naming the field for wrong types or unknown fields.

use rocket::data::{self, Data, FromData};
use rocket::outcome::Outcome;
use rocket::request::Request;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::http::{self, Failure};

/// A request body parsed from JSON.
pub(crate) struct Json<T>(pub T);

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for Json<T> {
    type Error = Failure;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match parse(req, data).await {
            Ok(value) => Outcome::Success(Json(value)),
            Err(failure) => {
                http::remember(req, &failure);
                Outcome::Error((failure.status(), failure))
            }
        }
    }
}

async fn parse<T: DeserializeOwned>(req: &Request<'_>, data: Data<'_>) -> Result<T, Failure> {
    let body = http::read_body(req, data, "json").await?;
    // Syntax first, for the whole body, so that malformed JSON is always a 400; then types.
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| malformed(&e))?;
    serde_path_to_error::deserialize(json).map_err(|e| explain(e).into())
}

fn explain(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let text = error.inner().to_string();
    let path = error.path().to_string();
    let field = if path == "." {
        between_backticks(&text).unwrap_or("body").to_owned()
    } else {
        path
    };
    let problem = if text.starts_with("missing field") {
        "is required".to_owned()
    } else if text.starts_with("unknown field") {
        "is not a field of this request".to_owned()
    } else {
        text
    };
    Error::field(&field, problem)
}

fn malformed(error: &serde_json::Error) -> Failure {
    Failure::BadRequest(format!(
        "The body is not well-formed JSON (line {}, column {}).",
        error.line(),
        error.column()
    ))
}

fn between_backticks(text: &str) -> Option<&str> {
    text.split('`').nth(1)
}

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
    let mut keys = serde_json::Deserializer::from_str(&body);
    serde_path_to_error::deserialize::<_, NoDuplicateKeys>(&mut keys).map_err(explain)?;
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
    Error::field(&field, in_users_terms(&text))
}

/// serde's sentence for a wrong value, without Rust's type names ("expected struct
/// Registration with 4 elements", "expected u32").
fn in_users_terms(text: &str) -> String {
    let expected = text.split_once("expected ").map_or("", |(_, rest)| rest);
    let problem = if text.starts_with("missing field") {
        "is required"
    } else if text.starts_with("unknown field") {
        "is not a field of this request"
    } else if text.starts_with("duplicate field") {
        "is given more than once"
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        "must be a JSON object with the documented fields"
    } else if expected.starts_with("a string") {
        "must be a string"
    } else if expected.starts_with("a boolean") {
        "must be true or false"
    } else if expected.starts_with('u') || expected.starts_with('i') {
        "must be a whole number"
    } else if expected.starts_with("a sequence") {
        "must be a list"
    } else {
        "has the wrong type"
    };
    problem.to_owned()
}

/// Refuses a JSON object that names one key twice at any depth (serde_json would keep the
/// last silently, so two readers of the body could disagree).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(NoDuplicateKeys)
    }
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

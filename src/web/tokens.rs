//! Personal access tokens on the account page (API.md §10): the form that makes one, the
//! page that shows it this once, and deleting one. The list itself is on `/account`.

use rocket::http::{CookieJar, Status};
use rocket::{post, routes, uri, FromForm, Route, State};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::personal_tokens::{self, Request};
use crate::error::Error;
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, Showing, Text};
use crate::web::layout::{page, Layout, Reply};
use crate::web::session::SignedIn;

pub(crate) fn routes() -> Vec<Route> {
    routes![create, delete]
}

/// The name a refused token form comes back under on the account page.
pub(crate) const FORM: &str = "token";

/// The form that makes a token, and the values it shows again after a problem.
#[derive(FromForm, Serialize, Deserialize)]
pub(crate) struct TokenForm {
    pub(crate) name: Text,
    pub(crate) scope: Text,
    pub(crate) expires_in_days: Text,
    /// Needed when the sign-in is not recent; never shown again.
    #[serde(skip)]
    pub(crate) current_password: Text,
}

impl Default for TokenForm {
    fn default() -> Self {
        TokenForm {
            name: Text::default(),
            scope: "read".to_owned().into(),
            expires_in_days: personal_tokens::DEFAULT_DAYS.to_string().into(),
            current_password: Text::default(),
        }
    }
}

/// The token just made, shown this once.
#[derive(Serialize)]
struct MadePage {
    #[serde(flatten)]
    layout: Layout,
    name: String,
    scope: &'static str,
    token: String,
    expires: crate::web::present::When,
}

#[post("/account/tokens", data = "<form>")]
async fn create(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<TokenForm>,
) -> Served {
    let form = form.0;
    let made = match form.expires_in_days.trim().parse::<i64>() {
        Ok(days) => {
            let request = Request {
                name: form.name.to_string(),
                scope: form.scope.to_string(),
                expires_in_days: Some(days),
                current_password: form.current_password.given(),
            };
            personal_tokens::create(app, &signed_in, request).await
        }
        Err(_) => Err(Error::field("expires_in_days", "must be a number of days")),
    };
    match made {
        Ok(minted) => {
            let context = MadePage {
                layout: Layout::signed_in(&signed_in, None),
                name: minted.token.name,
                scope: minted.token.scope.as_str(),
                token: minted.secret,
                expires: minted.token.expires_at.into(),
            };
            Ok(Reply::Form(page(Status::Ok, "account/token", context)))
        }
        Err(error) => {
            let shown = Showing::again(&error, form)?;
            let account = uri!("/account");
            Ok(send_back(jar, &app.settings, account, FORM, shown))
        }
    }
}

/// Deletes one of the account's tokens: the next request that sends it is refused.
#[post("/account/tokens/<id>/delete", data = "<_form>")]
async fn delete(app: &State<App>, signed_in: SignedIn, id: &str, _form: CsrfForm<Token>) -> Served {
    personal_tokens::delete(app, &signed_in, id).await?;
    Ok(Reply::done(
        uri!("/account"),
        "The token is deleted: it no longer works.",
    ))
}

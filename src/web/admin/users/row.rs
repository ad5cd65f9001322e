//! A user as the console's lists and pages show it.

use serde::Serialize;

use crate::accounts::model::User;
use crate::web::present::When;

#[derive(Serialize)]
pub(crate) struct Row {
    id: String,
    username: String,
    email: String,
    name: String,
    role: &'static str,
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
            role: user.role.as_str(),
            active: user.active,
            created: user.created_at.into(),
            last_login: user.last_login_at.map(When::from),
        }
    }
}

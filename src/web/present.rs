//! How pages show values: the rows of users, members, sessions and bucket lists, moments
//! in time at the precisions the templates need, and short forms of ids. Formatting happens here, with `time`'s format descriptions, so templates
//! never cut strings (which breaks on an unexpected value).

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::PrimitiveDateTime;

use crate::accounts::model::User;
use crate::auth::personal_tokens::PersonalToken;
use crate::auth::sessions::Session;
use crate::bucketlists::{Item, Summary};

/// A moment (UTC) in every form a page shows it.
#[derive(Serialize)]
pub(crate) struct When {
    /// RFC 3339, for `<time datetime>`.
    iso: String,
    /// `2026-11-29`
    day: String,
    /// `2026-11-29 14:05 UTC`
    minute: String,
    /// `2026-11-29 14:05:09 UTC`
    second: String,
}

impl From<PrimitiveDateTime> for When {
    fn from(at: PrimitiveDateTime) -> Self {
        let format = |description| at.format(description).unwrap_or_default();
        When {
            iso: at.assume_utc().format(&Rfc3339).unwrap_or_default(),
            day: format(format_description!("[year]-[month]-[day]")),
            minute: format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            )),
            second: format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            )),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SessionRow {
    id: String,
    started: When,
    last_seen: When,
    /// "Chrome on Linux"; the whole User-Agent goes in a tooltip.
    browser: String,
    user_agent: String,
    ip: String,
    current: bool,
}

/// Sessions as listed on the account and admin pages: the viewer's own first, marked.
pub(crate) fn session_rows(sessions: &[Session], viewer: Option<&Session>) -> Vec<SessionRow> {
    let mut rows: Vec<SessionRow> = sessions
        .iter()
        .map(|s| {
            let user_agent = s.user_agent.clone().unwrap_or_default();
            SessionRow {
                id: s.public_id.clone(),
                started: s.created_at.into(),
                last_seen: s.last_seen_at.into(),
                browser: browser_name(&user_agent),
                user_agent,
                ip: s.ip.clone().unwrap_or_default(),
                current: viewer.is_some_and(|v| v.id == s.id),
            }
        })
        .collect();
    rows.sort_by_key(|row| !row.current);
    rows
}

/// A User-Agent in words: "Firefox on Windows 10", or for a program the first word of it
/// ("curl/8.5.0").
fn browser_name(user_agent: &str) -> String {
    let unknown = woothee::woothee::VALUE_UNKNOWN;
    // Crawlers and libraries get a generic name ("HTTP Library"): their own token says more.
    let browser = |category: &str| matches!(category, "pc" | "smartphone" | "mobilephone");
    match woothee::parser::Parser::new().parse(user_agent) {
        Some(found) if browser(found.category) && found.os != unknown => {
            format!("{} on {}", found.name, found.os)
        }
        Some(found) if browser(found.category) && found.name != unknown => found.name.to_owned(),
        _ => match user_agent.split_whitespace().next() {
            Some(program) => program.chars().take(40).collect(),
            None => "Unknown browser".to_owned(),
        },
    }
}

/// What the directory and profiles show of a member (never the email).
#[derive(Serialize)]
pub(crate) struct Member {
    id: String,
    username: String,
    name: Option<String>,
    role: String,
    joined: When,
}

impl From<&User> for Member {
    fn from(user: &User) -> Self {
        Member {
            id: user.public_id.clone(),
            username: user.username.clone(),
            name: user.name.clone(),
            role: user.role.as_str().to_owned(),
            joined: user.created_at.into(),
        }
    }
}

/// A user as the admin console's lists and pages show it.
#[derive(Serialize)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    email: String,
    name: String,
    role: &'static str,
    active: bool,
    mfa_enabled: bool,
    created: When,
    last_login: Option<When>,
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        UserRow {
            id: user.public_id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
            role: user.role.as_str(),
            active: user.active,
            mfa_enabled: user.mfa_enabled,
            created: user.created_at.into(),
            last_login: user.last_login_at.map(When::from),
        }
    }
}

/// A bucket list in the index of lists.
#[derive(Serialize)]
pub(crate) struct ListRow {
    id: String,
    name: String,
    items_count: i64,
}

impl From<&Summary> for ListRow {
    fn from(summary: &Summary) -> Self {
        ListRow {
            id: summary.list.public_id.clone(),
            name: summary.list.name.clone(),
            items_count: summary.items_count,
        }
    }
}

/// An item on a list's page.
#[derive(Serialize)]
pub(crate) struct ItemRow {
    id: String,
    name: String,
    done: bool,
}

impl From<Item> for ItemRow {
    fn from(item: Item) -> Self {
        ItemRow {
            id: item.public_id,
            name: item.name,
            done: item.done,
        }
    }
}

/// Where a paged listing is: this page, how many there are, how many items in all.
#[derive(Serialize)]
pub(crate) struct Paging {
    page: i64,
    pages: i64,
    total: i64,
}

impl Paging {
    pub(crate) fn new(page: i64, per_page: i64, total: i64) -> Self {
        Paging {
            page,
            pages: Self::last_page(total, per_page),
            total,
        }
    }

    /// The number of the last page (1 when there is nothing: an empty first page).
    pub(crate) fn last_page(total: i64, per_page: i64) -> i64 {
        ((total + per_page - 1) / per_page.max(1)).max(1)
    }
}

/// The first characters of a long id, enough to tell ids apart on a page.
pub(crate) fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// The QR code of `text` as inline SVG (drawn on the server: no script, no image request),
/// dark on white whatever the page's colours, so every phone camera reads it.
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The XML declaration is for files; inside HTML the element alone.
    let start = image.find("<svg")?;
    Some(image.get(start..)?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_words() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_name(firefox), "Firefox on Windows 10");
        assert_eq!(browser_name("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(browser_name(""), "Unknown browser");
    }
    use time::macros::datetime;

    #[test]
    fn a_moment_in_each_form() {
        let when = When::from(datetime!(2026-11-29 14:05:09.123456));
        assert_eq!(when.iso, "2026-11-29T14:05:09.123456Z");
        assert_eq!(when.day, "2026-11-29");
        assert_eq!(when.minute, "2026-11-29 14:05 UTC");
        assert_eq!(when.second, "2026-11-29 14:05:09 UTC");
    }

    #[test]
    fn short_ids_never_split_a_character_or_panic() {
        assert_eq!(short_id("0123456789abcdef"), "01234567");
        assert_eq!(short_id("äöü"), "äöü");
        assert_eq!(short_id(""), "");
    }
}

/// A personal access token as the account page lists it.
#[derive(Serialize)]
pub(crate) struct TokenRow {
    id: String,
    name: String,
    scope: &'static str,
    created: When,
    expires: When,
    last_used: Option<When>,
}

impl From<&PersonalToken> for TokenRow {
    fn from(token: &PersonalToken) -> Self {
        TokenRow {
            id: token.public_id.clone(),
            name: token.name.clone(),
            scope: token.scope.as_str(),
            created: token.created_at.into(),
            expires: token.expires_at.into(),
            last_used: token.last_used_at.map(When::from),
        }
    }
}

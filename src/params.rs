//! Query parameters of listings, shared by the JSON API and the admin pages: read as sent
//! (strings), then checked into typed queries, so that a bad value is a 422 naming the
//! parameter rather than a route that silently does not match.

use rocket::FromForm;
use time::macros::format_description;
use time::Date;
use utoipa::IntoParams;

use crate::accounts::model::{Role, SortKey, User, UserQuery};
use crate::accounts::policy;
use crate::audit::{AuditQuery, Kind, UserFilter};
use crate::error::{Checker, Error, Result};

/// Items per page when the caller does not say.
pub(crate) const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;

/// Query parameters as sent; checked by `user_query`.
#[derive(FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams<'r> {
    /// Usernames and names (and, for admins, emails) that start with this, in any case.
    pub(crate) q: Option<&'r str>,
    /// `user` or `admin`.
    pub(crate) role: Option<&'r str>,
    /// `true` or `false` (admins only).
    pub(crate) active: Option<&'r str>,
    /// Whether the account uses a second factor: `true` or `false` (admins only).
    pub(crate) mfa: Option<&'r str>,
    /// `username`, `created_at` (and, for admins, `email`, `last_login_at`); `-` before it
    /// sorts descending.
    pub(crate) sort: Option<&'r str>,
    /// From 1.
    pub(crate) page: Option<&'r str>,
    /// 1 to 100 (more is capped at 100); 20 unless given.
    pub(crate) per_page: Option<&'r str>,
}

/// Members see active accounts only and search and sort by public fields; admins see all.
impl ListParams<'_> {
    /// The page of users `viewer` asked for, checked; `per_page` defaults to `default_per_page`.
    pub(crate) fn user_query(
        &self,
        viewer: &User,
        default_per_page: Option<i64>,
    ) -> Result<UserQuery> {
        // An empty value (a filter form's "any") is no filter.
        let params = ListParams {
            q: given(self.q),
            role: given(self.role),
            active: given(self.active),
            mfa: given(self.mfa),
            sort: given(self.sort),
            page: given(self.page),
            per_page: given(self.per_page),
        };
        let admin = policy::lists_everyone(viewer);
        if !admin && params.active.is_some() {
            return Err(Error::forbidden("Only admins may filter by active."));
        }
        if !admin && params.mfa.is_some() {
            return Err(Error::forbidden("Only admins may filter by mfa."));
        }
        let mut checker = Checker::default();
        let default = default_per_page.unwrap_or(DEFAULT_PER_PAGE);
        let (page, per_page) = pagination(&mut checker, params.page, params.per_page, default);
        let role = params.role.and_then(|name| {
            let role = Role::parse(name);
            if role.is_none() {
                checker.add("role", "must be \"user\" or \"admin\"");
            }
            role
        });
        let active = boolean(&mut checker, "active", params.active);
        let mfa = boolean(&mut checker, "mfa", params.mfa);
        let sort_text = params.sort.unwrap_or("username");
        let descending = sort_text.starts_with('-');
        let sort = match sort_text.trim_start_matches('-') {
            "username" => Some(SortKey::Username),
            "created_at" => Some(SortKey::CreatedAt),
            "email" if admin => Some(SortKey::Email),
            "last_login_at" if admin => Some(SortKey::LastLoginAt),
            _ => None,
        };
        if sort.is_none() {
            let allowed = if admin {
                "username, email, created_at or last_login_at"
            } else {
                "username or created_at"
            };
            checker.add(
                "sort",
                format!("must be {allowed}, with '-' in front for descending"),
            );
        }
        if params.q.is_some_and(|q| q.chars().any(char::is_control)) {
            checker.add("q", "must not contain control characters");
        }
        checker.finish()?;
        let search = params
            .q
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        Ok(UserQuery {
            search,
            search_email: admin,
            role,
            active: if admin { active } else { Some(true) },
            mfa,
            sort: sort.unwrap_or(SortKey::Username),
            descending,
            page,
            per_page,
        })
    }
}

#[derive(FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams<'r> {
    /// Events by or about this user (their id).
    pub(crate) user: Option<&'r str>,
    /// One kind of event, such as `login_failed`.
    pub(crate) event: Option<&'r str>,
    /// From 1.
    pub(crate) page: Option<&'r str>,
    /// 1 to 100 (more is capped at 100); 20 unless given.
    pub(crate) per_page: Option<&'r str>,
    /// First day shown (`YYYY-MM-DD`, UTC).
    pub(crate) from: Option<&'r str>,
    /// Last day shown (`YYYY-MM-DD`, UTC), included.
    pub(crate) to: Option<&'r str>,
}

impl AuditParams<'_> {
    /// The page of the audit log asked for, checked.
    pub(crate) fn audit_query(&self, default_per_page: Option<i64>) -> Result<AuditQuery> {
        let mut checker = Checker::default();
        let default = default_per_page.unwrap_or(DEFAULT_PER_PAGE);
        let (page, per_page) = pagination(&mut checker, self.page, self.per_page, default);
        let event = self.event.filter(|e| !e.is_empty()).and_then(|text| {
            let event = Kind::parse(text);
            if event.is_none() {
                checker.add("event", "is not a known event type");
            }
            event
        });
        let user = self.user.filter(|u| !u.is_empty()).and_then(|text| {
            let id = uuid::Uuid::parse_str(text).ok();
            if id.is_none() {
                checker.add("user", "must be a user id");
            }
            id.map(|id| UserFilter::Id(id.to_string()))
        });
        let from = day(&mut checker, "from", self.from).map(|d| d.midnight());
        let to_day = day(&mut checker, "to", self.to);
        let from_day = from.map(|f| f.date());
        if let (Some(from), Some(to)) = (from_day, to_day) {
            if to < from {
                checker.add("to", "must not be before from");
            }
        }
        let to = to_day.and_then(|d| d.next_day()).map(|d| d.midnight());
        checker.finish()?;
        Ok(AuditQuery {
            user,
            event,
            from,
            to,
            page,
            per_page,
        })
    }
}

/// Reads a `YYYY-MM-DD` date; empty means none.
/// Reads a `YYYY-MM-DD` date between the years 1 and 9999 (what both databases can hold);
/// empty means none.
fn day(checker: &mut Checker, field: &str, value: Option<&str>) -> Option<Date> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    let parsed = Date::parse(value, format_description!("[year]-[month]-[day]"))
        .ok()
        .filter(|date| (1..=9999).contains(&date.year()))
        .ok_or_else(|| vec!["must be a date like 2026-11-24".to_owned()]);
    checker.check(field, parsed)
}

/// A parameter that was sent with something in it.
fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// The largest page number asked for: beyond it, offsets would overflow.
pub(crate) const MAX_PAGE: i64 = 1_000_000;

/// Reads `page` (from 1) and `per_page` (1 to 100; larger asks are capped at 100).
pub(crate) fn pagination(
    checker: &mut Checker,
    page: Option<&str>,
    per_page: Option<&str>,
    default_per_page: i64,
) -> (i64, i64) {
    let page = number(checker, "page", page, 1).unwrap_or(1);
    let per_page = number(checker, "per_page", per_page, default_per_page)
        .unwrap_or(default_per_page)
        .min(MAX_PER_PAGE);
    (page, per_page)
}

fn number(checker: &mut Checker, field: &str, value: Option<&str>, default: i64) -> Option<i64> {
    let Some(value) = value else {
        return Some(default);
    };
    let parsed = value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n));
    checker.check(
        field,
        parsed.ok_or_else(|| vec!["must be a whole number from 1".to_owned()]),
    )
}

/// Parses a `true`/`false` query value.
pub(crate) fn boolean(checker: &mut Checker, field: &str, value: Option<&str>) -> Option<bool> {
    let parsed = match value? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(vec!["must be true or false".to_owned()]),
    };
    checker.check(field, parsed)
}

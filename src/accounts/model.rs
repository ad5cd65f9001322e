//! The `users` table: the row type, its insert and change sets, and the queries on it.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use time::PrimitiveDateTime;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::db::schema::{user_name_words, users};
use crate::db::{lower, DbConn, MultiBackend};

/// What an account may do; stored as its name (`user`, `admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// A role from its name; anything else is no role.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::User, Role::Admin]
            .into_iter()
            .find(|role| role.as_str() == name)
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    /// The `role` column holds only these names (the migrations check it).
    fn try_from(name: String) -> Result<Self, String> {
        Role::parse(&name).ok_or_else(|| format!("unknown role {name:?} in the database"))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub public_id: String,
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub active: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub last_login_at: Option<PrimitiveDateTime>,
    pub password_changed_at: PrimitiveDateTime,
    /// A link mailed to `email` was used (or an admin or the operator vouched for it).
    pub email_verified: bool,
    /// A new address waiting for its link to be used before it replaces `email`.
    pub pending_email: Option<String>,
    /// Signing in takes a second step: a code from a confirmed TOTP credential (`mfa`).
    pub mfa_enabled: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub public_id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub active: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub password_changed_at: PrimitiveDateTime,
    pub email_verified: bool,
}

/// A partial update; `None` leaves a column as it is (`name: Some(None)` clears the name).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub role: Option<&'static str>,
    pub active: Option<bool>,
    pub updated_at: Option<PrimitiveDateTime>,
    pub password_changed_at: Option<PrimitiveDateTime>,
    pub last_login_at: Option<PrimitiveDateTime>,
    pub email_verified: Option<bool>,
    /// `Some(None)` clears a pending address.
    pub pending_email: Option<Option<String>>,
    pub mfa_enabled: Option<bool>,
}

/// Columns the users collection can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Username,
    Email,
    CreatedAt,
    LastLoginAt,
}

/// A page of the users collection, already validated.
#[derive(Debug, Clone)]
pub struct UserQuery {
    /// Matches usernames and names (and emails, see below) that start with it, in any case.
    pub search: Option<String>,
    /// Whether the search also matches emails (only admins may search by email).
    pub search_email: bool,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub mfa: Option<bool>,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<User> {
        let user: User = diesel::insert_into(users::table)
            .values(new)
            .returning(users::all_columns)
            .get_result(conn)?;
        index_name(conn, user.id, user.name.as_deref())?;
        Ok(user)
    }

    pub fn find(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::public_id.eq(public_id))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Finds an account by username (any case) or by email.
    pub fn find_by_login(conn: &mut DbConn, identifier: &str) -> QueryResult<Option<User>> {
        // No stored name contains a NUL, and PostgreSQL refuses one in any text parameter.
        if identifier.contains('\0') {
            return Ok(None);
        }
        let key = identifier.to_lowercase();
        let query = users::table.select(User::as_select());
        if key.contains('@') {
            query.filter(users::email.eq(key)).first(conn).optional()
        } else {
            query
                .filter(lower(users::username).eq(key))
                .first(conn)
                .optional()
        }
    }

    pub fn update(conn: &mut DbConn, id: i64, changes: &UserChanges) -> QueryResult<User> {
        let user: User = diesel::update(users::table.find(id))
            .set(changes)
            .returning(users::all_columns)
            .get_result(conn)?;
        if changes.name.is_some() {
            index_name(conn, user.id, user.name.as_deref())?;
        }
        Ok(user)
    }

    /// Accounts with a second factor on.
    pub(crate) fn with_second_factor(conn: &mut DbConn) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::mfa_enabled.eq(true))
            .select(User::as_select())
            .load(conn)
    }

    /// Marks every account as having no second factor (all were removed).
    pub(crate) fn clear_second_factors(
        conn: &mut DbConn,
        now: PrimitiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::mfa_enabled.eq(true)))
            .set((users::mfa_enabled.eq(false), users::updated_at.eq(now)))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(users::table.find(id)).execute(conn)
    }

    /// Usernames by public id, for showing who is who in the audit log.
    pub fn usernames(
        conn: &mut DbConn,
        public_ids: Vec<String>,
    ) -> QueryResult<std::collections::HashMap<String, String>> {
        let pairs: Vec<(String, String)> = users::table
            .filter(users::public_id.eq_any(public_ids))
            .select((users::public_id, users::username))
            .load(conn)?;
        Ok(pairs.into_iter().collect())
    }

    pub fn count_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)
    }

    /// One page of users and the total that match.
    pub fn list(conn: &mut DbConn, q: &UserQuery) -> QueryResult<(Vec<User>, i64)> {
        let postgres = matches!(conn, DbConn::Postgres(_));
        let total = Self::filtered(q, postgres).count().get_result(conn)?;
        let mut query = Self::filtered(q, postgres).select(User::as_select());
        query = match (q.sort, q.descending) {
            (SortKey::Username, false) => query.order(lower(users::username).asc()),
            (SortKey::Username, true) => query.order(lower(users::username).desc()),
            (SortKey::Email, false) => query.order(users::email.asc()),
            (SortKey::Email, true) => query.order(users::email.desc()),
            (SortKey::CreatedAt, false) => query.order(users::created_at.asc()),
            (SortKey::CreatedAt, true) => query.order(users::created_at.desc()),
            (SortKey::LastLoginAt, false) => query.order(users::last_login_at.asc()),
            (SortKey::LastLoginAt, true) => query.order(users::last_login_at.desc()),
        };
        let rows = query
            .then_order_by(users::id.asc())
            .limit(q.per_page)
            .offset((q.page - 1) * q.per_page)
            .load(conn)?;
        Ok((rows, total))
    }

    fn filtered(
        q: &UserQuery,
        postgres: bool,
    ) -> users::BoxedQuery<'static, crate::db::MultiBackend> {
        let mut query = users::table.into_boxed();
        if let Some(search) = &q.search {
            // A prefix search as an index range: key >= 'ab' AND key < 'ac'.
            let from = search_form(search);
            let to = prefix_end(&from);
            let username = lower(users::username);
            let name = lower(users::name.assume_not_null());
            let by_name = (username.ge(from.clone()).and(username.lt(to.clone())))
                .or(name.ge(from.clone()).and(name.lt(to.clone())))
                .or(any_word(&from, &to, postgres));
            query = if q.search_email {
                let email = users::email;
                query.filter(by_name.or(email.ge(from).and(email.lt(to))))
            } else {
                query.filter(by_name)
            };
        }
        if let Some(role) = q.role {
            query = query.filter(users::role.eq(role.as_str()));
        }
        if let Some(active) = q.active {
            query = query.filter(users::active.eq(active));
        }
        if let Some(mfa) = q.mfa {
            query = query.filter(users::mfa_enabled.eq(mfa));
        }
        query
    }
}

/// Users with a word of their name in the range `from`..`to`, through the words' index.
/// PostgreSQL gets the ids as an array (`= ANY(ARRAY(…))`, computed once), which it can OR
/// with the other index ranges; given `IN (subquery)` inside an OR it tests the subquery
/// row by row over the whole table. SQLite has no arrays and plans `IN` well.
fn any_word(
    from: &str,
    to: &str,
    postgres: bool,
) -> Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = Bool>> {
    let (open, close) = if postgres {
        ("users.id = ANY(ARRAY(", "))")
    } else {
        ("users.id IN (", ")")
    };
    let words = sql::<Bool>(open)
        .sql("SELECT user_id FROM user_name_words WHERE word >= ")
        .bind::<Text, _>(from.to_owned())
        .sql(" AND word < ")
        .bind::<Text, _>(to.to_owned())
        .sql(close);
    Box::new(words)
}

/// The words of a name as search matches them: lower-cased, split at anything that is not
/// a letter or a digit, each once.
fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = search_form(name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Text as search compares it: NFKC (composed, compatibility forms folded) and lower-cased,
/// so that a name and a query typed differently still meet.
fn search_form(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

/// Replaces the indexed words of a user's name.
fn index_name(conn: &mut DbConn, user_id: i64, name: Option<&str>) -> QueryResult<()> {
    diesel::delete(user_name_words::table.filter(user_name_words::user_id.eq(user_id)))
        .execute(conn)?;
    for word in name_words(name.unwrap_or_default()) {
        diesel::insert_into(user_name_words::table)
            .values((
                user_name_words::word.eq(word),
                user_name_words::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Indexes the names that have no words indexed yet (those stored before the words were
/// kept); run at start-up after migrations. Returns how many names it indexed.
pub fn index_missing_names(conn: &mut DbConn) -> QueryResult<usize> {
    let indexed = user_name_words::table.select(user_name_words::user_id);
    let missing: Vec<(i64, Option<String>)> = users::table
        .filter(users::name.is_not_null())
        .filter(diesel::dsl::not(users::id.eq_any(indexed)))
        .select((users::id, users::name))
        .load(conn)?;
    conn.transaction(|conn| {
        for (id, name) in &missing {
            index_name(conn, *id, name.as_deref())?;
        }
        Ok(missing.len())
    })
}

/// The first string after every string that starts with `prefix`, in byte (code point)
/// order: the prefix with its last character moved one code point on.
fn prefix_end(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    char::MAX.to_string()
}

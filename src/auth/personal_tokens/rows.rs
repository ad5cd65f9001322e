//! A personal token's row and the reads that find it by fingerprint: what the application
//! state needs to check tokens (`App::token_reads`), apart from the rules that need the
//! application.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::accounts::model::User;
use crate::db::schema::{personal_tokens, users};
use crate::db::DbConn;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// GET and HEAD only.
    Read,
    Write,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Scope> {
        [Scope::Read, Scope::Write]
            .into_iter()
            .find(|scope| scope.as_str() == name)
    }
}

impl TryFrom<String> for Scope {
    type Error = String;

    /// The `scope` column holds only these names (the migrations check it).
    fn try_from(name: String) -> Result<Self, String> {
        Scope::parse(&name).ok_or_else(|| format!("unknown scope {name:?} in the database"))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = personal_tokens)]
pub(crate) struct PersonalToken {
    pub(crate) id: i64,
    pub(crate) public_id: String,
    pub(crate) name: String,
    #[diesel(deserialize_as = String)]
    pub(crate) scope: Scope,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) expires_at: PrimitiveDateTime,
    pub(crate) last_used_at: Option<PrimitiveDateTime>,
}

/// Tokens and their users by fingerprint, many at once (on PostgreSQL `= ANY($1)`), for
/// [`crate::db::batch::Batch`].
pub(crate) fn find_many_with_user(
    conn: &mut DbConn,
    hashes: &[String],
) -> QueryResult<Vec<(String, (PersonalToken, User))>> {
    macro_rules! lookup {
        ($conn:expr) => {
            personal_tokens::table
                .inner_join(users::table)
                .filter(personal_tokens::token_hash.eq_any(hashes))
                .select((
                    personal_tokens::token_hash,
                    PersonalToken::as_select(),
                    User::as_select(),
                ))
                .load::<(String, PersonalToken, User)>($conn)
        };
    }
    let found = match conn {
        DbConn::Sqlite(sqlite) => lookup!(sqlite)?,
        DbConn::Postgres(pg) => lookup!(pg)?,
    };
    Ok(found
        .into_iter()
        .map(|(hash, token, user)| (hash, (token, user)))
        .collect())
}

pub(crate) fn find_with_user(
    conn: &mut DbConn,
    hash: &str,
) -> QueryResult<Option<(PersonalToken, User)>> {
    // On the typed connection, without LIMIT, like the session lookup (see
    // `Session::find_with_user`): the statement is prepared once and found by its type.
    macro_rules! lookup {
        ($conn:expr) => {
            personal_tokens::table
                .inner_join(users::table)
                .filter(personal_tokens::token_hash.eq(hash))
                .select((PersonalToken::as_select(), User::as_select()))
                .get_result($conn)
                .optional()
        };
    }
    match conn {
        DbConn::Sqlite(sqlite) => lookup!(sqlite),
        DbConn::Postgres(pg) => lookup!(pg),
    }
}

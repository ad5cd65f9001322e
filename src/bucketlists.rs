//! Bucket lists and their items: resources owned by one user, the worked example of per-user
//! authorization. Every query names the owner in its `WHERE`, so for anyone else a list is
//! exactly as absent as one that does not exist: the same `NotFound`, and nothing changed.

use diesel::prelude::*;
use serde::Deserialize;
use time::PrimitiveDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::validation;
use crate::app::App;
use crate::db::schema::{bucketlist_items, bucketlists};
use crate::db::{self, lower, DbConn};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bucketlists)]
pub(crate) struct BucketList {
    pub(crate) id: i64,
    pub(crate) public_id: String,
    /// Every column is loaded: `MultiConnection` can only `RETURNING` whole rows.
    #[expect(dead_code, reason = "the owner is only ever compared in SQL")]
    owner_id: i64,
    pub(crate) name: String,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) updated_at: PrimitiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bucketlist_items)]
pub(crate) struct Item {
    /// Every column is loaded: `MultiConnection` can only `RETURNING` whole rows.
    #[expect(
        dead_code,
        reason = "items are named by public id outside the database"
    )]
    id: i64,
    pub(crate) public_id: String,
    pub(crate) bucketlist_id: i64,
    pub(crate) name: String,
    pub(crate) done: bool,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) updated_at: PrimitiveDateTime,
}

/// A list with the number of its items.
pub(crate) struct Summary {
    pub(crate) list: BucketList,
    pub(crate) items_count: i64,
}

/// A change to an item; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemChanges {
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub(crate) name: Option<String>,
    pub(crate) done: Option<bool>,
}

/// A page of one owner's lists.
pub(crate) struct ListQuery {
    /// Lists whose name contains this, in any case.
    pub(crate) search: Option<String>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
}

/// Names of lists and items: 1 to 100 characters after trimming, no control characters.
pub(crate) fn check_name(value: &str) -> Result<String> {
    let cleaned =
        validation::name(value).map_err(|p| Error::Validation([("name".into(), p)].into()))?;
    cleaned.ok_or_else(|| Error::field("name", "must not be empty"))
}

/// The row id of `list_id` if `owner` owns it, as a subquery. A macro, not a function:
/// a boxed subquery cannot be handed on to either backend inside an UPDATE or DELETE.
macro_rules! owned_ids {
    ($owner:expr, $list_id:expr) => {
        bucketlists::table
            .filter(bucketlists::public_id.eq($list_id))
            .filter(bucketlists::owner_id.eq($owner))
            .select(bucketlists::id)
    };
}

/// The owner's lists, newest first, each with its item count.
pub(crate) async fn lists(app: &App, owner: i64, query: ListQuery) -> Result<(Vec<Summary>, i64)> {
    app.db
        .run(move |c| {
            let owned = || {
                let mut q = bucketlists::table
                    .filter(bucketlists::owner_id.eq(owner))
                    .into_boxed();
                if let Some(search) = &query.search {
                    let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
                    q = q.filter(lower(bucketlists::name).like(pattern).escape('\\'));
                }
                q
            };
            let total = owned().count().get_result(c)?;
            let lists: Vec<BucketList> = owned()
                .select(BucketList::as_select())
                .order((bucketlists::created_at.desc(), bucketlists::id.desc()))
                .limit(query.per_page)
                .offset((query.page - 1) * query.per_page)
                .load(c)?;
            let summaries = lists
                .into_iter()
                .map(|list| summarize(c, list))
                .collect::<QueryResult<_>>()?;
            Ok::<_, Error>((summaries, total))
        })
        .await
}

pub(crate) async fn create(app: &App, owner: i64, name: &str) -> Result<Summary> {
    let now = app.clock.now();
    let name = check_name(name)?;
    app.db
        .run(move |c| {
            let list = diesel::insert_into(bucketlists::table)
                .values((
                    bucketlists::public_id.eq(Uuid::new_v4().to_string()),
                    bucketlists::owner_id.eq(owner),
                    bucketlists::name.eq(name),
                    bucketlists::created_at.eq(now),
                    bucketlists::updated_at.eq(now),
                ))
                .returning(bucketlists::all_columns)
                .get_result::<BucketList>(c)?;
            Ok::<_, Error>(Summary {
                list,
                items_count: 0,
            })
        })
        .await
}

/// One of the owner's lists with its items, oldest item first.
pub(crate) async fn get(app: &App, owner: i64, id: &str) -> Result<(Summary, Vec<Item>)> {
    let id = id.to_owned();
    app.db
        .run(move |c| {
            let list = owned_list(c, owner, &id)?;
            let items = bucketlist_items::table
                .filter(bucketlist_items::bucketlist_id.eq(list.id))
                .select(Item::as_select())
                .order((
                    bucketlist_items::created_at.asc(),
                    bucketlist_items::id.asc(),
                ))
                .load(c)?;
            Ok::<_, Error>((summarize(c, list)?, items))
        })
        .await
}

pub(crate) async fn rename(app: &App, owner: i64, id: &str, name: &str) -> Result<Summary> {
    let now = app.clock.now();
    let name = check_name(name)?;
    let id = id.to_owned();
    app.db
        .run(move |c| {
            let list = diesel::update(bucketlists::table)
                .filter(bucketlists::public_id.eq(&id))
                .filter(bucketlists::owner_id.eq(owner))
                .set((bucketlists::name.eq(name), bucketlists::updated_at.eq(now)))
                .returning(bucketlists::all_columns)
                .get_result::<BucketList>(c)
                .optional()?
                .ok_or(Error::NotFound)?;
            Ok::<_, Error>(summarize(c, list)?)
        })
        .await
}

/// Deletes a list; its items go with it (the foreign key cascades).
pub(crate) async fn delete(app: &App, owner: i64, id: &str) -> Result<()> {
    let id = id.to_owned();
    app.db
        .run(move |c| {
            let deleted = diesel::delete(bucketlists::table)
                .filter(bucketlists::public_id.eq(&id))
                .filter(bucketlists::owner_id.eq(owner))
                .execute(c)?;
            found(deleted)
        })
        .await
}

pub(crate) async fn add_item(app: &App, owner: i64, list_id: &str, name: &str) -> Result<Item> {
    let now = app.clock.now();
    let name = check_name(name)?;
    let list_id = list_id.to_owned();
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let list = owned_list(c, owner, &list_id)?;
                touch(c, list.id, now)?;
                Ok(diesel::insert_into(bucketlist_items::table)
                    .values((
                        bucketlist_items::public_id.eq(Uuid::new_v4().to_string()),
                        bucketlist_items::bucketlist_id.eq(list.id),
                        bucketlist_items::name.eq(name),
                        bucketlist_items::done.eq(false),
                        bucketlist_items::created_at.eq(now),
                        bucketlist_items::updated_at.eq(now),
                    ))
                    .returning(bucketlist_items::all_columns)
                    .get_result::<Item>(c)?)
            })
        })
        .await
}

#[derive(AsChangeset)]
#[diesel(table_name = bucketlist_items)]
struct ItemUpdate {
    name: Option<String>,
    done: Option<bool>,
    updated_at: PrimitiveDateTime,
}

pub(crate) async fn update_item(
    app: &App,
    owner: i64,
    list_id: &str,
    item_id: &str,
    changes: ItemChanges,
) -> Result<Item> {
    let now = app.clock.now();
    let name = changes.name.as_deref().map(check_name).transpose()?;
    let (list_id, item_id) = (list_id.to_owned(), item_id.to_owned());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let update = ItemUpdate {
                    name,
                    done: changes.done,
                    updated_at: now,
                };
                let item = diesel::update(bucketlist_items::table)
                    .filter(bucketlist_items::public_id.eq(&item_id))
                    .filter(bucketlist_items::bucketlist_id.eq_any(owned_ids!(owner, &list_id)))
                    .set(&update)
                    .returning(bucketlist_items::all_columns)
                    .get_result::<Item>(c)
                    .optional()?
                    .ok_or(Error::NotFound)?;
                touch(c, item.bucketlist_id, now)?;
                Ok(item)
            })
        })
        .await
}

/// Of the items `shown` (the list page's checkboxes), ticks those in `done` and unticks
/// the others; items the page did not show (added or ticked elsewhere since) stay as they
/// are, and only items whose state changes are touched. Returns how many changed.
pub(crate) async fn set_done(
    app: &App,
    owner: i64,
    list_id: &str,
    shown: Vec<String>,
    done: Vec<String>,
) -> Result<usize> {
    let now = app.clock.now();
    let list_id = list_id.to_owned();
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let list = owned_list(c, owner, &list_id)?;
                let items = || {
                    bucketlist_items::table
                        .filter(bucketlist_items::bucketlist_id.eq(list.id))
                        .filter(bucketlist_items::public_id.eq_any(&shown))
                };
                let ticked = diesel::update(
                    items()
                        .filter(bucketlist_items::done.eq(false))
                        .filter(bucketlist_items::public_id.eq_any(&done)),
                )
                .set((
                    bucketlist_items::done.eq(true),
                    bucketlist_items::updated_at.eq(now),
                ))
                .execute(c)?;
                let unticked = diesel::update(
                    items()
                        .filter(bucketlist_items::done.eq(true))
                        .filter(bucketlist_items::public_id.ne_all(&done)),
                )
                .set((
                    bucketlist_items::done.eq(false),
                    bucketlist_items::updated_at.eq(now),
                ))
                .execute(c)?;
                if ticked + unticked > 0 {
                    touch(c, list.id, now)?;
                }
                Ok(ticked + unticked)
            })
        })
        .await
}

pub(crate) async fn delete_item(app: &App, owner: i64, list_id: &str, item_id: &str) -> Result<()> {
    let (list_id, item_id) = (list_id.to_owned(), item_id.to_owned());
    app.db
        .run(move |c| {
            let deleted = diesel::delete(bucketlist_items::table)
                .filter(bucketlist_items::public_id.eq(&item_id))
                .filter(bucketlist_items::bucketlist_id.eq_any(owned_ids!(owner, &list_id)))
                .execute(c)?;
            found(deleted)
        })
        .await
}

fn owned_list(conn: &mut DbConn, owner: i64, id: &str) -> Result<BucketList> {
    bucketlists::table
        .filter(bucketlists::public_id.eq(id))
        .filter(bucketlists::owner_id.eq(owner))
        .select(BucketList::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)
}

fn summarize(conn: &mut DbConn, list: BucketList) -> QueryResult<Summary> {
    let items_count = bucketlist_items::table
        .filter(bucketlist_items::bucketlist_id.eq(list.id))
        .count()
        .get_result(conn)?;
    Ok(Summary { list, items_count })
}

/// A change to an item is a change to its list.
fn touch(conn: &mut DbConn, list_id: i64, now: PrimitiveDateTime) -> QueryResult<()> {
    diesel::update(bucketlists::table.find(list_id))
        .set(bucketlists::updated_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

fn found(rows: usize) -> Result<()> {
    if rows == 0 {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

/// Makes `%`, `_` and `\` in a search match themselves.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

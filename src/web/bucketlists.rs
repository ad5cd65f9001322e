//! `/bucketlists`: the signed-in user's own lists; add, tick, rename and remove items.
//! Deleting a list or an item asks first, on a page of its own.

use rocket::http::CookieJar;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::Serialize;

use crate::app::App;
use crate::bucketlists::{self, ItemChanges, ListQuery};
use crate::error::Error;
use crate::error::FieldErrors;
use crate::web::csrf::{CsrfForm, Token};
use crate::web::failure::Served;
use crate::web::form::{send_back, Refused, Showing, Text};
use crate::web::layout::{page, Confirmation, Layout, Page, Reply};
use crate::web::present::{ItemRow, ListRow};
use crate::web::session::SignedIn;

pub(crate) fn routes() -> Vec<Route> {
    routes![
        index,
        create,
        show,
        rename,
        delete_confirm,
        delete,
        add_item,
        tick_items,
        rename_item,
        delete_item_confirm,
        delete_item,
        to_the_form
    ]
}

/// The paths the list page's forms post to answer a GET with the list's page: a redirect,
/// never a change.
#[get("/bucketlists/<id>/<_..>", rank = 10)]
fn to_the_form(id: &str) -> Redirect {
    Redirect::to(uri!(show(id, _)))
}

#[derive(Serialize)]
struct IndexPage {
    #[serde(flatten)]
    layout: Layout,
    lists: Vec<ListRow>,
    name: String,
    errors: FieldErrors,
}

/// The index of lists, with the new-list form showing `name`.
async fn index_page(app: &App, signed_in: &SignedIn, shown: Showing<'_, Text>) -> Served<Page> {
    let query = ListQuery {
        search: None,
        page: 1,
        per_page: 100,
    };
    let (lists, _) = bucketlists::lists(app, signed_in.0.user.id, query).await?;
    let context = IndexPage {
        layout: Layout::signed_in(&signed_in.0, shown.flash),
        lists: lists.iter().map(ListRow::from).collect(),
        name: shown.values.into(),
        errors: shown.errors,
    };
    Ok(page(shown.status, "bucketlists/index", context))
}

#[get("/bucketlists")]
async fn index(
    app: &State<App>,
    signed_in: SignedIn,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let shown = refused.showing(flash, "new-list", Text::default());
    index_page(app, &signed_in, shown).await
}

#[derive(FromForm)]
struct NameForm {
    name: Text,
}

#[post("/bucketlists", data = "<form>")]
async fn create(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    form: CsrfForm<NameForm>,
) -> Served {
    let name = form.0.name;
    match bucketlists::create(app, signed_in.0.user.id, &name).await {
        Ok(summary) => {
            let message = format!("Created “{}”.", summary.list.name);
            Ok(Reply::done(uri!(show(&summary.list.public_id, _)), message))
        }
        Err(error) => {
            let shown = Showing::again(&error, name)?;
            Ok(send_back(
                jar,
                &app.settings,
                uri!(index),
                "new-list",
                shown,
            ))
        }
    }
}

#[derive(Serialize)]
struct ShowPage {
    #[serde(flatten)]
    layout: Layout,
    id: String,
    name: String,
    items: Vec<ItemRow>,
    done_count: usize,
    /// The add-item form's problems and value.
    errors: FieldErrors,
    new_item: String,
    /// The list-rename form's problems, and an item rename's.
    rename_errors: FieldErrors,
    rename_item_errors: FieldErrors,
    /// Just added an item: the add field takes the focus for the next one.
    adding: bool,
}

/// Which of the list page's forms was refused: adding an item (with what was typed),
/// renaming the list, or renaming an item.
enum ListForm {
    Add(Text),
    Rename,
    RenameItem,
}

impl ListForm {
    /// The name `send_back` and `Refused` know the form by.
    fn name(&self) -> &'static str {
        match self {
            ListForm::Add(_) => "item",
            ListForm::Rename => "rename",
            ListForm::RenameItem => "rename-item",
        }
    }
}

/// A list's page, with one of its forms shown again when it was refused.
async fn show_page(
    app: &App,
    signed_in: &SignedIn,
    id: &str,
    shown: Showing<'_, ListForm>,
    adding: bool,
) -> Served<Page> {
    let (summary, items) = bucketlists::get(app, signed_in.0.user.id, id).await?;
    let (mut errors, mut rename_errors, mut rename_item_errors) = Default::default();
    let mut new_item = String::new();
    match shown.values {
        ListForm::Add(typed) => (errors, new_item) = (shown.errors, typed.into()),
        ListForm::Rename => rename_errors = shown.errors,
        ListForm::RenameItem => rename_item_errors = shown.errors,
    }
    let context = ShowPage {
        layout: Layout::signed_in(&signed_in.0, shown.flash),
        id: summary.list.public_id,
        name: summary.list.name,
        done_count: items.iter().filter(|i| i.done).count(),
        items: items.into_iter().map(ItemRow::from).collect(),
        errors,
        new_item,
        rename_errors,
        rename_item_errors,
        adding,
    };
    Ok(page(shown.status, "bucketlists/show", context))
}

#[get("/bucketlists/<id>?<adding>")]
async fn show(
    app: &State<App>,
    signed_in: SignedIn,
    id: &str,
    adding: Option<bool>,
    refused: Refused,
    flash: Option<FlashMessage<'_>>,
) -> Served<Page> {
    let shown = if refused.is("rename") {
        refused
            .showing(flash, "rename", ())
            .map(|()| ListForm::Rename)
    } else if refused.is("rename-item") {
        let shown = refused.showing(flash, "rename-item", ());
        shown.map(|()| ListForm::RenameItem)
    } else {
        let shown = refused.showing(flash, "item", Text::default());
        shown.map(ListForm::Add)
    };
    show_page(app, &signed_in, id, shown, adding.unwrap_or(false)).await
}

/// Sends a refused name back to the list page, shown beside the form it came from; a
/// problem that is no field's fails the page.
fn problem(jar: &CookieJar<'_>, app: &App, id: &str, error: Error, form: ListForm) -> Served {
    let name = form.name();
    let typed = match form {
        ListForm::Add(typed) => typed,
        _ => Text::default(),
    };
    let shown = Showing::again(&error, typed)?;
    Ok(send_back(
        jar,
        &app.settings,
        uri!(show(id, _)),
        name,
        shown,
    ))
}

/// Back to the list's page, with a message.
fn back(id: &str, message: &str) -> Reply {
    Reply::done(uri!(show(id, _)), message)
}

#[post("/bucketlists/<id>/rename", data = "<form>")]
async fn rename(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    id: &str,
    form: CsrfForm<NameForm>,
) -> Served {
    let name = form.0.name;
    match bucketlists::rename(app, signed_in.0.user.id, id, &name).await {
        Ok(_) => Ok(back(id, "List renamed.")),
        Err(error) => problem(jar, app, id, error, ListForm::Rename),
    }
}

#[get("/bucketlists/<id>/delete")]
async fn delete_confirm(app: &State<App>, signed_in: SignedIn, id: &str) -> Served<Page> {
    let (summary, _) = bucketlists::get(app, signed_in.0.user.id, id).await?;
    let items = match summary.items_count {
        1 => "its 1 item".to_owned(),
        n => format!("its {n} items"),
    };
    Ok(Confirmation {
        layout: Layout::signed_in(&signed_in.0, None),
        question: format!("Delete “{}”?", summary.list.name),
        detail: format!("The list and {items} will be gone. This cannot be undone."),
        action: uri!(delete(id)).to_string(),
        button: "Delete the list".to_owned(),
        cancel: uri!(show(id, _)).to_string(),
    }
    .page())
}

#[post("/bucketlists/<id>/delete", data = "<_form>")]
async fn delete(app: &State<App>, signed_in: SignedIn, id: &str, _form: CsrfForm<Token>) -> Served {
    bucketlists::delete(app, signed_in.0.user.id, id).await?;
    Ok(Reply::done(uri!(index), "List deleted."))
}

#[post("/bucketlists/<id>/items", data = "<form>")]
async fn add_item(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    id: &str,
    form: CsrfForm<NameForm>,
) -> Served {
    let name = form.0.name;
    match bucketlists::add_item(app, signed_in.0.user.id, id, &name).await {
        Ok(_) => Ok(Reply::done(uri!(show(id, Some(true))), "Item added.")),
        Err(error) => problem(jar, app, id, error, ListForm::Add(name)),
    }
}

/// The list's checkboxes: the ids of the items the page showed, and of those ticked
/// (browsers send nothing for a box left empty).
#[derive(FromForm)]
struct TickForm {
    shown: Vec<String>,
    done: Vec<String>,
}

#[post("/bucketlists/<id>/items/done", data = "<form>")]
async fn tick_items(
    app: &State<App>,
    signed_in: SignedIn,
    id: &str,
    form: CsrfForm<TickForm>,
) -> Served {
    let TickForm { shown, done } = form.0;
    let changed = bucketlists::set_done(app, signed_in.0.user.id, id, shown, done).await?;
    let message = match changed {
        0 => "Nothing changed.".to_owned(),
        1 => "1 item updated.".to_owned(),
        n => format!("{n} items updated."),
    };
    Ok(back(id, &message))
}

#[post("/bucketlists/<id>/items/<item>/rename", data = "<form>")]
async fn rename_item(
    app: &State<App>,
    jar: &CookieJar<'_>,
    signed_in: SignedIn,
    id: &str,
    item: &str,
    form: CsrfForm<NameForm>,
) -> Served {
    let changes = ItemChanges {
        name: Some(form.0.name.into()),
        done: None,
    };
    match bucketlists::update_item(app, signed_in.0.user.id, id, item, changes).await {
        Ok(_) => Ok(back(id, "Item renamed.")),
        Err(error) => problem(jar, app, id, error, ListForm::RenameItem),
    }
}

#[get("/bucketlists/<id>/items/<item>/delete")]
async fn delete_item_confirm(
    app: &State<App>,
    signed_in: SignedIn,
    id: &str,
    item: &str,
) -> Served<Page> {
    let (summary, items) = bucketlists::get(app, signed_in.0.user.id, id).await?;
    let found = items.iter().find(|i| i.public_id == item);
    let found = found.ok_or(Error::NotFound)?;
    Ok(Confirmation {
        layout: Layout::signed_in(&signed_in.0, None),
        question: format!("Remove “{}”?", found.name),
        detail: format!("It will be gone from “{}”.", summary.list.name),
        action: uri!(delete_item(id, item)).to_string(),
        button: "Remove the item".to_owned(),
        cancel: uri!(show(id, _)).to_string(),
    }
    .page())
}

#[post("/bucketlists/<id>/items/<item>/delete", data = "<_form>")]
async fn delete_item(
    app: &State<App>,
    signed_in: SignedIn,
    id: &str,
    item: &str,
    _form: CsrfForm<Token>,
) -> Served {
    bucketlists::delete_item(app, signed_in.0.user.id, id, item).await?;
    Ok(back(id, "Item removed."))
}

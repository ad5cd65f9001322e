//! The admin console pages, through the local client acting as the admin's browser.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{Browser, TestApp, Tester, OTHER_PASSWORD, PASSWORD};

/// A console: `root` (the only admin), signed in in a browser.
async fn console() -> (TestApp, Browser, Tester) {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let browser = t.browser();
    browser.login(&root).await;
    (t, browser, root)
}

const GET_ROUTES: [&str; 4] = ["/admin", "/admin/users", "/admin/users/new", "/admin/audit"];

#[rocket::async_test]
async fn anonymous_visitors_go_to_login_and_members_are_refused() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let root = t.admin("root").await;
    let user_routes = [
        format!("/admin/users/{}", root.id),
        format!("/admin/users/{}/delete", root.id),
    ];
    let all: Vec<String> = GET_ROUTES
        .iter()
        .map(|s| s.to_string())
        .chain(user_routes)
        .collect();
    for path in &all {
        let reply = browser.page(path).await;
        assert_eq!(reply.status, Status::SeeOther, "{path}");
        assert!(reply.location().starts_with("/login?next="));
    }
    browser.sign_up("mallory").await;
    for path in &all {
        let reply = browser.page(path).await;
        assert_eq!(reply.status, Status::Forbidden, "{path}");
        assert!(reply.html().contains("This page is for admins."));
    }
    let csrf = browser.page("/").await.csrf();
    let posts = [
        format!("/admin/users/{}", root.id),
        format!("/admin/users/{}/password", root.id),
        format!("/admin/users/{}/delete", root.id),
        "/admin/users/new".to_owned(),
        "/admin/users/bulk".to_owned(),
        "/admin/users/bulk/apply".to_owned(),
    ];
    for path in posts {
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("ids", root.id.as_str()),
            ("action", "delete"),
            ("role", "user"),
        ];
        let reply = browser.submit(&path, &fields).await;
        assert_eq!(reply.status, Status::Forbidden, "{path}");
    }
    assert_eq!(
        root.get("/api/me").await.body["role"],
        "admin",
        "nothing changed"
    );
    let nav = browser.page("/").await;
    assert!(
        !nav.html().contains("href=\"/admin\""),
        "members see no admin link"
    );
}

#[rocket::async_test]
async fn the_dashboard_counts_and_draws_the_last_30_days() {
    let (t, browser, _) = console().await;
    for name in ["ann", "ben"] {
        t.member(name).await;
    }
    let page = browser.page("/admin").await;
    assert_eq!(page.status, Status::Ok);
    let html = page.html();
    // Each figure is a link to the list it counts, not a heading.
    let week = (time::OffsetDateTime::now_utc() - time::Duration::days(7)).date();
    for figure in [
        "<a href=\"/admin/users\"><strong>3</strong> users</a>".to_owned(),
        "<a href=\"/admin/users?role=admin&amp;active=true\"><strong>1</strong> active admins"
            .to_owned(),
        format!("<a href=\"/admin/audit?event=signup&amp;from={week}\"><strong>3</strong>"),
        // root twice (API and browser), ann and ben
        format!("<a href=\"/admin/audit?event=login&amp;from={week}\"><strong>4</strong>"),
    ] {
        assert!(html.contains(&figure), "{figure}: {html}");
    }
    assert!(!html.contains("<h2>3</h2>"));
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    assert_eq!(html.matches("class=\"bar-signups\"").count(), 30);
    assert!(html.contains("3 sign-ups and 4 sign-ins in the last 30 days"));
    assert!(
        html.contains("href=\"/admin\""),
        "admins see the admin link"
    );
}

#[rocket::async_test]
async fn the_user_list_searches_filters_sorts_and_pages() {
    let (t, browser, _) = console().await;
    for i in 0..55 {
        t.register(&format!("member{i:02}")).await;
    }
    let admin = t.sign_in("root", PASSWORD).await;
    let off = t.member("sleeper").await;
    admin
        .call(
            Method::Patch,
            &format!("/api/users/{}", off.id),
            Some(json!({"active": false})),
        )
        .await;
    let first = browser.page("/admin/users").await;
    assert!(first.html().contains("57 users."));
    assert_eq!(
        first.html().matches("name=\"ids\"").count(),
        50,
        "50 to a page"
    );
    assert!(
        first.html().contains("member00@example.com"),
        "admins see emails"
    );
    let second = browser.page("/admin/users?page=2").await;
    assert_eq!(second.html().matches("name=\"ids\"").count(), 7);
    let search = browser.page("/admin/users?q=MEMBER5").await;
    assert!(search.html().contains("5 users."), "member50..54");
    let by_email = browser.page("/admin/users?q=member07%40").await;
    assert!(by_email.html().contains("1 user."));
    let admins = browser.page("/admin/users?role=admin&active=").await;
    assert!(admins.html().contains("1 user.") && admins.html().contains(">root<"));
    let deactivated = browser.page("/admin/users?active=false").await;
    assert!(deactivated.html().contains("1 user.") && deactivated.html().contains("sleeper"));
    let sorted = browser.page("/admin/users?sort=-username").await;
    let html = sorted.html();
    assert!(
        html.find("sleeper").unwrap() < html.find("member54").unwrap(),
        "descending"
    );
    assert!(html.contains("Username ▼"));
    assert!(html.contains("<th scope=\"col\" aria-sort=\"descending\">"));
    let bad = browser.page("/admin/users?sort=password_hash").await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
    let past = browser.page("/admin/users?q=member&page=9").await;
    assert!(
        past.html().contains("Page 2 of 2"),
        "the last page, not page 9"
    );
    assert_eq!(past.html().matches("name=\"ids\"").count(), 5);
    let none = browser.page("/admin/users?q=nobody").await;
    assert!(none.html().contains("No users match these filters."));
    assert!(none.html().contains("Clear filters"));
    assert!(first.html().contains("never"), "no sign-in yet says so");
}

#[rocket::async_test]
async fn bulk_actions_start_blank_select_all_and_come_back_to_the_search() {
    let (t, browser, _) = console().await;
    for name in ["ann", "anna", "bert"] {
        t.register(name).await;
    }
    let search = "/admin/users?q=an&role=&active=&sort=username";
    let list = browser.page(search).await;
    let html = list.html();
    assert!(html.contains("<option value=\"\" selected>Choose an action…</option>"));
    assert!(
        html.find("class=\"bulk-bar\"") < html.find("<table"),
        "the bar is above the table"
    );
    assert_eq!(html.matches(" checked>").count(), 0);
    let all = browser.page(&format!("{search}&select=all")).await;
    assert_eq!(all.html().matches("name=\"ids\"").count(), 2);
    assert_eq!(
        all.html().matches(" checked>").count(),
        2,
        "every box ticked"
    );
    let back = "q=an&role=&active=&sort=username";
    let ids: Vec<String> = all
        .html()
        .split("name=\"ids\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    let blank = browser
        .form(
            "/admin/users/bulk",
            &[("ids", &ids[0]), ("action", ""), ("back", back)],
        )
        .await;
    assert_eq!(blank.location(), format!("/admin/users?{back}"));
    let mut fields = vec![("action", "deactivate"), ("back", back)];
    fields.extend(ids.iter().map(|id| ("ids", id.as_str())));
    let confirm = browser.form("/admin/users/bulk", &fields).await;
    assert_eq!(confirm.status, Status::Ok);
    let done = browser.form("/admin/users/bulk/apply", &fields).await;
    assert_eq!(
        done.location(),
        format!("/admin/users?{back}"),
        "back to the search"
    );
    assert_eq!(t.login("bert", PASSWORD).await.status, Status::Ok);
    assert_eq!(t.login("ann", PASSWORD).await.code(), "account_disabled");
}

#[rocket::async_test]
async fn an_admin_edits_a_user_and_the_change_applies_at_once() {
    let (t, browser, _) = console().await;
    let bob = t.member("bob").await;
    let page = format!("/admin/users/{}", bob.id);
    let shown = browser.page(&page).await;
    assert!(shown.html().contains("value=\"bob@example.com\""));
    let edit = |username: &'static str, email: &'static str, role: &'static str, active: bool| {
        let mut fields = vec![
            ("username", username),
            ("email", email),
            ("name", "Bob B"),
            ("role", role),
        ];
        if active {
            fields.push(("active", "on"));
        }
        fields
    };
    let saved = browser
        .submit_on(
            &page,
            &page,
            &edit("robert", "robert@example.com", "admin", true),
        )
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (Status::SeeOther, page.as_str())
    );
    let stale = bob.get("/api/me").await;
    assert_eq!(
        stale.code(),
        "token_revoked",
        "the role change applies to bob's next request"
    );
    let me = t.sign_in("robert", PASSWORD).await;
    assert_eq!(me.get("/api/me").await.body["role"], "admin");
    let invalid = browser
        .submit_on(&page, &page, &edit("ro bert", "nope", "user", true))
        .await;
    assert_eq!(invalid.status, Status::UnprocessableEntity);
    assert!(
        invalid.html().contains("id=\"username-error\"")
            && invalid.html().contains("id=\"email-error\"")
    );
    assert!(
        invalid.html().contains("value=\"ro bert\""),
        "typed values kept"
    );
    let taken = browser
        .submit_on(
            &page,
            &page,
            &edit("root", "robert@example.com", "user", true),
        )
        .await;
    assert_eq!(taken.status, Status::Conflict);
    let off = browser
        .submit_on(
            &page,
            &page,
            &edit("robert", "robert@example.com", "user", false),
        )
        .await;
    assert_eq!(off.status, Status::SeeOther);
    assert_eq!(
        me.get("/api/me").await.code(),
        "token_revoked",
        "deactivation ends sessions"
    );
    assert_eq!(t.login("robert", PASSWORD).await.code(), "account_disabled");
}

#[rocket::async_test]
async fn an_admin_sets_a_password_and_ends_sessions() {
    let (t, browser, root) = console().await;
    let root_id = root.id.clone();
    let bob = t.member("bob").await;
    let laptop = t.sign_in("bob", PASSWORD).await;
    let page = format!("/admin/users/{}", bob.id);
    let listing = browser.page(&page).await;
    assert_eq!(
        listing.html().matches("/end\"").count(),
        2,
        "both of bob's sessions listed"
    );
    let sid = crate::common::claims_of(&laptop.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = browser
        .submit_on(&page, &format!("{page}/sessions/{sid}/end"), &[])
        .await;
    assert_eq!(ended.status, Status::SeeOther);
    assert_eq!(laptop.get("/api/me").await.code(), "token_revoked");
    assert_eq!(
        bob.get("/api/me").await.status,
        Status::Ok,
        "the other one lives"
    );
    let password = format!("{page}/password");
    let mismatch = browser
        .submit_on(
            &page,
            &password,
            &[
                ("new_password", OTHER_PASSWORD),
                ("new_password_confirm", "x"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, Status::UnprocessableEntity);
    assert!(mismatch
        .html()
        .contains("id=\"new_password_confirm-error\""));
    let weak = browser
        .submit_on(
            &page,
            &password,
            &[
                ("new_password", "bob-is-here-1"),
                ("new_password_confirm", "bob-is-here-1"),
            ],
        )
        .await;
    assert!(weak.html().contains("id=\"new_password-error\""));
    let set = browser
        .submit_on(
            &page,
            &password,
            &[
                ("new_password", OTHER_PASSWORD),
                ("new_password_confirm", OTHER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.status, Status::SeeOther);
    assert_eq!(
        bob.get("/api/me").await.code(),
        "token_revoked",
        "all of bob's sessions end"
    );
    assert_eq!(t.login("bob", OTHER_PASSWORD).await.status, Status::Ok);
    let own = format!("/admin/users/{root_id}");
    let own_form = browser.page(&own).await;
    assert!(
        own_form.html().contains("id=\"current_password\""),
        "admins confirm their own"
    );
}

#[rocket::async_test]
async fn admins_create_users_from_a_page() {
    let (t, browser, _) = console().await;
    let fields = [
        ("username", "carol"),
        ("email", "carol@example.com"),
        ("name", "Carol"),
        ("password", PASSWORD),
        ("role", "admin"),
        ("active", "on"),
    ];
    let created = browser
        .submit_on("/admin/users/new", "/admin/users/new", &fields)
        .await;
    assert_eq!(created.status, Status::SeeOther);
    assert!(created.location().starts_with("/admin/users/"));
    let carol = t.sign_in("carol", PASSWORD).await;
    assert_eq!(carol.get("/api/me").await.body["role"], "admin");
    let again = browser
        .submit_on("/admin/users/new", "/admin/users/new", &fields)
        .await;
    assert_eq!(again.status, Status::Conflict);
    assert!(again.html().contains("is already taken"));
    let bad = [
        ("username", "x"),
        ("email", "x"),
        ("password", "short"),
        ("role", "king"),
    ];
    let refused = browser
        .submit_on("/admin/users/new", "/admin/users/new", &bad)
        .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    for field in ["username", "email", "password"] {
        assert!(
            refused.html().contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
    }
}

#[rocket::async_test]
async fn deletion_asks_first_and_the_last_admin_cannot_go() {
    let (t, browser, root) = console().await;
    let root_id = root.id.clone();
    let bob = t.member("bob").await;
    let confirm = format!("/admin/users/{}/delete", bob.id);
    let asked = browser.page(&confirm).await;
    assert!(asked.html().contains("Delete bob?"));
    assert_eq!(
        bob.get("/api/me").await.status,
        Status::Ok,
        "asking changes nothing"
    );
    let gone = browser.submit_on(&confirm, &confirm, &[]).await;
    assert_eq!(
        (gone.status, gone.location()),
        (Status::SeeOther, "/admin/users")
    );
    assert_eq!(bob.get("/api/me").await.code(), "token_revoked");

    let own = format!("/admin/users/{root_id}");
    let refused = browser
        .submit_on(&format!("{own}/delete"), &format!("{own}/delete"), &[])
        .await;
    assert_eq!(refused.status, Status::Conflict);
    assert!(
        refused.html().contains("last active admin"),
        "the page says why"
    );
    let fields = [
        ("username", "root"),
        ("email", "root@example.com"),
        ("name", ""),
        ("role", "user"),
        ("active", "on"),
    ];
    let demote = browser.submit_on(&own, &own, &fields).await;
    assert_eq!(demote.status, Status::Conflict);
    let html = demote.html();
    assert!(html.contains("Nothing was saved. This is the last active admin"));
    assert!(
        html.contains("<option value=\"admin\" selected>"),
        "the form shows the role as it still is"
    );
    assert!(
        html.contains("aria-describedby=\"role-problem\""),
        "beside the role"
    );
    assert_eq!(
        browser.page("/admin").await.status,
        Status::Ok,
        "still an admin"
    );
}

#[rocket::async_test]
async fn bulk_actions_confirm_first_and_skip_the_last_admin() {
    let (t, browser, root) = console().await;
    let root_id = root.id.clone();
    let ann = t.member("ann").await;
    let ben = t.member("ben").await;
    let ids = [
        ("ids", ann.id.as_str()),
        ("ids", ben.id.as_str()),
        ("ids", root_id.as_str()),
    ];
    let mut fields = ids.to_vec();
    fields.push(("action", "deactivate"));
    let confirm = browser
        .submit_on("/admin/users", "/admin/users/bulk", &fields)
        .await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(confirm.html().contains("Deactivate 3 users?"));
    assert_eq!(
        ann.get("/api/me").await.status,
        Status::Ok,
        "nothing changed yet"
    );
    let applied = browser
        .submit_on("/admin/users", "/admin/users/bulk/apply", &fields)
        .await;
    assert_eq!(applied.status, Status::SeeOther);
    let listing = browser.page("/admin/users").await;
    assert!(
        listing
            .html()
            .contains("Deactivated 2 account(s). Skipped root"),
        "{}",
        listing.html()
    );
    assert!(listing.html().contains("last active admin"));
    assert!(
        listing.html().contains("Changed: ann, ben."),
        "the report names who changed"
    );
    assert_eq!(ann.get("/api/me").await.code(), "token_revoked");
    let mut activate = ids[..2].to_vec();
    activate.push(("action", "activate"));
    browser
        .submit_on("/admin/users", "/admin/users/bulk/apply", &activate)
        .await;
    assert_eq!(t.login("ann", PASSWORD).await.status, Status::Ok);
    let mut delete = ids[..2].to_vec();
    delete.push(("action", "delete"));
    let deleted = browser
        .submit_on("/admin/users", "/admin/users/bulk/apply", &delete)
        .await;
    assert_eq!(deleted.status, Status::SeeOther);
    assert!(browser
        .page("/admin/users")
        .await
        .html()
        .contains("Deleted 2 account(s)."));
    assert_eq!(t.login("ben", PASSWORD).await.status, Status::Unauthorized);
    browser
        .submit_on("/admin/users", "/admin/users/bulk/apply", &delete)
        .await;
    let again = browser.page("/admin/users").await;
    assert!(
        again
            .html()
            .contains("Deleted 0 account(s). 2 no longer existed."),
        "ids that went meanwhile are counted, not silently dropped: {}",
        again.html()
    );
    let none = browser
        .submit_on("/admin/users", "/admin/users/bulk", &[("action", "delete")])
        .await;
    assert_eq!(
        none.status,
        Status::SeeOther,
        "nothing selected: back with a message"
    );
    let forged = browser
        .submit(
            "/admin/users/bulk/apply",
            &[("csrf_token", "x"), ("ids", &root_id), ("action", "delete")],
        )
        .await;
    assert_eq!(forged.status, Status::Forbidden);
}

#[rocket::async_test]
async fn the_audit_log_filters_and_explains_events() {
    let (t, browser, _) = console().await;
    let bob = t.sign_up("bob").await;
    t.login("bob", OTHER_PASSWORD).await;
    let page = format!("/admin/users/{}", bob.id);
    let fields = [
        ("username", "bob"),
        ("email", "bob@example.com"),
        ("name", "Bob"),
        ("role", "admin"),
        ("active", "on"),
    ];
    browser.submit_on(&page, &page, &fields).await;
    let log = browser.page("/admin/audit").await;
    assert_eq!(log.status, Status::Ok);
    let html = log.html();
    for text in [
        "changed name, role",
        "user → admin",
        "wrong password or unknown account",
        "role user",
    ] {
        assert!(html.contains(text), "{text} in\n{html}");
    }
    let failed = browser.page("/admin/audit?event=login_failed").await;
    assert!(failed.html().contains("1 event."));
    let by_name = browser.page("/admin/audit?user=bob").await;
    assert!(
        by_name.html().contains("5 events."),
        "signup, login, login_failed, user_updated, role_changed: {}",
        by_name.html()
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let dated = browser
        .page(&format!("/admin/audit?from={today}&to={today}"))
        .await;
    assert!(!dated.html().contains("0 events."));
    let past = browser
        .page("/admin/audit?from=2020-01-01&to=2020-01-02")
        .await;
    assert!(past.html().contains("No events match these filters."));
    let bad = browser.page("/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
    assert!(
        bad.html().contains("id=\"from-error\""),
        "the form again, the problem beside"
    );
    assert!(bad.html().contains("value=\"yesterday\""));
    let backwards = browser
        .page("/admin/audit?from=2026-02-02&to=2026-02-01")
        .await;
    assert_eq!(backwards.status, Status::UnprocessableEntity);
    assert!(backwards.html().contains("To must not be before from."));
    for words in ["Signed up", "Sign-in failed", "Role changed"] {
        assert!(html.contains(words), "{words}: event names in words");
    }
}

#[rocket::async_test]
async fn a_deleted_users_events_keep_their_name_and_one_reset_is_one_event() {
    let (t, browser, root) = console().await;
    let bob = t.sign_up("bob").await;
    let reset = json!({"password": OTHER_PASSWORD});
    root.patch(&format!("/api/users/{}", bob.id), reset).await;
    let resets = browser.page(&format!("/admin/audit?user={}", bob.id)).await;
    assert_eq!(
        resets.html().matches("<td>Password changed</td>").count(),
        1
    );
    assert!(
        !resets.html().contains("<td>Account changed</td>"),
        "one reset, one event"
    );
    root.delete(&format!("/api/users/{}", bob.id)).await;
    let log = browser.page("/admin/audit?user=bob").await;
    let html = log.html();
    assert!(
        html.contains("4 events."),
        "signup, login, reset, deletion: {html}"
    );
    assert!(html.contains("bob (deleted)"));
}

#[rocket::async_test]
async fn a_demoted_admin_loses_the_console_on_the_next_page() {
    let (t, _, _) = console().await;
    let admin = t.sign_in("root", PASSWORD).await;
    let deputy = t.admin("deputy").await;
    // The deputy's browser talks to another instance, behind the same load balancer.
    let second = t.another_instance().await.browser();
    second.login(&deputy).await;
    assert_eq!(second.page("/admin").await.status, Status::Ok);
    let path = format!("/api/users/{}", deputy.id);
    admin.patch(&path, json!({"role": "user"})).await;
    assert_eq!(
        second.page("/admin").await.status,
        Status::Forbidden,
        "renewed as a member"
    );
}

#[rocket::async_test]
async fn an_edit_through_another_spelling_of_the_id_returns_to_the_user_page() {
    let (t, browser, _) = console().await;
    let bob = t.member("bob").await;
    let braced = format!("/admin/users/%7B{}%7D", bob.id);
    let fields = [
        ("username", "bob"),
        ("email", "bob@example.com"),
        ("name", "Bobby"),
        ("role", "user"),
        ("active", "on"),
    ];
    let saved = browser
        .submit_on(&format!("/admin/users/{}", bob.id), &braced, &fields)
        .await;
    // This saved, then answered 500 building the redirect from the braced id.
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.html());
    assert_eq!(saved.location(), format!("/admin/users/{}", bob.id));
}

#[rocket::async_test]
async fn an_admin_long_signed_in_confirms_their_own_email_change_and_cannot_delete_themselves() {
    let (t, browser, root) = console().await;
    t.advance(time::Duration::minutes(11));
    let own = format!("/admin/users/{}", root.id);
    let fields = |current| {
        [
            ("username", "root"),
            ("email", "boss@example.com"),
            ("name", ""),
            ("role", "admin"),
            ("active", "on"),
            ("current_password", current),
        ]
    };
    let asked = browser.submit_on(&own, &own, &fields("")).await;
    assert_eq!(asked.status, Status::UnprocessableEntity);
    assert!(asked
        .html()
        .contains("id=\"account_current_password-error\""));
    let saved = browser.form(&own, &fields(PASSWORD)).await;
    assert_eq!(saved.status, Status::SeeOther);
    let delete = format!("{own}/delete");
    let refused = browser.submit_on(&delete, &delete, &[]).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert!(refused.html().contains("needs a recent sign-in"));
}

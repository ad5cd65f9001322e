//! What every page shares: the landing page and forms, the login redirect for protected
//! pages, escaping, and the security headers.

use rocket::http::Status;

use crate::common::{TestApp, PASSWORD};

#[rocket::async_test]
async fn anonymous_visitors_see_the_landing_page_and_the_forms() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let landing = browser.page("/").await;
    assert_eq!(landing.status, Status::Ok);
    assert!(landing.html().contains("href=\"/signup\""));
    for path in ["/signup", "/login"] {
        let page = browser.page(path).await;
        assert_eq!(page.status, Status::Ok, "{path}");
        assert!(!page.csrf().is_empty(), "{path} carries a CSRF token");
        assert!(
            page.html().contains("<label for=\"username\""),
            "{path} labels its inputs"
        );
        assert!(page.html().contains("/static/pico.min.css"));
    }
    let css = browser.page("/static/pico.min.css").await;
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert!(css.header("Cache-Control").unwrap().contains("max-age"));
}

#[rocket::async_test]
async fn protected_pages_send_anonymous_visitors_to_login_and_back() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let api_user = t.member("bob").await;
    for path in [
        "/users",
        "/users?q=b&page=1",
        "/account",
        &format!("/users/{}", api_user.id),
    ] {
        let reply = browser.page(path).await;
        assert_eq!(reply.status, Status::SeeOther, "{path}");
        let to = reply.location();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
        let next = to.trim_start_matches("/login?next=");
        let decoded: String = form_urlencoded::parse(format!("next={next}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        assert_eq!(decoded, path);
    }
    let reply = browser
        .submit_on(
            "/login?next=%2Fusers",
            "/login",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (Status::SeeOther, "/users")
    );
    assert_eq!(browser.page("/users").await.status, Status::Ok);
}

#[rocket::async_test]
async fn pages_carry_the_security_headers() {
    let t = TestApp::new().await;
    let browser = t.browser();
    for path in ["/", "/login", "/nowhere"] {
        let page = browser.page(path).await;
        let csp = page.header("Content-Security-Policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(page.header("Referrer-Policy").is_some());
        assert!(
            !page.html().contains("<script"),
            "{path}: pages need no JavaScript"
        );
    }
}

#[rocket::async_test]
async fn names_are_escaped_everywhere() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let account = browser.page("/account").await;
    let evil = "<script>alert(1)</script>{{ 7*7 }}";
    let reply = browser
        .submit(
            "/account/profile",
            &[
                ("csrf_token", &account.csrf()),
                ("username", "alice"),
                ("email", "alice@example.com"),
                ("name", evil),
            ],
        )
        .await;
    assert_eq!(reply.status, Status::SeeOther);
    for path in ["/", "/users", "/account"] {
        let html = browser.page(path).await.body.as_str().unwrap().to_owned();
        assert!(!html.contains("<script>"), "{path}");
        assert!(
            html.contains("{{ 7*7 }}"),
            "{path}: shown as typed, never evaluated"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "{path} shows the name, escaped"
        );
    }
}

/// The header's account link, named by its text alone (no contradicting aria-label).
const SIGNED_IN_AS_ROOT: &str = "<a href=\"/account\">root</a>";

#[rocket::async_test]
async fn the_header_always_shows_who_is_signed_in() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let mem = t.member("mem").await;
    let browser = t.browser();
    browser.login(&root).await;
    // The admin's page about another user showed that user in the header ("Your account
    // (mem)") and dropped the Admin link: the page's `user` shadowed the signed-in one.
    for path in [
        format!("/admin/users/{}", mem.id),
        format!("/admin/users/{}/delete", mem.id),
    ] {
        let page = browser.page(&path).await;
        assert!(page.html().contains(SIGNED_IN_AS_ROOT), "{path}");
        assert!(page.html().contains("href=\"/admin\""), "{path}");
    }
    // Error pages looked signed out ("Log in / Sign up").
    let missing = browser.page("/no-such-page").await;
    assert_eq!(missing.status, Status::NotFound);
    assert!(missing.html().contains(SIGNED_IN_AS_ROOT));
    assert!(!missing.html().contains("href=\"/signup\""));
    let anonymous = t.browser().page("/no-such-page").await;
    assert!(anonymous.html().contains("href=\"/signup\""));
}

#[rocket::async_test]
async fn every_form_target_answers_get_with_its_page_and_changes_nothing() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let mem = t.member("mem").await;
    let browser = t.browser();
    browser.login(&root).await;
    let list = root
        .post("/api/bucketlists", serde_json::json!({"name": "L"}))
        .await;
    let list = list.body["id"].as_str().unwrap().to_owned();
    let user = format!("/admin/users/{}", mem.id);
    let lists = format!("/bucketlists/{list}");
    // 15 of 18 of these answered 404: "Confirm Form Resubmission" on Back, a dead bookmark.
    let cases = [
        ("/account/profile", "/account".to_owned()),
        ("/account/password", "/account".to_owned()),
        ("/account/sessions/x/end", "/account".to_owned()),
        ("/admin/users/bulk", "/admin/users".to_owned()),
        ("/admin/users/bulk/apply", "/admin/users".to_owned()),
        (&format!("{user}/password"), user.clone()),
        (&format!("{user}/unlock"), user.clone()),
        (&format!("{user}/sessions/x/end"), user.clone()),
        (&format!("{lists}/rename"), lists.clone()),
        (&format!("{lists}/items"), lists.clone()),
        (&format!("{lists}/items/done"), lists.clone()),
        (&format!("{lists}/items/x/rename"), lists.clone()),
    ];
    for (path, page) in &cases {
        let reply = browser.page(path).await;
        assert_eq!(
            (reply.status, reply.location()),
            (Status::SeeOther, page.as_str()),
            "{path}"
        );
    }
    // Destructive ones ask first, on a page whose button posts.
    for (path, action) in [
        ("/account/logout-all", "/account/logout-all".to_owned()),
        (&format!("{lists}/delete"), format!("{lists}/delete")),
    ] {
        let confirm = browser.page(path).await;
        assert_eq!(confirm.status, Status::Ok, "{path}");
        let escaped = action.replace('/', "&#x2F;");
        let form = format!("<form method=\"post\" action=\"{escaped}\"");
        assert!(confirm.html().contains(&form), "{path}");
        assert!(confirm.html().contains("class=\"danger\""), "{path}");
    }
    let no_item = browser.page(&format!("{lists}/items/x/delete")).await;
    assert_eq!(no_item.status, Status::NotFound);
    let sign_out = browser.page("/logout").await;
    assert_eq!(sign_out.status, Status::Ok);
    assert!(sign_out.html().contains("action=\"/logout\""));
    assert_eq!(
        browser.page("/account").await.status,
        Status::Ok,
        "still signed in"
    );
    assert_eq!(
        root.get(&format!("/api/bucketlists/{list}")).await.status,
        Status::Ok
    );
    let anonymous = t.browser().page("/logout").await;
    assert_eq!(
        (anonymous.status, anonymous.location()),
        (Status::SeeOther, "/")
    );
}

#[rocket::async_test]
async fn one_vocabulary_and_the_password_rules_wherever_a_password_is_chosen() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let anonymous = t.browser();
    for path in ["/", "/login", "/signup"] {
        let html = anonymous.page(path).await.html().to_owned();
        assert!(
            !html.contains("Log in") && !html.contains("Log out"),
            "{path}"
        );
    }
    let signup = anonymous.page("/signup").await;
    assert!(signup.html().contains("At least 12 characters"));
    let browser = t.browser();
    browser.login(&root).await;
    for path in [
        "/",
        "/account",
        "/admin/users/new",
        &format!("/admin/users/{}", root.id),
    ] {
        let html = browser.page(path).await.html().to_owned();
        assert!(
            !html.contains("Log in") && !html.contains("Log out"),
            "{path}"
        );
        if path != "/" {
            assert!(html.contains("At least 12 characters"), "{path}");
        }
    }
    let home = browser.page("/").await;
    assert!(
        home.html().contains("Open the admin console"),
        "an admin's home"
    );
    let own = browser.page(&format!("/admin/users/{}", root.id)).await;
    assert!(own.html().contains("Your other sessions end."));
}

#[rocket::async_test]
async fn the_navigation_marks_where_you_are() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let browser = t.browser();
    browser.login(&root).await;
    let account = browser.page("/account").await;
    assert!(account
        .html()
        .contains("<a href=\"/account\" aria-current=\"page\">root</a>"));
    assert!(account
        .html()
        .contains("<a class=\"skip-link\" href=\"#content\">"));
    assert!(account
        .html()
        .contains("<main class=\"container\" id=\"content\""));
    let user = browser.page(&format!("/admin/users/{}", root.id)).await;
    let html = user.html();
    assert!(html.contains("<a href=\"/admin\" aria-current=\"true\">Admin</a>"));
    assert!(html.contains("<nav aria-label=\"Breadcrumb\""));
    assert!(html.contains("<li><span aria-current=\"page\">root</span></li>"));
    let users = browser.page("/admin/users").await;
    assert!(users
        .html()
        .contains("<a href=\"/admin/users\" aria-current=\"page\">Users</a>"));
}

#[rocket::async_test]
async fn a_refused_form_goes_back_to_its_page_so_back_and_reload_never_post_again() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let csrf = browser.page("/account").await.csrf();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("username", "alice"),
        ("email", "secret-typo@@example.com"),
        ("name", ""),
    ];
    let refused = browser.submit_unfollowed("/account/profile", &fields).await;
    assert_eq!(
        (refused.status, refused.location()),
        (Status::SeeOther, "/account"),
        "answered by a redirect to the form's page"
    );
    let held = refused
        .set_cookie("refused_form")
        .expect("the form is held");
    assert!(!held.contains("secret-typo"), "encrypted: {held}");
    let shown = browser.page("/account").await;
    assert_eq!(shown.status, Status::UnprocessableEntity);
    assert!(shown.html().contains("id=\"email-error\""));
    assert!(shown.html().contains("value=\"secret-typo@@example.com\""));
    let reloaded = browser.page("/account").await;
    assert_eq!(reloaded.status, Status::Ok, "shown once");
    assert!(!reloaded.html().contains("id=\"email-error\""));
}

#[rocket::async_test]
async fn a_refused_form_too_big_to_carry_still_shows_its_problems() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let novel = "long ".repeat(1000);
    let fields = [
        ("username", "alice"),
        ("email", "alice@example.com"),
        ("name", novel.as_str()),
    ];
    let shown = browser
        .submit_on("/account", "/account/profile", &fields)
        .await;
    assert_eq!(shown.status, Status::UnprocessableEntity);
    assert!(shown.html().contains("id=\"name-error\""));
    assert!(!shown.html().contains(&novel), "the values stayed behind");
}

#[rocket::async_test]
async fn a_refused_form_puts_the_focus_on_its_first_field_with_a_problem() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let fields = [
        ("username", "ok_name"),
        ("email", "not an address"),
        ("name", ""),
        ("password", "short"),
        ("password_confirm", "short"),
    ];
    let page = browser.submit_on("/signup", "/signup", &fields).await;
    let html = page.html();
    assert_eq!(html.matches(" autofocus").count(), 1, "one focus: {html}");
    let email = html.split("id=\"email\"").nth(1).unwrap_or_default();
    let tag_end = email.find('>').unwrap_or_default();
    assert!(
        email[..tag_end].contains("autofocus"),
        "email, the first with a problem"
    );
    assert!(
        html.contains("class=\"error-summary\" role=\"alert\""),
        "still announced"
    );
}

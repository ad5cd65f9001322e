//! Forward auth (API.md §10): `/auth/verify` as a reverse proxy calls it, `next` targets on
//! other hosts, and session cookies shared with sibling apps (`cookie_domain`). The same
//! behind a real nginx is in `browser::nginx_puts_the_login_in_front_of_an_app`.

use std::net::SocketAddr;

use rocket::http::{Cookie, Header, Method, Status};
use rocket::local::asynchronous::LocalRequest;
use serde_json::json;

use crate::common::{send, Reply, TestApp, PASSWORD};

const PROXY: &str = "127.0.0.1:40000";
const STRANGER: &str = "10.9.8.7:40000";
const APP_URL: &str = "https://app.example.com/reports?year=2026&page=2";

/// A Gatehouse at `https://auth.example.com` behind a proxy on 127.0.0.1, in front of
/// `app.example.com`.
async fn behind_a_proxy() -> TestApp {
    TestApp::with(|f| {
        f.merge(("public_url", "https://auth.example.com"))
            .merge(("trusted_proxies", "127.0.0.1/32, ::1"))
            .merge(("forward_auth_domains", vec!["app.example.com"]))
    })
    .await
}

fn verify<'c>(t: &'c TestApp, method: Method, path: &str, from: &str) -> LocalRequest<'c> {
    let peer: SocketAddr = from.parse().unwrap();
    t.client.req(method, path.to_owned()).remote(peer)
}

fn with<'c>(mut request: LocalRequest<'c>, headers: &[(&'static str, &str)]) -> LocalRequest<'c> {
    for (name, value) in headers {
        request.add_header(Header::new(*name, value.to_string()));
    }
    request
}

async fn verified(t: &TestApp, path: &str, headers: &[(&'static str, &str)]) -> Reply {
    send(with(verify(t, Method::Get, path, PROXY), headers)).await
}

#[rocket::async_test]
async fn a_live_session_or_token_gets_identity_headers() {
    let t = behind_a_proxy().await;
    let alice = t.member("alice").await;
    let ok = verified(&t, "/auth/verify", &[("x-access-token", &alice.access)]).await;
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.header("X-Auth-User"), Some("alice"));
    assert_eq!(ok.header("X-Auth-User-Id"), Some(alice.id.as_str()));
    assert_eq!(ok.header("X-Auth-Email"), Some("alice@example.com"));
    assert_eq!(ok.header("X-Auth-Role"), Some("user"));
    assert_eq!(ok.header("Cache-Control"), Some("no-store"));
    let head = verify(&t, Method::Head, "/auth/verify", PROXY);
    let head = with(
        head,
        &[("Authorization", &format!("Bearer {}", alice.access))],
    );
    assert_eq!(send(head).await.status, Status::Ok);

    let made = alice
        .post("/api/me/tokens", json!({"name": "ci", "scope": "read"}))
        .await;
    let token = made.body["token"].as_str().unwrap();
    let bearer = format!("Bearer {token}");
    let reading = [
        ("Authorization", bearer.as_str()),
        ("X-Forwarded-Method", "GET"),
    ];
    let ok = verified(&t, "/auth/verify", &reading).await;
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.header("X-Auth-User"), Some("alice"));
    // Proxies ask by GET whatever the request was: a read token passes only when a trusted
    // proxy says the request reads.
    for method in ["POST", "PROPFIND", "MKCOL", ""] {
        let asked = [
            ("Authorization", bearer.as_str()),
            ("X-Forwarded-Method", method),
        ];
        let refused = verified(&t, "/auth/verify", &asked).await;
        assert_eq!(refused.status, Status::Forbidden, "{method:?}");
    }
    let unsaid = verified(&t, "/auth/verify", &[("Authorization", &bearer)]).await;
    assert_eq!(
        unsaid.status,
        Status::Forbidden,
        "no X-Forwarded-Method: it may write"
    );
    let claimed = with(verify(&t, Method::Get, "/auth/verify", STRANGER), &reading);
    let claimed = send(claimed).await;
    assert_eq!(
        claimed.status,
        Status::Forbidden,
        "a stranger's X-Forwarded-Method"
    );

    let browser = t.browser();
    browser.login(&alice).await;
    let cookie = browser.cookie("access_token").unwrap();
    let request = verify(&t, Method::Post, "/auth/verify", PROXY);
    let by_cookie = send(request.cookie(Cookie::new("access_token", cookie))).await;
    assert_eq!(
        by_cookie.status,
        Status::Ok,
        "no CSRF token: verifying changes nothing"
    );
}

#[rocket::async_test]
async fn role_admin_demands_an_admin() {
    let t = behind_a_proxy().await;
    let root = t.admin("root").await;
    let alice = t.member("alice").await;
    let path = "/auth/verify?role=admin";
    let member = verified(&t, path, &[("x-access-token", &alice.access)]).await;
    assert_eq!(member.status, Status::Forbidden);
    assert_eq!(member.header("X-Auth-User"), None);
    let admin = verified(&t, path, &[("x-access-token", &root.access)]).await;
    assert_eq!(admin.status, Status::Ok);
    assert_eq!(admin.header("X-Auth-Role"), Some("admin"));
    let odd = verified(
        &t,
        "/auth/verify?role=owner",
        &[("x-access-token", &root.access)],
    )
    .await;
    assert_eq!(odd.status, Status::BadRequest);
}

#[rocket::async_test]
async fn strangers_are_sent_to_log_in_only_when_a_trusted_proxy_names_the_url() {
    let t = behind_a_proxy().await;
    let html = ("Accept", "text/html,application/xhtml+xml");
    let login = format!(
        "https://auth.example.com/login?next={}",
        "https%3A%2F%2Fapp.example.com%2Freports%3Fyear%3D2026%26page%3D2"
    );
    let browser = verified(&t, "/auth/verify", &[html, ("X-Original-URL", APP_URL)]).await;
    assert_eq!(browser.status, Status::Found);
    assert_eq!(browser.location(), login);
    let forwarded = [
        html,
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "app.example.com"),
        ("X-Forwarded-Uri", "/reports?year=2026&page=2"),
    ];
    let traefik = verified(&t, "/auth/verify", &forwarded).await;
    assert_eq!(traefik.location(), login, "the X-Forwarded-* form");
    let mut both = forwarded.to_vec();
    both.push((
        "X-Original-URL",
        "https://app.example.com/chosen-by-the-client",
    ));
    let preferred = verified(&t, "/auth/verify", &both).await;
    assert_eq!(preferred.location(), login, "what the proxy set wins");
    let program = verified(&t, "/auth/verify", &[("X-Original-URL", APP_URL)]).await;
    assert_eq!(program.status, Status::Unauthorized, "not a browser");
    assert_eq!(program.header("X-Auth-Login"), Some(login.as_str()));
    let unnamed = verified(&t, "/auth/verify", &[html]).await;
    assert_eq!(
        unnamed.status,
        Status::Unauthorized,
        "no URL to come back to"
    );

    let spoofed = with(
        verify(&t, Method::Get, "/auth/verify", STRANGER),
        &[html, ("X-Original-URL", "https://evil.example/")],
    );
    let spoofed = send(spoofed).await;
    assert_eq!(
        spoofed.status,
        Status::Unauthorized,
        "X-Original-URL from a stranger"
    );
    assert_eq!(spoofed.header("Location"), None);
    assert_eq!(spoofed.header("X-Auth-Login"), None);
    let spoofed = with(
        verify(&t, Method::Get, "/auth/verify", STRANGER),
        &forwarded,
    );
    assert_eq!(send(spoofed).await.header("Location"), None);
}

#[rocket::async_test]
async fn a_session_ended_in_gatehouse_is_refused_on_the_next_check() {
    let t = behind_a_proxy().await;
    let alice = t.member("alice").await;
    let header = [("x-access-token", alice.access.as_str())];
    assert_eq!(
        verified(&t, "/auth/verify", &header).await.status,
        Status::Ok
    );
    assert_eq!(
        alice.post("/api/logout", json!({})).await.status,
        Status::NoContent
    );
    assert_eq!(
        verified(&t, "/auth/verify", &header).await.status,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn login_goes_back_only_to_this_site_and_the_listed_apps() {
    let t = behind_a_proxy().await;
    t.member("alice").await;
    let login = t.browser().page("/login").await;
    let csp = login.header("Content-Security-Policy").unwrap();
    assert!(
        csp.ends_with("form-action 'self' auth.example.com:* app.example.com:*"),
        "the login form's redirect may reach the apps: {csp}"
    );
    for (next, lands) in [
        (APP_URL, APP_URL),
        (
            "https://auth.example.com:8443/account",
            "https://auth.example.com:8443/account",
        ),
        ("http://APP.example.com/", "http://app.example.com/"),
        ("https://evil.example/", "/"),
        ("https://app.example.com.evil.example/", "/"),
        ("https://me@app.example.com/", "/"),
        ("javascript://app.example.com/%0aalert(1)", "/"),
        ("/account", "/account"),
    ] {
        let browser = t.browser();
        let page = format!("/login?next={}", urlencoded(next));
        let fields = [
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", next),
        ];
        let reply = browser.submit_on(&page, "/login", &fields).await;
        assert_eq!(reply.status, Status::SeeOther, "{next}");
        assert_eq!(reply.location(), lands, "{next}");
        let again = browser.page(&page).await;
        assert_eq!(again.location(), lands, "already signed in: {next}");
    }
}

fn urlencoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[rocket::async_test]
async fn cookie_domain_shares_secure_session_cookies_with_sibling_apps() {
    let t = TestApp::with(|f| {
        f.merge(("cookie_domain", "example.com"))
            .merge(("cookie_secure", true))
    })
    .await;
    let alice = t.member("alice").await;
    let browser = t.browser();
    let signed_in = browser.login(&alice).await;
    let access = signed_in
        .set_cookie("__Secure-access_token")
        .expect("the access cookie");
    assert!(access.contains("Domain=example.com"), "{access}");
    assert!(
        access.contains("Secure") && access.contains("HttpOnly"),
        "{access}"
    );
    assert!(signed_in.set_cookie("__Host-access_token").is_none());
    // The 14-day credential stays on this host: the apps see 15-minute tokens only.
    let refresh = signed_in
        .set_cookie("__Host-refresh_token")
        .expect("the refresh cookie");
    assert!(!refresh.contains("Domain="), "{refresh}");
    let access = browser.cookie("__Secure-access_token").unwrap();
    let request = verify(&t, Method::Get, "/auth/verify", PROXY);
    let ok = send(request.cookie(Cookie::new("__Secure-access_token", access))).await;
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(browser.page("/account").await.status, Status::Ok);
    let out = browser.form("/logout", &[]).await;
    assert!(out
        .set_cookie("__Secure-access_token")
        .is_some_and(|c| c.contains("Domain=example.com")));
    assert!(out.set_cookie("__Host-refresh_token").is_some());
}

//! The OpenAPI description (API.md §10): every mounted `/api` route is in it and nothing
//! else, each with its error answers and, where a token is needed, the token headers.

use std::collections::BTreeSet;

use rocket::http::Status;

use crate::common::TestApp;

/// `/api/users/<id>` as OpenAPI writes it: `/api/users/{id}`.
fn templated(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('<') {
            Some(name) => format!("{{{}}}", name.trim_end_matches('>').trim_end_matches("..")),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[rocket::async_test]
async fn every_mounted_api_route_is_described_and_nothing_else() {
    let t = TestApp::new().await;
    let reply = t.client.get("/api/openapi.json").dispatch().await;
    assert_eq!(reply.status(), Status::Ok);
    let document: serde_json::Value = reply.into_json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let mounted: BTreeSet<(String, String)> = t
        .client
        .rocket()
        .routes()
        .filter(|route| route.uri.path().starts_with("/api/"))
        .map(|route| {
            let method = route.method.as_str().to_ascii_lowercase();
            (templated(route.uri.path()), method)
        })
        .collect();
    let paths = document["paths"].as_object().expect("paths");
    let described: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, operations)| {
            let methods = operations.as_object().expect("operations").keys();
            methods.map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    let missing: Vec<_> = mounted.difference(&described).collect();
    assert!(missing.is_empty(), "mounted but not described: {missing:?}");
    let extra: Vec<_> = described.difference(&mounted).collect();
    assert!(extra.is_empty(), "described but not mounted: {extra:?}");
    assert!(mounted.len() >= 40, "{}", mounted.len());

    let public = [
        "/api/register",
        "/api/login",
        "/api/login/mfa",
        "/api/token/refresh",
        "/api/password/forgot",
        "/api/password/reset",
        "/api/email/verify",
        "/api/openapi.json",
    ];
    for (path, method) in &described {
        let operation = &document["paths"][path][method];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{method} {path}"
        );
        for range in ["4XX", "5XX"] {
            let schema = &responses[range]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path}");
        }
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| s.len() == 2);
        assert_eq!(secured, !public.contains(&path.as_str()), "{method} {path}");
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["access_token"]["name"], "x-access-token");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
}

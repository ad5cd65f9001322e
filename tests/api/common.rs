//! `TestApp`: the real application on a fresh database per test, with ready-made accounts.
//!
//! The backend comes from `TEST_DATABASE_URL`: unset, each test gets a SQLite file in its own
//! temporary directory; `postgres://…`, each test gets its own database on that server, dropped
//! when the test ends, so tests still run in parallel.

use std::sync::Arc;

use diesel::{Connection, PgConnection, RunQueryDsl};
use gatehouse::accounts::{self, NewAccount, Origin};
use gatehouse::audit::Source;
use gatehouse::db::DbConn;
use gatehouse::secrets::KeyRing;
use gatehouse::App;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A password zxcvbn rates strong and that contains no test username.
pub const PASSWORD: &str = "Tq9#vLm2!xRw8pZe";
pub const OTHER_PASSWORD: &str = "Gv7$kPz4@nWq2mYd";

pub struct TestApp {
    pub client: Client,
    pub dir: Arc<TempDir>,
    /// The settings this instance started from, to start siblings on the same database.
    figment: Figment,
    pub database: Option<Arc<PgDatabase>>,
}

/// A signed-in account.
#[derive(Clone, Debug)]
pub struct Tester {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

/// An instance listening on a real port; it shuts down when dropped.
pub struct Server {
    pub base: String,
    shutdown: rocket::Shutdown,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: Status,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The error code of an API error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of a repeated header (`Set-Cookie`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body of an HTML page.
    pub fn html(&self) -> &str {
        self.body.as_str().unwrap_or("")
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let html = self.html();
        let start = html
            .find(marker)
            .map(|i| i + marker.len())
            .expect("a form with a token");
        html[start..].split('"').next().unwrap_or("").to_owned()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|figment| figment).await
    }

    /// An app with settings changed by `configure`.
    pub async fn with(configure: impl FnOnce(Figment) -> Figment) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, database) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                let database = PgDatabase::create(&url);
                (database.url.clone(), Some(database))
            }
            _ => (format!("sqlite://{}/test.db", dir.path().display()), None),
        };
        let figment = gatehouse::figment()
            .merge(("data_dir", dir.path()))
            .merge(("database_url", url))
            .merge(("bcrypt_cost", 4))
            // Tests sign up many accounts from one address; the throttle tests set their own.
            .merge(("signups_per_hour", 100_000))
            .merge(("log_level", "off"));
        Self::start(configure(figment), Arc::new(dir), database.map(Arc::new)).await
    }

    async fn start(figment: Figment, dir: Arc<TempDir>, database: Option<Arc<PgDatabase>>) -> Self {
        let rocket = gatehouse::rocket(figment.clone()).expect("the app starts");
        let client = Client::tracked(rocket).await.expect("valid rocket");
        TestApp {
            client,
            dir,
            figment,
            database,
        }
    }

    /// Another instance on the same database, served over real TCP on a free loopback port
    /// (for the browser), until the returned `Server` is dropped.
    pub async fn serve(&self) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let figment = self.figment.clone().merge(("port", port));
        let rocket = gatehouse::rocket(figment).expect("the app starts");
        let rocket = rocket.ignite().await.expect("the app ignites");
        let shutdown = rocket.shutdown();
        rocket::tokio::spawn(rocket.launch());
        for _ in 0..100 {
            if rocket::tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Server {
            base: format!("http://127.0.0.1:{port}"),
            shutdown,
        }
    }

    /// A second instance on the same database and data directory, as behind a load balancer:
    /// it shares nothing with this one in memory.
    pub async fn another_instance(&self) -> TestApp {
        Self::start(
            self.figment.clone(),
            self.dir.clone(),
            self.database.clone(),
        )
        .await
    }

    /// Runs a query on this instance's database, for what the API cannot do (ageing a
    /// session, planting an old hash).
    pub async fn db<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T> + Send + 'static,
    ) -> T {
        self.app().db.run(query).await.expect("the query runs")
    }

    /// The database this app uses, for running the command line against it.
    pub fn database_url(&self) -> String {
        self.figment
            .extract_inner::<String>("database_url")
            .expect("a database_url")
    }

    /// The generated signing keys, from wherever this backend keeps them.
    pub async fn key_ring(&self) -> KeyRing {
        let file = self.dir.path().join("jwt_keys.json");
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(_) => {
                self.db(|c| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::app_secrets;
                    app_secrets::table
                        .find("jwt_keys")
                        .select(app_secrets::value)
                        .first::<String>(c)
                })
                .await
            }
        };
        serde_json::from_str(&text).expect("a valid key ring")
    }

    pub fn app(&self) -> &App {
        self.client.rocket().state::<App>().expect("App is managed")
    }

    /// Sends a request; `token` goes in `x-access-token`, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.req(method, path.to_owned());
        if let Some(token) = token {
            request.add_header(Header::new("x-access-token", token.to_owned()));
        }
        if let Some(body) = body {
            request.add_header(ContentType::JSON);
            request.set_body(body.to_string());
        }
        send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::Get, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::Post, path, None, Some(body)).await
    }

    /// Submits a form as a browser would (urlencoded, cookies from earlier answers).
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        send(
            self.client
                .post(path.to_owned())
                .header(ContentType::Form)
                .body(body),
        )
        .await
    }

    /// Loads a page with the cookies this client holds.
    pub async fn page(&self, path: &str) -> Reply {
        send(self.client.get(path.to_owned())).await
    }

    /// Signs up through the page, which signs the browser in.
    pub async fn sign_up_in_browser(&self, username: &str) -> Reply {
        let form = self.page("/signup").await;
        let email = format!("{username}@example.com");
        let fields = [
            ("csrf_token", form.csrf()),
            ("username", username.to_owned()),
            ("email", email),
            ("name", String::new()),
            ("password", PASSWORD.to_owned()),
            ("password_confirm", PASSWORD.to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = self.submit("/signup", &fields).await;
        assert_eq!(reply.status, Status::SeeOther, "{}", reply.html());
        reply
    }

    pub async fn register(&self, username: &str) -> Reply {
        let email = format!("{username}@example.com");
        let body = json!({"username": username, "email": email, "password": PASSWORD});
        self.post("/api/register", body).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password});
        self.post("/api/login", body).await
    }

    /// A signed-in member.
    pub async fn member(&self, username: &str) -> Tester {
        let reply = self.register(username).await;
        assert_eq!(reply.status, Status::Created, "{:?}", reply.body);
        self.sign_in(username, PASSWORD).await
    }

    /// A signed-in admin, made the way the operator makes the first one.
    pub async fn admin(&self, username: &str) -> Tester {
        let input = NewAccount {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password: PASSWORD.to_owned(),
            name: None,
            role: Some("admin".into()),
            active: Some(true),
        };
        accounts::create(self.app(), input, Origin::CommandLine, &Source::CommandLine)
            .await
            .expect("admin created");
        self.sign_in(username, PASSWORD).await
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Tester {
        let reply = self.login(username, password).await;
        assert_eq!(reply.status, Status::Ok, "{:?}", reply.body);
        tester(&reply.body)
    }
}

/// The claims inside a token, unverified.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub fn tester(login_body: &Value) -> Tester {
    Tester {
        id: login_body["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned(),
        access: login_body["access_token"]
            .as_str()
            .expect("access")
            .to_owned(),
        refresh: login_body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    }
}

pub async fn send(request: LocalRequest<'_>) -> Reply {
    let response = request.dispatch().await;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let text = response.into_string().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        body,
        headers,
    }
}

/// A PostgreSQL database of its own for one test.
pub struct PgDatabase {
    pub server: String,
    pub name: String,
    url: String,
}

impl PgDatabase {
    fn create(server: &str) -> Self {
        let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(server).expect("TEST_DATABASE_URL reachable");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("test database created");
        let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
        PgDatabase {
            server: server.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.server) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = diesel::sql_query(drop).execute(&mut conn);
        }
    }
}

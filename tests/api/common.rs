//! The test harness: the real application on a fresh database per test, accounts that carry
//! their session, and browsers that keep their own cookies.
//!
//! ```ignore
//! let t = TestApp::new().await;
//! let alice = t.member("alice").await;          // an account and a session; no HTTP, no bcrypt
//! assert_eq!(alice.get("/api/me").await.status, Status::Ok);
//! let browser = t.browser();
//! browser.login(&alice).await;                  // through the login page
//! ```
//!
//! The backend comes from `TEST_DATABASE_URL`: unset, each test gets a SQLite file in its own
//! temporary directory; `postgres://…`, each test gets its own database on that server, dropped
//! when the test ends, so tests still run in parallel. Settings start from the built-in
//! defaults (`gatehouse::defaults()`): a developer's `Rocket.toml` or `ROCKET_*` variables
//! never reach a test.

use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::{Connection, PgConnection, RunQueryDsl};
use gatehouse::accounts::model::{NewUser, Role, User};
use gatehouse::audit::Source;
use gatehouse::db::DbConn;
use gatehouse::secrets::KeyRing;
use gatehouse::App;
use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A password zxcvbn rates strong and that contains no test username.
pub const PASSWORD: &str = "Tq9#vLm2!xRw8pZe";
pub const OTHER_PASSWORD: &str = "Gv7$kPz4@nWq2mYd";

/// The test bcrypt cost: real accounts use the configured one.
const TEST_COST: u32 = 4;

/// One running instance; cheap to clone, so accounts and browsers can hold it.
#[derive(Clone)]
pub struct TestApp(Arc<Instance>);

pub struct Instance {
    pub client: Client,
    pub dir: Arc<TempDir>,
    /// The settings this instance started from, to start siblings on the same database.
    figment: Figment,
    pub database: Option<Arc<PgDatabase>>,
}

impl Deref for TestApp {
    type Target = Instance;

    fn deref(&self) -> &Instance {
        &self.0
    }
}

/// An account with a live session: its id, its tokens, and requests made as it.
#[derive(Clone)]
pub struct Tester {
    t: TestApp,
    pub id: String,
    pub username: String,
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

    /// The `Set-Cookie` header that sets `name`, as sent.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.all("Set-Cookie")
            .into_iter()
            .find(|c| c.starts_with(&prefix))
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("Location").unwrap_or("")
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        csrf_of(self.html()).expect("a form with a token")
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let (_, rest) = html.split_once("name=\"csrf_token\" value=\"")?;
    rest.split('"').next().map(str::to_owned)
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
        let figment = gatehouse::defaults()
            .merge(("data_dir", dir.path()))
            .merge(("database_url", url))
            .merge(("bcrypt_cost", TEST_COST))
            // Tests sign up many accounts from one address; the throttle tests set their own.
            .merge(("signups_per_hour", 100_000))
            .merge(("log_level", "off"));
        Self::start(configure(figment), Arc::new(dir), database.map(Arc::new)).await
    }

    async fn start(figment: Figment, dir: Arc<TempDir>, database: Option<Arc<PgDatabase>>) -> Self {
        let rocket = gatehouse::rocket(figment.clone()).expect("the app starts");
        // Untracked: cookies belong to each `Browser`, not to the app.
        let client = Client::untracked(rocket).await.expect("valid rocket");
        TestApp(Arc::new(Instance {
            client,
            dir,
            figment,
            database,
        }))
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

    /// Runs a query on this instance's database, for what the API cannot do (planting an old
    /// hash, reading what was stored).
    pub async fn db<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T> + Send + 'static,
    ) -> T {
        self.app().db.run(query).await.expect("the query runs")
    }

    /// Moves this instance's clock forward: sessions, grace periods, tokens and lock-outs
    /// age as they would in that time.
    pub fn advance(&self, by: time::Duration) {
        self.app().clock.advance(by);
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

    /// An anonymous JSON POST.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::Post, path, None, Some(body)).await
    }

    /// A browser of its own, with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser {
            t: self.clone(),
            jar: Mutex::default(),
            csrf: Mutex::default(),
            here: Mutex::default(),
        }
    }

    /// Signs up through the API (a `signup` event, the sign-up throttle: the real path).
    pub async fn register(&self, username: &str) -> Reply {
        let email = format!("{username}@example.com");
        let body = json!({"username": username, "email": email, "password": PASSWORD});
        self.post("/api/register", body).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password});
        self.post("/api/login", body).await
    }

    /// Logs in through the API from the client address `ip`.
    pub async fn login_from(&self, ip: &str, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password});
        let address = std::net::SocketAddr::new(ip.parse().expect("an IP address"), 40000);
        let request = self
            .client
            .post("/api/login")
            .header(ContentType::JSON)
            .remote(address)
            .body(body.to_string());
        send(request).await
    }

    /// Runs the `gatehouse` command line against this instance's database and data
    /// directory, with `env` added.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .args(args)
            .env("ROCKET_DATA_DIR", self.dir.path())
            .env("DATABASE_URL", self.database_url())
            .env_remove("ROCKET_DATABASE_URL")
            .env_remove("ROCKET_JWT_KEYS");
        command.envs(env.iter().copied());
        command.output().expect("the command runs")
    }

    /// A member with a live session, made directly in the database (no HTTP, no bcrypt):
    /// email `<username>@example.com`, password [`PASSWORD`].
    pub async fn member(&self, username: &str) -> Tester {
        self.account(username, Role::User).await
    }

    /// An admin with a live session, made the same way.
    pub async fn admin(&self, username: &str) -> Tester {
        self.account(username, Role::Admin).await
    }

    async fn account(&self, username: &str, role: Role) -> Tester {
        let (username, app) = (username.to_owned(), self.app());
        let now = app.clock.now();
        let user = self
            .db(move |c| {
                User::insert(
                    c,
                    &NewUser {
                        public_id: &uuid::Uuid::new_v4().to_string(),
                        username: &username,
                        email: &format!("{username}@example.com"),
                        name: None,
                        password_hash: password_hash(),
                        role: role.as_str(),
                        active: true,
                        created_at: now,
                        updated_at: now,
                        password_changed_at: now,
                        email_verified: true,
                    },
                )
            })
            .await;
        let signed_in = gatehouse::auth::start(app, user, None, &Source::CommandLine)
            .await
            .expect("a session opens");
        Tester {
            t: self.clone(),
            id: signed_in.user.public_id,
            username: signed_in.user.username,
            access: signed_in.tokens.access_token,
            refresh: signed_in.tokens.refresh_token,
        }
    }

    /// Signs up and logs in through the API, the way a person's account begins (audited as
    /// a `signup`, counted by the sign-up throttle).
    pub async fn sign_up(&self, username: &str) -> Tester {
        let reply = self.register(username).await;
        assert_eq!(reply.status, Status::Created, "{:?}", reply.body);
        self.sign_in(username, PASSWORD).await
    }

    /// Logs in through the API, as a client program does.
    pub async fn sign_in(&self, username: &str, password: &str) -> Tester {
        let reply = self.login(username, password).await;
        assert_eq!(reply.status, Status::Ok, "{:?}", reply.body);
        self.tester(&reply.body)
    }

    /// The account and tokens of a login or refresh answer.
    pub fn tester(&self, body: &Value) -> Tester {
        let text = |value: &Value| value.as_str().expect("a string").to_owned();
        Tester {
            t: self.clone(),
            id: text(&body["user"]["id"]),
            username: text(&body["user"]["username"]),
            access: text(&body["access_token"]),
            refresh: text(&body["refresh_token"]),
        }
    }
}

/// bcrypt of [`PASSWORD`] at the test cost, made once for the whole test binary.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(PASSWORD, TEST_COST).expect("a hash"))
}

impl Tester {
    /// A request as this account, its access token in `x-access-token`.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.t.call(method, path, Some(&self.access), body).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::Get, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::Post, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::Patch, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::Put, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::Delete, path, None).await
    }

    /// This account acting through another access token (a personal access token, say).
    pub fn with_token(&self, token: &str) -> Tester {
        Tester {
            access: token.to_owned(),
            ..self.clone()
        }
    }

    /// Trades this account's refresh token for a new pair.
    pub async fn refresh(&self) -> Reply {
        let body = json!({"refresh_token": self.refresh});
        self.t.post("/api/token/refresh", body).await
    }
}

/// A browser: its own cookies, and the CSRF token of the last page it loaded, which
/// [`Browser::form`] sends with a form.
pub struct Browser {
    t: TestApp,
    jar: Mutex<Vec<(String, String)>>,
    csrf: Mutex<String>,
    /// The last page loaded, sent as `Referer` with the next request, as browsers do.
    here: Mutex<Option<String>>,
}

impl Browser {
    /// Loads a page.
    pub async fn page(&self, path: &str) -> Reply {
        let reply = self.send(self.t.client.get(path.to_owned())).await;
        *self.here.lock().expect("here") = Some(path.to_owned());
        reply
    }

    /// Submits exactly these fields as a browser would (urlencoded, with this browser's
    /// cookies); see [`Browser::form`] for a form that carries its page's CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.submit_raw(path, body).await
    }

    /// Submits a form with the CSRF token of the last page this browser loaded, as a user
    /// filling in that page's form does.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf.lock().expect("csrf").clone();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.submit(path, &all).await
    }

    /// Posts a form body exactly as given (for fuzzing), with this browser's cookies. A
    /// refused form is sent back to its page by a redirect (Post/Redirect/Get), which this
    /// browser follows as every browser does: the reply is the form page with its problems.
    pub async fn submit_raw(&self, path: &str, body: String) -> Reply {
        let request = self
            .t
            .client
            .post(path.to_owned())
            .header(ContentType::Form)
            .body(body);
        let reply = self.send(request).await;
        if reply.set_cookie("refused_form").is_some() && reply.status == Status::SeeOther {
            let back = reply.location().to_owned();
            return self.page(&back).await;
        }
        reply
    }

    /// Posts a form and returns the answer as it is, without following a redirect back.
    pub async fn submit_unfollowed(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .t
            .client
            .post(path.to_owned())
            .header(ContentType::Form)
            .body(body);
        self.send(request).await
    }

    /// Loads `page` (for its form's token), then submits `fields` to `action`.
    pub async fn submit_on(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        self.page(page).await;
        self.form(action, fields).await
    }

    /// The value of one of this browser's cookies.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let jar = self.jar.lock().expect("jar");
        jar.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Signs in through the login page.
    pub async fn login(&self, account: &Tester) -> Reply {
        let fields = [
            ("username", account.username.as_str()),
            ("password", PASSWORD),
        ];
        let reply = self.submit_on("/login", "/login", &fields).await;
        assert_eq!(reply.status, Status::SeeOther, "{}", reply.html());
        reply
    }

    /// Signs up through the page, which signs this browser in.
    pub async fn sign_up(&self, username: &str) -> Reply {
        let email = format!("{username}@example.com");
        let fields = [
            ("username", username),
            ("email", email.as_str()),
            ("name", ""),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let reply = self.submit_on("/signup", "/signup", &fields).await;
        assert_eq!(reply.status, Status::SeeOther, "{}", reply.html());
        reply
    }

    async fn send(&self, mut request: LocalRequest<'_>) -> Reply {
        let cookies = self.jar.lock().expect("jar").clone();
        for (name, value) in cookies {
            request = request.cookie(Cookie::new(name, value));
        }
        if let Some(here) = self.here.lock().expect("here").clone() {
            request.add_header(Header::new("Referer", format!("http://localhost{here}")));
        }
        let response = request.dispatch().await;
        self.keep_cookies(&response);
        let reply = reply(response).await;
        if let Some(token) = csrf_of(reply.html()) {
            *self.csrf.lock().expect("csrf") = token;
        }
        reply
    }

    /// Stores what the answer set, and forgets what it removed.
    fn keep_cookies(&self, response: &LocalResponse<'_>) {
        let mut jar = self.jar.lock().expect("jar");
        for cookie in response.cookies().iter() {
            jar.retain(|(name, _)| name != cookie.name());
            let removed =
                cookie.max_age().is_some_and(|age| age.is_zero()) || cookie.value().is_empty();
            if !removed {
                jar.push((cookie.name().to_owned(), cookie.value().to_owned()));
            }
        }
    }
}

pub async fn send(request: LocalRequest<'_>) -> Reply {
    reply(request.dispatch().await).await
}

async fn reply(response: LocalResponse<'_>) -> Reply {
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

/// The claims inside a token, unverified.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
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

//! One typed configuration, read from Rocket's figment (`Rocket.toml`, `ROCKET_*` environment
//! variables) plus the conventional plain `DATABASE_URL`.
//!
//! Plain typed data: each key is read and checked on its own here (a leaf module, importing
//! nothing from the crate); checks that need another module (the key ring, the database URL,
//! bcrypt's limit) happen where the application is assembled (`app`). A bad key stops
//! start-up with a single line that names it.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use serde::{Deserialize, Serialize};

/// Gatehouse's own settings (Rocket's keys such as `port` are read by Rocket itself).
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Empty means "the SQLite file in `data_dir`".
    #[serde(default)]
    pub database_url: String,
    pub bcrypt_cost: u32,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub jwt_issuer: String,
    pub password_min_length: usize,
    pub cookie_secure: bool,
    /// Most connections one instance holds.
    pub database_pool_size: u32,
    /// Seconds to wait for a connection before answering 503.
    pub database_timeout: u64,
    /// Failed logins for one account within `login_failure_window` before it is locked.
    pub login_max_failures: i32,
    /// Failed logins from one client address within the window before it is locked.
    pub login_ip_max_failures: i32,
    /// Seconds over which failures are counted.
    pub login_failure_window: i64,
    /// Seconds of the first lock-out; each further one doubles, up to a day.
    pub login_lockout: i64,
    /// Accounts one client address may create per hour.
    pub signups_per_hour: i32,
    /// Bits of an IPv6 address that name one client for throttling (its network).
    pub ipv6_prefix: u8,
    /// Days an audit event is kept; 0 keeps them all.
    pub audit_retention_days: i64,
    /// Seconds a request body may take to arrive in all.
    pub body_timeout: u64,
    /// Signing keys given by the operator (shared by every instance); empty means generated.
    #[serde(default)]
    pub jwt_keys: Vec<SigningKey>,
    /// Which of `jwt_keys` signs new tokens; the last one when unset.
    #[serde(default)]
    pub jwt_signing_kid: Option<String>,
    /// Where mail goes: `smtp://…` (STARTTLS), `smtps://…` (TLS), `smtp://…?tls=none` (a
    /// local relay only); unset, each message is written to `<data_dir>/outbox/`.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// The address people reach this server at, for links in mail; unset, built from
    /// Rocket's `address` and `port`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The sender of mail; unset, `gatehouse@<host of public_url>`.
    #[serde(default)]
    pub mail_from: Option<String>,
    /// Seconds a password-reset link lives.
    pub reset_token_ttl: i64,
    /// Seconds an invitation (a set-a-password link for a new account) lives.
    pub invite_token_ttl: i64,
    /// Password-reset mails one account, and one client address, may ask for per hour.
    pub mail_per_hour: i32,
    /// Whether addresses are proved by a mailed link: `off`, `optional`, `required`.
    pub email_verification: EmailVerification,
    /// Admins without a second factor are sent to enrol before any admin action.
    pub require_mfa_for_admins: bool,
    /// Peers (CIDR blocks, or single addresses) whose `X-Forwarded-*` and `X-Original-URL`
    /// headers forward auth believes; from anyone else they are ignored.
    #[serde(default, deserialize_with = "networks")]
    pub trusted_proxies: Vec<IpNet>,
    /// Hosts besides `public_url`'s that a login's `next` may send the browser back to
    /// (the apps behind forward auth).
    #[serde(default, deserialize_with = "hosts")]
    pub forward_auth_domains: Vec<String>,
    /// How the server's log is written: `text` or `json` (read by `main.rs` before the rest,
    /// checked here with it).
    #[serde(default)]
    pub log_format: LogFormat,
    /// The Bearer token `GET /metrics` asks for; unset, `/metrics` is not served (404).
    #[serde(default)]
    pub metrics_token: Option<String>,
    /// The domain session cookies are scoped to, so sibling apps behind the proxy receive
    /// them (then named `__Secure-…`); unset, they belong to this host alone (`__Host-…`).
    #[serde(default)]
    pub cookie_domain: Option<String>,
}

/// A list setting: a TOML array, or (from the environment) one value or a comma-separated
/// list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum List {
    One(String),
    Many(Vec<String>),
}

impl List {
    fn items(self) -> Vec<String> {
        let all = match self {
            List::One(text) => text.split(',').map(str::to_owned).collect(),
            List::Many(items) => items,
        };
        all.into_iter()
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    }
}

/// `trusted_proxies`: each item a CIDR block or a single address (a block of one).
fn networks<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    List::deserialize(deserializer)?
        .items()
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{item:?} is neither an address nor a CIDR block such as 10.0.0.0/8"
                    ))
                })
        })
        .collect()
}

/// `forward_auth_domains`: host names (or IPv4 addresses), each as URLs spell it.
fn hosts<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let hosts = List::deserialize(deserializer)?.items();
    hosts
        .iter()
        .map(|host| host_name(host).map_err(serde::de::Error::custom))
        .collect()
}

/// A host as URLs spell it (lower case, IDNA as punycode, no trailing dot), so it compares
/// with a parsed URL's host and can stand in a CSP source list: letters, digits, `-` and
/// `.` only, no wildcard, no scheme, port or path.
fn host_name(text: &str) -> Result<String, String> {
    let refused = || format!("{text:?} is not a host name such as app.example.com");
    let host = match url::Host::parse(text.trim_end_matches('.')) {
        Ok(url::Host::Domain(name)) => name,
        Ok(url::Host::Ipv4(address)) => address.to_string(),
        Ok(url::Host::Ipv6(_)) | Err(_) => return Err(refused()),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if host.is_empty() || !host.chars().all(plain) {
        return Err(refused());
    }
    Ok(host)
}

/// One HMAC key and the `kid` that names it in token headers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    /// Standard base64.
    pub secret: String,
}

/// `log_format`: the server's log as text lines, or one JSON object a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `email_verification`: `optional` mails a link at sign-up and lets people in either way;
/// `required` refuses the login of an unproved address (`403 email_unverified`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailVerification {
    Off,
    Optional,
    Required,
}

/// Built-in defaults; `cookie_secure` is off only in the debug profile.
#[derive(Serialize)]
struct Defaults {
    data_dir: &'static str,
    bcrypt_cost: u32,
    access_token_ttl: i64,
    refresh_token_ttl: i64,
    jwt_issuer: &'static str,
    password_min_length: usize,
    cookie_secure: bool,
    database_pool_size: u32,
    database_timeout: u64,
    login_max_failures: i32,
    login_ip_max_failures: i32,
    login_failure_window: i64,
    login_lockout: i64,
    signups_per_hour: i32,
    ipv6_prefix: u8,
    audit_retention_days: i64,
    body_timeout: u64,
    reset_token_ttl: i64,
    invite_token_ttl: i64,
    mail_per_hour: i32,
    email_verification: EmailVerification,
    require_mfa_for_admins: bool,
    /// Rocket's: `false`, not Rocket's `X-Real-IP`, so that no client can choose the address
    /// recorded for it unless the operator names a header a proxy overwrites.
    ip_header: bool,
    /// Rocket's: the largest JSON body and form (Rocket's own defaults are larger).
    limits: BodyLimits,
    /// Rocket's: no `Server` header naming the framework to every client.
    ident: bool,
}

#[derive(Serialize)]
struct BodyLimits {
    json: &'static str,
    form: &'static str,
}

const DEFAULTS: Defaults = Defaults {
    data_dir: "data",
    bcrypt_cost: 12,
    access_token_ttl: 900,
    refresh_token_ttl: 1_209_600,
    jwt_issuer: "gatehouse",
    password_min_length: 12,
    cookie_secure: true,
    database_pool_size: 16,
    database_timeout: 5,
    login_max_failures: 5,
    login_ip_max_failures: 50,
    login_failure_window: 900,
    login_lockout: 60,
    signups_per_hour: 20,
    ipv6_prefix: 64,
    audit_retention_days: 365,
    body_timeout: 30,
    reset_token_ttl: 3600,
    invite_token_ttl: 604_800,
    mail_per_hour: 5,
    email_verification: EmailVerification::Optional,
    require_mfa_for_admins: false,
    ip_header: false,
    limits: BodyLimits {
        json: "64 KiB",
        form: "64 KiB",
    },
    ident: false,
};

/// A setting that cannot be used, naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingError {
    pub(crate) key: String,
    pub(crate) problem: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting `{}`: {}", self.key, self.problem)
    }
}

impl std::error::Error for SettingError {}

impl SettingError {
    pub(crate) fn new(key: &str, problem: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The built-in defaults alone, reading no file and no environment: what tests start from,
/// so a developer's `ROCKET_*` variables or `Rocket.toml` never change a test's outcome.
pub fn defaults() -> Figment {
    let debug_defaults = Serialized::defaults(Defaults {
        cookie_secure: false,
        ..DEFAULTS
    })
    .profile(Profile::const_new("debug"));
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(DEFAULTS))
        .merge(debug_defaults)
}

/// Rocket's usual figment with our defaults underneath and `DATABASE_URL` between
/// `Rocket.toml` and `ROCKET_*` variables (so `ROCKET_DATABASE_URL` wins when both are set).
pub fn figment() -> Figment {
    defaults()
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(
            Env::raw()
                .only(&["DATABASE_URL"])
                .map(|_| "database_url".into())
                .global(),
        )
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

impl Settings {
    /// Reads and checks every key, Rocket's own included (Rocket would otherwise stop with
    /// a panic on a bad one).
    pub(crate) fn from_figment(figment: &Figment) -> Result<Self, SettingError> {
        let named = |e: rocket::figment::Error| SettingError {
            key: e.path.join("."),
            problem: e.kind.to_string(),
        };
        rocket::Config::try_from(figment).map_err(named)?;
        let settings: Settings = figment.extract().map_err(named)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingError> {
        let fail = |key: &str, problem: String| Err(SettingError::new(key, problem));
        if !(4..=31).contains(&self.bcrypt_cost) {
            return fail(
                "bcrypt_cost",
                format!("must be 4 to 31, not {}", self.bcrypt_cost),
            );
        }
        if self.access_token_ttl < 1 {
            return fail(
                "access_token_ttl",
                "must be a positive number of seconds".into(),
            );
        }
        if self.refresh_token_ttl < self.access_token_ttl {
            return fail(
                "refresh_token_ttl",
                "must be at least access_token_ttl seconds".into(),
            );
        }
        if self.jwt_issuer.trim().is_empty() {
            return fail("jwt_issuer", "must not be empty".into());
        }
        if self.password_min_length < 8 {
            return fail("password_min_length", "must be at least 8".into());
        }
        if !(1..=1000).contains(&self.database_pool_size) {
            return fail("database_pool_size", "must be 1 to 1000".into());
        }
        if !(1..=300).contains(&self.database_timeout) {
            return fail("database_timeout", "must be 1 to 300 seconds".into());
        }
        let counts = [
            ("login_max_failures", self.login_max_failures),
            ("login_ip_max_failures", self.login_ip_max_failures),
            ("signups_per_hour", self.signups_per_hour),
            ("mail_per_hour", self.mail_per_hour),
        ];
        for (key, value) in counts {
            if value < 1 {
                return fail(key, "must be at least 1".into());
            }
        }
        if self.login_failure_window < 1 || self.login_lockout < 1 {
            let key = if self.login_lockout < 1 {
                "login_lockout"
            } else {
                "login_failure_window"
            };
            return fail(key, "must be a positive number of seconds".into());
        }
        if !(1..=3600).contains(&self.body_timeout) {
            return fail("body_timeout", "must be 1 to 3600 seconds".into());
        }
        if !(0..=36_500).contains(&self.audit_retention_days) {
            return fail(
                "audit_retention_days",
                "must be 0 (keep all) to 36500".into(),
            );
        }
        if !(1..=604_800).contains(&self.reset_token_ttl) {
            return fail("reset_token_ttl", "must be 1 second to 7 days".into());
        }
        if !(1..=2_592_000).contains(&self.invite_token_ttl) {
            return fail("invite_token_ttl", "must be 1 second to 30 days".into());
        }
        if !(16..=128).contains(&self.ipv6_prefix) {
            return fail("ipv6_prefix", "must be 16 to 128 bits".into());
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return fail("metrics_token", "must be at least 16 characters".into());
        }
        if let Some(domain) = &self.cookie_domain {
            if host_name(domain).is_err() || domain.parse::<IpAddr>().is_ok() {
                return fail(
                    "cookie_domain",
                    "must be a domain such as example.com".into(),
                );
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            return fail("data_dir", "must not be empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(change: impl FnOnce(Figment) -> Figment) -> Result<Settings, SettingError> {
        Settings::from_figment(&change(defaults()))
    }

    #[test]
    fn the_defaults_are_valid() {
        let settings = settings(|f| f).expect("valid defaults");
        assert_eq!(settings.bcrypt_cost, 12);
        assert_eq!(settings.password_min_length, 12);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let cases = [
            ("bcrypt_cost", 99, "must be 4 to 31, not 99"),
            ("access_token_ttl", 0, "positive"),
            ("refresh_token_ttl", 1, "at least access_token_ttl"),
            ("password_min_length", 3, "at least 8"),
            ("database_pool_size", 0, "1 to 1000"),
            ("login_max_failures", 0, "at least 1"),
            ("login_lockout", 0, "positive"),
        ];
        for (key, value, problem) in cases {
            let error = settings(|f| f.merge((key, value))).err();
            let error = error.map(|e| (e.key.clone(), e.to_string()));
            let (named, line) = error.unwrap_or_default();
            assert_eq!(named, key);
            assert!(line.contains(problem), "{line}");
        }
    }

    #[test]
    fn list_settings_take_an_array_one_value_or_a_comma_separated_list() {
        let proxies = |value: rocket::figment::value::Value| {
            settings(|f| f.merge(("trusted_proxies", value))).map(|s| s.trusted_proxies)
        };
        let nets = proxies("10.0.0.0/8, 127.0.0.1".into()).expect("a list in one string");
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32"]);
        let array = vec!["::1".to_owned(), "192.168.0.0/16".to_owned()];
        assert_eq!(proxies(array.into()).expect("an array").len(), 2);
        let bad = proxies("10.0.0.0/33".into()).expect_err("no such block");
        assert_eq!(bad.key, "trusted_proxies");
        let domains = settings(|f| f.merge(("forward_auth_domains", "App.Example.com")));
        let domains = domains.expect("one host").forward_auth_domains;
        assert_eq!(domains, ["app.example.com"]);
        for bad in [
            "https://x.example",
            "*.example.com",
            "a.example;script-src *",
            "[::1]",
        ] {
            let refused = settings(|f| f.merge(("forward_auth_domains", bad)));
            let key = refused.map_err(|e| e.key).err();
            assert_eq!(key.as_deref(), Some("forward_auth_domains"), "{bad}");
        }
        let spelled = settings(|f| f.merge(("forward_auth_domains", "Bücher.example.")));
        let spelled = spelled.expect("an IDN host").forward_auth_domains;
        assert_eq!(spelled, ["xn--bcher-kva.example"]);
    }

    #[test]
    fn rockets_own_keys_are_checked_too() {
        let error = settings(|f| f.merge(("port", "eighty"))).err();
        assert_eq!(error.map(|e| e.key), Some("port".to_owned()));
    }
}

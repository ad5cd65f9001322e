//! The server's log: Rocket's lines and ours, one a line on standard output, as text or (with
//! `log_format = "json"`) one JSON object a line, with the secret cut out of one-time links.
//! Rocket logs the path of every request, and the paths a reset or confirmation link opens
//! carry its token. Each answered request also gets one line of its own ([`request`]) with
//! its id, route template, status and duration. Nothing here ever sees a header or a body:
//! tokens, cookies and passwords cannot reach the log.

use std::io::Write;
use std::sync::OnceLock;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::settings::LogFormat;

/// Paths whose next segment is a one-time token.
const SECRET_PATHS: [&str; 2] = ["/password/reset/", "/verify-email/"];

/// The format chosen at start-up (text until then).
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the log at `level` (Rocket's `log_level`) in `format`, before Rocket would
/// install its own.
pub fn init(level: log::LevelFilter, format: LogFormat) {
    if log::set_boxed_logger(Box::new(Redacting)).is_ok() {
        let _ = FORMAT.set(format);
        log::set_max_level(level);
        log_panics();
    }
}

/// One line on standard output, in the chosen format.
fn write(level: log::Level, text: &str, fields: serde_json::Value) {
    let _ = writeln!(std::io::stdout().lock(), "{}", line(level, text, fields));
}

/// A line in the chosen format: `text` as it stands, or `fields` in one JSON object beside
/// `time` and `level`.
fn line(level: log::Level, text: &str, fields: serde_json::Value) -> String {
    match FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Text => text.to_owned(),
        LogFormat::Json => {
            let time = OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default();
            let mut object = serde_json::json!({
                "time": time,
                "level": level.as_str().to_ascii_lowercase(),
            });
            if let (Some(object), serde_json::Value::Object(fields)) =
                (object.as_object_mut(), fields)
            {
                object.extend(fields);
            }
            object.to_string()
        }
    }
}

/// What one answered request is logged as.
pub(crate) struct RequestLine<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) method: &'a str,
    /// The route's template (`/api/users/<id>`), never the path.
    pub(crate) route: &'a str,
    pub(crate) status: u16,
    pub(crate) duration_ms: f64,
    pub(crate) client: Option<String>,
}

/// Logs an answered request (at `info`).
pub(crate) fn request(line: &RequestLine<'_>) {
    if log::max_level() < log::LevelFilter::Info {
        return;
    }
    let client = line.client.as_deref().unwrap_or("-");
    let text = format!(
        "request {} {} {} {} {:.2} ms from {client}",
        line.request_id, line.method, line.route, line.status, line.duration_ms
    );
    let fields = serde_json::json!({
        "request_id": line.request_id,
        "method": line.method,
        "route": line.route,
        "status": line.status,
        "duration_ms": (line.duration_ms * 100.0).round() / 100.0,
        "client": line.client,
    });
    write(log::Level::Info, &text, fields);
}

struct Redacting;

impl log::Log for Redacting {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Libraries' lines below `info` never: their debug output prints whole requests,
        // headers included (Rocket's "received request", hyper's), so tokens and cookies.
        // Gatehouse's own debug lines stay.
        let module = record.module_path().unwrap_or_default();
        let library = !module.starts_with("gatehouse");
        if library && record.level() > log::Level::Info {
            return;
        }
        // Rocket marks the lines that belong under the one before with a target ending '_'.
        let indent = if record.target().ends_with('_') {
            "   >> "
        } else {
            ""
        };
        let prefix = match record.level() {
            log::Level::Error => "Error: ",
            log::Level::Warn => "Warning: ",
            _ => "",
        };
        let line = redact(&record.args().to_string());
        let fields = serde_json::json!({ "target": record.target(), "message": line });
        write(record.level(), &format!("{indent}{prefix}{line}"), fields);
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// The line with the token after each one-time-link path replaced by `…`.
fn redact(line: &str) -> String {
    let mut out = line.to_owned();
    for path in SECRET_PATHS {
        let mut searched = 0;
        while let Some(found) = out.get(searched..).and_then(|rest| rest.find(path)) {
            let start = searched + found + path.len();
            let tail = out.get(start..).unwrap_or_default();
            let token_len: usize = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%'))
                .map(char::len_utf8)
                .sum();
            if token_len > 0 {
                out.replace_range(start..start + token_len, "…");
            }
            searched = start;
        }
    }
    without_queries(&out)
}

/// The line with every query string (from `?` to the next space) cut to `?…`: Rocket logs
/// each request's URI, and a client may put anything in its query, a token too (the app
/// reads none from there). A `?` ending a sentence stays.
fn without_queries(line: &str) -> String {
    line.split(' ')
        .map(|word| match word.split_once('?') {
            Some((path, query)) if path.starts_with('/') && !query.is_empty() => {
                let tail = if query.ends_with(':') { ":" } else { "" };
                format!("{path}?…{tail}")
            }
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a panic's message through the log (redacted, as a line like any other), instead
/// of Rust's default hook printing it raw to stderr.
fn log_panics() {
    std::panic::set_hook(Box::new(|panic| {
        let place = panic
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = panic
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let line = redact(&format!("panic{place}: {what}"));
        let fields = serde_json::json!({ "target": "panic", "message": line });
        write(log::Level::Error, &format!("Error: {line}"), fields);
    }));
}

/// A line for a failure that stops the program (a bad setting, a port in use): in the
/// chosen format once the log is installed, else as plain text. On standard error.
pub fn fatal(message: &str) {
    let message = redact(message);
    let fields = serde_json::json!({ "target": "gatehouse", "message": message });
    eprintln!("{}", line(log::Level::Error, &message, fields));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_tokens_never_reach_the_log() {
        assert_eq!(
            redact("POST /password/reset/T8UhT70PLjYBXyPPbyRYi2R_-x:"),
            "POST /password/reset/…:"
        );
        assert_eq!(
            redact("GET /verify-email/abc123 then /password/reset/def?x=1"),
            "GET /verify-email/… then /password/reset/…?…"
        );
        assert_eq!(redact("GET /account:"), "GET /account:");
        assert_eq!(
            redact("GET /api/me?access_token=eyJ.x.y&page=2 application/json:"),
            "GET /api/me?… application/json:"
        );
        assert_eq!(redact("GET /api/me?eyJhbGci.x.y:"), "GET /api/me?…:");
        assert_eq!(redact("Is it on? Yes."), "Is it on? Yes.");
        let route = "(reset_form) GET /password/reset/<token>";
        assert_eq!(redact(route), route, "route listings stay as they are");
    }
}

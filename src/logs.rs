//! The server's log: Rocket's lines and ours, one a line on standard output, with the
//! secret cut out of one-time links. Rocket logs the path of every request, and the paths a
//! reset or confirmation link opens carry its token.

use std::io::Write;

/// Paths whose next segment is a one-time token.
const SECRET_PATHS: [&str; 2] = ["/password/reset/", "/verify-email/"];

/// Installs the log at `level` (Rocket's `log_level`), before Rocket would install its own.
pub fn init(level: log::LevelFilter) {
    if log::set_boxed_logger(Box::new(Redacting)).is_ok() {
        log::set_max_level(level);
    }
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
        // Libraries' chatter only when debugging, as Rocket's own log does.
        let module = record.module_path().unwrap_or_default();
        let chatter = ["hyper", "rustls", "r2d2"]
            .iter()
            .any(|m| module.starts_with(m));
        if chatter && log::max_level() < log::LevelFilter::Trace {
            return;
        }
        // Rocket marks the lines that belong under the one before with a target ending '_'.
        let indent = if record.target().ends_with('_') {
            "   >> "
        } else {
            ""
        };
        let level = match record.level() {
            log::Level::Error => "Error: ",
            log::Level::Warn => "Warning: ",
            _ => "",
        };
        let line = redact(&record.args().to_string());
        let _ = writeln!(std::io::stdout().lock(), "{indent}{level}{line}");
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
    out
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
            "GET /verify-email/… then /password/reset/…?x=1"
        );
        assert_eq!(redact("GET /account:"), "GET /account:");
        let route = "(reset_form) GET /password/reset/<token>";
        assert_eq!(redact(route), route, "route listings stay as they are");
    }
}

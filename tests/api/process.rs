//! The real server as a process on a free loopback port, with a plain HTTP/1.0 client: for
//! what only a real process shows (its log, a SIGKILL).

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;
use serde_json::Value;

/// The server process, its data directory `dir/data`, its output in `dir/stdout` and
/// `dir/stderr`; killed when dropped, however the test ends.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An answer: status, headers (names in lower case) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        let found = self.headers.iter().find(|(n, _)| n == name);
        found.map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

impl Server {
    /// Starts the server on SQLite in `dir/data` (unless `env` names a `DATABASE_URL`), at
    /// bcrypt cost 4, with `env` on top; returns once it accepts connections.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let stdout = dir.join("stdout");
        let before = std::fs::metadata(&stdout).map_or(0, |m| m.len());
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        // Port 0: the system picks a free port and the server names it when it launches (a
        // port probed free beforehand could be taken by a test running beside this one).
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_DATA_DIR", dir.join("data"))
            .env("ROCKET_PORT", "0")
            .env("ROCKET_LOG_LEVEL", "normal")
            .env("ROCKET_BCRYPT_COST", "4")
            .env("ROCKET_SIGNUPS_PER_HOUR", "100000")
            .env_remove("DATABASE_URL")
            .env_remove("ROCKET_DATABASE_URL")
            // Files, not pipes: nobody reads a pipe until the end, and a full one would
            // stall the server in the middle of the test.
            .stdout(open_append(&dir.join("stdout")))
            .stderr(open_append(&dir.join("stderr")));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the server starts");
        let mut server = Server {
            port: 0,
            child: Some(child),
        };
        for _ in 0..200 {
            let printed = std::fs::read(&stdout).unwrap_or_default();
            let text = String::from_utf8_lossy(printed.get(before as usize..).unwrap_or_default());
            if let Some(port) = launched_on(&text) {
                server.port = port;
                return server;
            }
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request; `None` when the connection failed or broke (the server is gone).
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Option<Answer> {
        request(self.port, method, path, headers, body).await
    }

    /// One request to a server that must answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let answer = self.try_call(method, path, headers, body).await;
        answer.expect("the server answers")
    }
}

/// One request to the server on `port`; `None` when the connection failed or broke.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Option<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// The port of Rocket's "launched from http://127.0.0.1:PORT" line, once printed.
fn launched_on(printed: &str) -> Option<u16> {
    let (_, rest) = printed.split_once("launched from http://127.0.0.1:")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn open_append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("an output file")
}

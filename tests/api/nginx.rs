//! A real nginx (Debian's package) in front of a small app, asking Gatehouse through
//! `auth_request` whether each request may pass: started as an ordinary process on a free
//! loopback port with the README's configuration, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::{TcpListener, TcpStream};
use tempfile::TempDir;

const NGINX: &str = "/usr/sbin/nginx";

pub struct Nginx {
    pub base: String,
    process: Child,
    dir: TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The server block of the README's nginx example, with its two addresses filled in.
fn site(port: u16, gatehouse: &str, app: &str) -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("# nginx: the protected app")
        .expect("the README's nginx example");
    let block = &readme[start..];
    let end = block.find("```").expect("the end of the example");
    block[..end]
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port};"))
        .replace("http://127.0.0.1:8000", gatehouse)
        .replace("http://127.0.0.1:3000", app)
}

impl Nginx {
    /// Starts nginx on a free port in front of `app`, asking `gatehouse`.
    pub async fn start(gatehouse: &str, app: &str) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "the forward-auth test needs Debian's nginx (nginx-light)"
        );
        let dir = tempfile::tempdir().expect("a directory for nginx");
        let port = free_port();
        let d = dir.path().display();
        let config = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{}\n}}\n",
            site(port, gatehouse, app)
        );
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).expect("nginx.conf written");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("a log file");
        let process = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("nginx starts");
        // Held from here on, so nginx is stopped however the test ends.
        let nginx = Nginx {
            base: format!("http://127.0.0.1:{port}"),
            process,
            dir,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return nginx;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("nginx did not start:\n{}", nginx.log());
    }

    /// What nginx said (its error log), for a failing test's message.
    pub fn log(&self) -> String {
        let read = |name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        read("stderr.log") + &read("error.log")
    }
}

/// The app behind the proxy: answers every request with a page naming the `X-Auth-User`
/// the proxy passed on (or "nobody"), until the test ends.
pub async fn app() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    rocket::tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            rocket::tokio::spawn(answer(stream));
        }
    });
    base
}

async fn answer(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let user = text
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-auth-user")
                .then(|| value.trim().to_owned())
        })
        .filter(|user| !user.is_empty())
        .unwrap_or_else(|| "nobody".to_owned());
    let body = format!("<!doctype html><title>App</title><h1>Hello {user}</h1>");
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
}

/// A plain HTTP/1.0 GET with its `Host`, as a program sends it: the whole answer.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> String {
    let url = url::Url::parse(url).expect("a URL");
    let address = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().expect("a port")
    );
    let mut stream = TcpStream::connect(&address).await.expect("connects");
    let path = &url[url::Position::BeforePath..];
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("an answer");
    answer
}

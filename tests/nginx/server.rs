//! A throwaway nginx for one test: a configuration, a docroot and every file nginx writes (pid,
//! logs, temp directories) in a temporary directory; HTTP (and, given a certificate, HTTPS) on
//! free loopback ports; stopped and removed when the guard drops (on success and on panic alike).
//!
//! nginx runs in the foreground (`daemon off`) as a child of the test: `nginx -p <dir> -c
//! <dir>/nginx.conf`. Every path in the configuration is absolute and inside the directory, so
//! nothing of the system's nginx (`/etc/nginx`, `/var/lib/nginx`, `/var/log/nginx`) is read or
//! written, and no privilege is needed. As root (CI), the master stays root and the workers run as
//! `www-data` (or `nobody`) through the `user` directive, which is why the directory is then under
//! `/tmp` and world-readable: the workers read the docroot themselves.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../support/local_server.rs"]
mod local_server;

use local_server::{is_root, user_or_nobody};

/// What to say when nginx is missing.
const INSTALL_HINT: &str = "install nginx (Debian/Ubuntu: `apt-get install nginx`, which \
     provides /usr/sbin/nginx) or point NGINX_BIN at the binary";

/// A small static file, sent with `Content-Length`.
pub const SMALL_PATH: &str = "/small.txt";
pub const SMALL_BODY: &[u8] = b"hello from nginx\n";

/// 8 MiB of [`large_body`], sent with `Content-Length`.
pub const LARGE_PATH: &str = "/large.bin";
pub const LARGE_LEN: usize = 8 << 20;

/// A static file sent with `Transfer-Encoding: chunked` and no `Content-Length`: it goes through
/// `sub_filter` (whose pattern never matches, so the body is unchanged), and a body filter cannot
/// know the length in advance. The body is [`chunked_body`]: [`CHUNKED_LINE`] repeated
/// [`CHUNKED_LINES`] times (~128 KiB, so nginx sends it in several chunks, not one).
pub const CHUNKED_PATH: &str = "/chunked.txt";
pub const CHUNKED_LINE: &[u8] = b"a line of nginx's chunked response\n";
pub const CHUNKED_LINES: usize = 3744;

/// `301` with `Location: /small.txt` (relative: `absolute_redirect off`; nginx would otherwise
/// send `http://127.0.0.1:<port>/small.txt`, built from the request's `Host`).
pub const REDIRECT_PATH: &str = "/redirect";
/// `303` with `Location: /small.txt`.
pub const REDIRECT_303_PATH: &str = "/redirect-303";
/// `302` with `Location: /loop`: a redirect loop.
pub const LOOP_PATH: &str = "/loop";

/// The large file at [`SLOW_RATE`] bytes per second from the first byte on: 8 MiB take ~128 s,
/// so a client deadline fires in the middle of a body that is still arriving.
pub const SLOW_PATH: &str = "/slow.bin";
pub const SLOW_RATE: usize = 64 * 1024;

/// The exact body of [`LARGE_PATH`] and [`SLOW_PATH`]: byte `i` is `i % 251` (a prime, so the
/// pattern does not line up with any buffer size and a misplaced slice shows).
pub fn large_body() -> Vec<u8> {
    (0..LARGE_LEN).map(|i| (i % 251) as u8).collect()
}

/// The exact body of [`CHUNKED_PATH`].
pub fn chunked_body() -> Vec<u8> {
    CHUNKED_LINE.repeat(CHUNKED_LINES)
}

/// A running nginx; dropping it stops nginx (waiting for it to exit) and deletes its files.
pub struct Nginx {
    dir: PathBuf,
    child: Child,
    http_port: u16,
    https_port: Option<u16>,
}

impl Nginx {
    /// Starts nginx with HTTP and, given `tls` (certificate chain PEM, private key PEM), HTTPS;
    /// or returns `None` after printing why the test is skipped (nginx not installed). With
    /// `REQUIRE_NGINX` set (`.ci/run` sets it) a missing nginx panics instead: CI must never
    /// skip. Not `CI` itself: the README's plain `cargo test` runs these tests too, before
    /// `.ci/run` has installed nginx, and must pass on a machine without it.
    pub fn start_or_skip(tls: Option<(&str, &str)>) -> Option<Nginx> {
        let Some(bin) = find_binary() else {
            let message = format!("nginx not found: {INSTALL_HINT}");
            if std::env::var_os("REQUIRE_NGINX").is_some() {
                panic!("{message} (REQUIRE_NGINX is set: these tests must not be skipped)");
            }
            eprintln!("skipped: {message}");
            return None;
        };
        Some(Nginx::start(&bin, tls))
    }

    /// The plain HTTP port on 127.0.0.1.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The HTTPS port on 127.0.0.1 (HTTP/1.1 only: no `http2`), if started with a certificate.
    pub fn https_port(&self) -> Option<u16> {
        self.https_port
    }

    /// The access log so far, one line per request: `$connection $connection_requests $request`,
    /// e.g. `3 2 GET /small.txt HTTP/1.1` for the second request on connection 3 (connection
    /// numbers also count the readiness probes, so compare them with each other, not with 1).
    /// nginx writes a line after sending the response, so a client can see the body a moment
    /// before the line appears: poll for the expected count rather than read once.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    fn start(bin: &Path, tls: Option<(&str, &str)>) -> Nginx {
        // A free port can be taken by someone else between the probe and the start: retry.
        for attempt in 1..=5 {
            match Nginx::try_start(bin, tls) {
                Ok(server) => return server,
                Err(log) if log.contains("Address already in use") => {
                    eprintln!("nginx could not bind its ports (attempt {attempt}):\n{log}");
                }
                Err(log) => panic!("nginx did not start:\n{log}"),
            }
        }
        panic!("nginx would not start: its ports were taken 5 times");
    }

    /// One start on fresh ports in a fresh directory; `Err(logs)` (directory removed) if nginx
    /// exited instead of coming up.
    fn try_start(bin: &Path, tls: Option<(&str, &str)>) -> Result<Nginx, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let worker = is_root().then(|| user_or_nobody("www-data"));
        // /tmp when root: the workers (unprivileged) must reach the docroot through every parent.
        let base = if worker.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "async-patterns-nginx-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let www = dir.join("www");
        // nginx creates the last component of each temp path only.
        let temp = dir.join("temp");
        for path in [&www, &temp] {
            std::fs::create_dir_all(path).expect("create nginx's directories");
        }
        write(&www.join("small.txt"), SMALL_BODY);
        write(&www.join("large.bin"), &large_body());
        write(&www.join("chunked.txt"), &chunked_body());
        if let Some((chain, key)) = tls {
            // Read by the master only (before it drops privileges), so the key can stay private.
            write(&dir.join("cert.pem"), chain.as_bytes());
            write(&dir.join("key.pem"), key.as_bytes());
            set_mode(&dir.join("key.pem"), 0o600);
        }
        if worker.is_some() {
            // Whatever the umask: the workers need to read what root wrote.
            for path in [&dir, &www, &temp] {
                set_mode(path, 0o755);
            }
            for file in ["small.txt", "large.bin", "chunked.txt"] {
                set_mode(&www.join(file), 0o644);
            }
        }
        let (http_port, https_port) = free_ports(tls.is_some());
        write(
            &dir.join("nginx.conf"),
            config(&dir, worker.as_ref(), http_port, https_port).as_bytes(),
        );
        // The guard exists from the spawn on, so that a panic while waiting stops nginx too.
        let mut server = Nginx {
            child: spawn(bin, &dir),
            dir,
            http_port,
            https_port,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// Waits until this nginx has bound its ports (it writes its pid file only after that, so a
    /// connection cannot reach another process that happens to hold the same port) and they
    /// accept connections. `Err(logs)` if nginx exited first; panics after a bounded wait.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let pid = self.child.id().to_string();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll nginx") {
                return Err(format!(
                    "nginx exited ({status}):\n{}",
                    read_logs(&self.dir)
                ));
            }
            let pid_file = std::fs::read_to_string(self.dir.join("nginx.pid")).unwrap_or_default();
            if pid_file.trim() == pid
                && std::iter::once(self.http_port)
                    .chain(self.https_port)
                    .all(accepts)
            {
                return Ok(());
            }
            // Also covers nginx's own retries of a busy port (5 tries, 500 ms apart).
            assert!(
                Instant::now() < deadline,
                "nginx did not come up within 30 s (ports {} / {:?}):\n{}",
                self.http_port,
                self.https_port,
                read_logs(&self.dir)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown: the master stops the workers, which close every
        // connection (also a slow download still in progress) instead of finishing it as SIGQUIT
        // would. `Child::kill` (SIGKILL) is the fallback only: the workers would outlive it.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() {
                if Instant::now() >= deadline {
                    eprintln!("nginx ignored SIGTERM for 10 s: killing it");
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}

/// The whole configuration. Every path is absolute and inside `dir`, including the temp
/// directories whose compiled-in defaults (Debian: `/var/lib/nginx/*`) an unprivileged nginx could
/// not create; nginx creates them at start under `temp/` (owned by the worker user when root).
fn config(dir: &Path, worker: Option<&String>, http_port: u16, https_port: Option<u16>) -> String {
    let d = dir.display();
    // Without `user`, a root master would run its workers as the compiled-in default (`nobody`
    // and a group `nobody` that Debian lacks). Non-root, the directive only draws a warning.
    let user = match worker {
        Some(user) => format!("user {user} {};", primary_group(user)),
        None => String::new(),
    };
    let tls = match https_port {
        Some(port) => format!(
            "listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;"
        ),
        None => String::new(),
    };
    format!(
        "{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/error.log info;

events {{
    worker_connections 1024;
}}

http {{
    # No /etc/nginx/mime.types: only what the docroot holds.
    types {{
        text/plain txt;
        application/octet-stream bin;
    }}
    default_type application/octet-stream;
    log_format connections '$connection $connection_requests $request';
    access_log {d}/access.log connections;
    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
    server_tokens off;
    # Keep-alive is on by default; the default cap of 1000 requests per connection would close
    # connections under a test that reuses them many times.
    keepalive_requests 1000000;

    server {{
        listen 127.0.0.1:{http_port};
        {tls}
        root {d}/www;
        absolute_redirect off;

        location = {CHUNKED_PATH} {{
            # The filter drops Content-Length; a pattern that never matches keeps the body as is.
            sub_filter_types text/plain;
            sub_filter 'never-in-the-body' '';
            sub_filter_once off;
        }}
        location = {REDIRECT_PATH} {{
            return 301 {SMALL_PATH};
        }}
        location = {REDIRECT_303_PATH} {{
            return 303 {SMALL_PATH};
        }}
        location = {LOOP_PATH} {{
            return 302 {LOOP_PATH};
        }}
        location = {SLOW_PATH} {{
            alias {d}/www/large.bin;
            limit_rate {SLOW_RATE};
            limit_rate_after 0;
        }}
    }}
}}
"
    )
}

fn spawn(bin: &Path, dir: &Path) -> Child {
    let log = |name: &str| File::create(dir.join(name)).expect("create nginx's stdout/stderr log");
    // Messages from before the configuration is read (e.g. a syntax error) go to stderr, or to the
    // compiled-in error log of builds that have one (Debian's is stderr).
    Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(log("stdout.log"))
        .stderr(log("stderr.log"))
        .spawn()
        .unwrap_or_else(|error| panic!("run {}: {error}", bin.display()))
}

/// nginx's error log and its stderr, for failure messages.
fn read_logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "error.log:\n{}\nstderr:\n{}",
        read("error.log"),
        read("stderr.log")
    )
}

/// `$NGINX_BIN`, else `nginx` on `PATH`, else the usual places: Debian installs it in
/// `/usr/sbin`, which is not on a normal user's `PATH`.
fn find_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("NGINX_BIN").map(PathBuf::from) {
        return bin.is_file().then_some(bin);
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .chain(
            [
                "/usr/sbin/nginx",
                "/usr/local/sbin/nginx",
                "/usr/local/nginx/sbin/nginx",
            ]
            .map(PathBuf::from),
        )
        .find(|bin| bin.is_file())
}

/// Two distinct free ports when `https` (both probes held at once), else one.
fn free_ports(https: bool) -> (u16, Option<u16>) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port =
        |listener: &std::net::TcpListener| listener.local_addr().expect("a bound port").port();
    let http = bind();
    let https = https.then(bind);
    (port(&http), https.as_ref().map(port))
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

fn write(path: &Path, contents: &[u8]) {
    std::fs::write(path, contents)
        .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|error| panic!("chmod {}: {error}", path.display()));
}

/// The user's primary group (`nobody`'s is `nogroup` on Debian, `nobody` elsewhere): nginx's
/// `user` directive otherwise assumes a group named like the user.
fn primary_group(user: &str) -> String {
    Command::new("id")
        .args(["-gn", user])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| user.to_owned())
}

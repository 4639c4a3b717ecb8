//! A throwaway PostgreSQL server for one test: initdb into a temporary directory, started on a
//! free loopback port with its socket directory inside that directory; stopped and removed when
//! the guard drops (on success and on panic alike).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../support/local_server.rs"]
mod local_server;

use local_server::{is_root, user_or_nobody};

/// What to say when the server binaries are missing.
const INSTALL_HINT: &str = "install the PostgreSQL server (Debian/Ubuntu: `apt-get install \
     postgresql`, which provides initdb and pg_ctl) or point PG_BIN at the directory holding them";

/// A running server; dropping it stops the server and deletes its files.
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `Some(user)` when running as root: every server command runs as that user.
    run_as: Option<String>,
}

impl PgServer {
    /// Starts a server, or returns `None` after printing why the test is skipped (binaries not
    /// installed). Under CI (`CI` set) a missing server panics instead: CI must never skip.
    pub fn start_or_skip() -> Option<PgServer> {
        let Some(bin) = find_binaries() else {
            let message = format!("PostgreSQL server binaries not found: {INSTALL_HINT}");
            if std::env::var_os("CI").is_some() {
                panic!("{message} (CI must not skip these tests)");
            }
            eprintln!("skipped: {message}");
            return None;
        };
        Some(PgServer::start(bin))
    }

    fn start(bin: PathBuf) -> PgServer {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let run_as = if is_root() {
            Some(user_or_nobody("postgres"))
        } else {
            None
        };
        // /tmp when root: the unprivileged user must be able to reach the directory.
        let base = if run_as.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "async-patterns-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("socket")).expect("create the server's directory");
        let mut server = PgServer {
            bin,
            dir,
            port: 0,
            run_as,
        };
        if let Some(user) = &server.run_as {
            run(Command::new("chown").arg("-R").arg(user).arg(&server.dir));
        }
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .expect("run initdb");
        check("initdb", &initdb);
        // A free port can be taken by someone else between the probe and the start: retry.
        for attempt in 1..=5 {
            server.port = free_port();
            if server.try_start() {
                return server;
            }
            eprintln!(
                "postgres did not start on port {} (attempt {attempt})",
                server.port
            );
        }
        panic!("postgres would not start; log:\n{}", server.log());
    }

    /// A client configuration for this server, tagged with `application_name` (which the tests
    /// count connections by in `pg_stat_activity`).
    pub fn config(&self, application_name: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .application_name(application_name);
        config
    }

    /// Fast shutdown: every client connection is cut. Blocks until the server is down.
    pub fn stop_fast(&self) {
        let output = self.pg_ctl(&["-m", "fast", "-w", "stop"]);
        check("pg_ctl stop", &output);
    }

    /// Starts the stopped server again on the same port. Blocks until it accepts connections.
    pub fn start_again(&self) {
        assert!(
            self.try_start(),
            "postgres did not restart; log:\n{}",
            self.log()
        );
    }

    fn try_start(&self) -> bool {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c full_page_writes=off \
             -c max_connections=200",
            self.port,
            self.dir.join("socket").display()
        );
        let log = self.dir.join("server.log");
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .expect("run pg_ctl start");
        output.status.success()
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args)
            .output()
            .expect("run pg_ctl")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// `program` from the server's bin directory, as the unprivileged user when root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate: nothing to keep, and it must not wait for clients still connected.
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}

fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has_both(&dir).then_some(dir);
    }
    // Debian keeps them out of PATH, one directory per major version: take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_both(dir))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn run(command: &mut Command) {
    let output = command.output().expect("run a setup command");
    check(&format!("{command:?}"), &output);
}

fn check(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

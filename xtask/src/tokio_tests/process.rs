//! Running a `cargo test` under a timeout: its output echoed as it arrives (the gate counts
//! libtest's lines as they pass) and kept for parsing, and on the timeout its whole process group
//! killed, so that a deadlocked test binary goes too.

use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a streamed command printed.
pub(super) struct Streamed {
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) timed_out: bool,
}

/// Runs `command`, echoing its stdout and stderr as they arrive (the gate counts libtest's lines
/// as they pass) and keeping them; kills it (cargo and the test binary it runs) after `timeout`.
pub(super) fn run_streaming(mut command: Command, timeout: Duration) -> io::Result<Streamed> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Its own process group, so that the timeout kills the test binary cargo started too.
        command.process_group(0);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let start = Instant::now();
    let mut timed_out = false;
    let (out, err, status) = std::thread::scope(|scope| {
        let out = scope.spawn(move || echo(stdout.as_mut(), &mut io::stdout()));
        let err = scope.spawn(move || echo(stderr.as_mut(), &mut io::stderr()));
        let status: io::Result<ExitStatus> = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if start.elapsed() >= timeout => {
                    timed_out = true;
                    kill_group(&mut child);
                    break child.wait();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(error) => break Err(error),
            }
        };
        (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
            status,
        )
    });
    status?;
    Ok(Streamed {
        stdout: out,
        stderr: err,
        timed_out,
    })
}

/// Kills `child` and, on unix, the process group it leads (see [`run_streaming`]).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let group = format!("-{}", child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .is_ok_and(|status| status.success());
        if killed {
            return;
        }
    }
    let _ = child.kill();
}

/// Copies `from` to `to` as it arrives and returns all of it.
fn echo(from: Option<&mut impl Read>, to: &mut impl Write) -> String {
    let Some(from) = from else {
        return String::new();
    };
    let mut all = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut echo_ok = true;
    loop {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining even if our output is gone, so the child never blocks on a pipe.
                if echo_ok {
                    echo_ok = to.write_all(&buffer[..n]).and_then(|()| to.flush()).is_ok();
                }
                all.extend_from_slice(&buffer[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

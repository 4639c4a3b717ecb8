//! What the throwaway servers of the real-server tests (PostgreSQL, nginx) share: as root (CI),
//! each runs its server's processes as an unprivileged user.

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// `preferred` if that user exists (the server's Debian package creates it), else `nobody`.
pub fn user_or_nobody(preferred: &str) -> String {
    let exists = std::process::Command::new("id")
        .args(["-u", preferred])
        .output()
        .is_ok_and(|output| output.status.success());
    if exists { preferred } else { "nobody" }.to_owned()
}

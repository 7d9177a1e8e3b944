//! Readiness and stop notices for a service manager, systemd's protocol
//! (sd_notify(3)): a datagram to the socket in `$NOTIFY_SOCKET`, if set.
//! With `Type=notify`, systemd counts the daemon started only once it is
//! serving, and orders what depends on it after that.

use std::{io, os::unix::net::UnixDatagram, path::Path};

/// Sends `state` (e.g. `READY=1`) to the service manager, if there is one.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return };
    if let Err(e) = send(Path::new(&socket), state) {
        tracing::warn!(socket = %Path::new(&socket).display(), error = %e, "notifying the service manager");
    }
}

/// How often the service manager wants `WATCHDOG=1` (half its
/// `WatchdogSec=`, as sd_watchdog_enabled(3) advises), when it watches this
/// process.
pub fn watchdog_every() -> Option<std::time::Duration> {
    let (usec, pid) = (std::env::var("WATCHDOG_USEC").ok(), std::env::var("WATCHDOG_PID").ok());
    watchdog_from(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// [`watchdog_every`] from the two variables, for process `me`.
fn watchdog_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<std::time::Duration> {
    let usec: u64 = usec?.parse().ok().filter(|&u| u > 0)?;
    let for_us = pid.is_none_or(|pid| pid.parse() == Ok(me));
    for_us.then(|| std::time::Duration::from_micros(usec / 2))
}

/// A leading `@` names a socket in the abstract namespace.
fn send(socket: &Path, state: &str) -> io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    let text = socket.to_string_lossy();
    match text.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sender.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            sender.send_to(state.as_bytes(), socket)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_arrives_at_a_path_and_an_abstract_socket() {
        let path = std::env::temp_dir().join(format!("anycast-notify-test-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::bind(&path).unwrap();
        send(&path, "READY=1\nSTATUS=serving").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");
        std::fs::remove_file(&path).unwrap();

        use std::os::linux::net::SocketAddrExt;
        let name = format!("anycast-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let receiver = UnixDatagram::bind_addr(&addr).unwrap();
        send(Path::new(&format!("@{name}")), "STOPPING=1").unwrap();
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn the_watchdog_is_fed_at_half_its_period_when_it_watches_this_process() {
        let half = Some(std::time::Duration::from_secs(5));
        assert_eq!(watchdog_from(Some("10000000"), None, 7), half);
        assert_eq!(watchdog_from(Some("10000000"), Some("7"), 7), half);
        assert_eq!(watchdog_from(Some("10000000"), Some("8"), 7), None, "another process's watchdog");
        assert_eq!(watchdog_from(None, None, 7), None);
        assert_eq!(watchdog_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_from(Some("soon"), None, 7), None);
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        assert!(send(Path::new("/nonexistent/anycast.sock"), "READY=1").is_err());
    }
}

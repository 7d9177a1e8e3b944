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
    fn a_missing_socket_is_an_error_not_a_panic() {
        assert!(send(Path::new("/nonexistent/anycast.sock"), "READY=1").is_err());
    }
}

//! Other resolvers run in the lab beside anycastd, from Debian's packages,
//! to compare answers (and later figures) with.

use std::path::Path;

/// An Unbound configuration for the lab: iterating from the lab's root
/// hints, listening on `listen` port 53 for clients in `allow`, running in
/// the foreground with its files under `dir`. Validation is off (the lab
/// root is unsigned: with the validator everything would be SERVFAIL) and
/// IPv6 transport too (the hierarchy is IPv4-only; trying IPv6 would only
/// add timeouts). Unbound answers RFC 6761's `test.` itself by default;
/// the lab delegates it, so that default is turned off.
pub fn unbound_config(listen: &str, allow: &str, hints: &Path, dir: &Path) -> String {
    format!(
        "server:\n\
         \x20   interface: {listen}\n\
         \x20   port: 53\n\
         \x20   interface-automatic: no\n\
         \x20   access-control: {allow} allow\n\
         \x20   do-ip6: no\n\
         \x20   num-threads: 1\n\
         \x20   do-daemonize: no\n\
         \x20   chroot: \"\"\n\
         \x20   username: \"\"\n\
         \x20   directory: \"{dir}\"\n\
         \x20   pidfile: \"\"\n\
         \x20   use-syslog: no\n\
         \x20   logfile: \"\"\n\
         \x20   verbosity: 1\n\
         \x20   root-hints: \"{hints}\"\n\
         \x20   module-config: \"iterator\"\n\
         \x20   local-zone: \"test.\" nodefault\n\
         remote-control:\n\
         \x20   control-enable: no\n",
        dir = dir.display(),
        hints = hints.display(),
    )
}

//! Other resolvers run in the lab beside anycastd, from Debian's packages,
//! to compare answers and figures with. Each gets one thread (the
//! benchmarks give every server one core) and caches sized as in
//! production; Unbound validates when given the lab's trust anchor.

use std::path::Path;

use crate::tls::TlsFiles;

/// An Unbound configuration for the lab: iterating from the lab's root
/// hints, listening on `listen` port 53 for clients in `allow`, running in
/// the foreground with its files under `dir`. It validates from `anchor`
/// when given one (the validator module), else only iterates. IPv6
/// transport is off (the hierarchy is IPv4-only; trying IPv6 would only
/// add timeouts). Its receive buffer is 4 MiB (so-rcvbuf), as its
/// documentation advises for a busy server and as anycastd's default.
pub fn unbound_config(listen: &str, allow: &str, hints: &Path, anchor: Option<&Path>, dir: &Path) -> String {
    let modules = match anchor {
        Some(anchor) => format!("\"validator iterator\"\n    trust-anchor-file: \"{}\"", anchor.display()),
        None => "\"iterator\"".to_string(),
    };
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
         \x20   msg-cache-size: 64m\n\
         \x20   rrset-cache-size: 128m\n\
         \x20   so-reuseport: yes\n\
         \x20   so-rcvbuf: 4m\n\
         \x20   module-config: {modules}\n\
         remote-control:\n\
         \x20   control-enable: no\n",
        dir = dir.display(),
        hints = hints.display(),
    )
}

/// A Knot Resolver (kresd 5) configuration: iterating from the lab's root
/// hints on `listen` port 53, for clients in `allow` (kresd answers
/// anyone by default), its cache (256 MB, LMDB) under `dir`, validating
/// from `anchor` (the lab's root DS) instead of IANA's.
pub fn kresd_config(listen: &str, allow: &str, hints: &Path, anchor: &Path, dir: &Path) -> String {
    format!(
        "net.ipv6 = false\n\
         net.listen('{listen}', 53, {{ kind = 'dns' }})\n\
         modules.load('view')\n\
         view:addr('{allow}', policy.all(policy.PASS))\n\
         view:addr('0.0.0.0/0', policy.all(policy.REFUSE))\n\
         trust_anchors.remove('.')\n\
         trust_anchors.add_file('{anchor}', true)\n\
         modules.load('hints > iterate')\n\
         hints.root_file('{hints}')\n\
         cache.open(256 * MB, 'lmdb://{dir}/cache')\n",
        dir = dir.display(),
        hints = hints.display(),
        anchor = anchor.display(),
    )
}

/// A PowerDNS Recursor (4.8) configuration: iterating from the lab's root
/// hints on `listen` port 53 for clients in `allow`, validating from the
/// trust anchors `lua` (see [`pdns_trust_anchors`]) names. Its default
/// `dont-query` holds 10.0.0.0/8, where the lab's servers are: emptied.
pub fn pdns_recursor_config(listen: &str, allow: &str, hints: &Path, lua: &Path, dir: &Path) -> String {
    format!(
        "local-address={listen}\n\
         local-port=53\n\
         allow-from={allow}\n\
         hint-file={hints}\n\
         dont-query=\n\
         dnssec=validate\n\
         lua-config-file={lua}\n\
         threads=1\n\
         pdns-distributes-queries=no\n\
         reuseport=yes\n\
         daemon=no\n\
         write-pid=no\n\
         socket-dir={dir}\n\
         disable-syslog=yes\n\
         quiet=yes\n\
         security-poll-suffix=\n\
         webserver=no\n",
        dir = dir.display(),
        hints = hints.display(),
        lua = lua.display(),
    )
}

/// PowerDNS Recursor's trust anchors (its Lua configuration) for the DS
/// lines of `anchor_text`, in place of the built-in root's.
pub fn pdns_trust_anchors(anchor_text: &str) -> String {
    let mut lua = String::from("clearTA('.')\n");
    for line in anchor_text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some(at) = fields.iter().position(|f| *f == "DS") {
            lua.push_str(&format!("addTA('{}', \"{}\")\n", fields[0], fields[at + 1..].join(" ")));
        }
    }
    lua
}

/// More of Unbound's configuration: DNS over TLS on 853 and over HTTPS on
/// 443 at `listen`, with the lab's certificate, taking as many TCP
/// connections as anycastd does (its default is 10 a thread).
pub fn unbound_tls(listen: &str, tls: &TlsFiles) -> String {
    format!(
        "server:\n\
         \x20   interface: {listen}@853\n\
         \x20   interface: {listen}@443\n\
         \x20   tls-port: 853\n\
         \x20   https-port: 443\n\
         \x20   http-endpoint: \"/dns-query\"\n\
         \x20   tls-service-pem: \"{certificate}\"\n\
         \x20   tls-service-key: \"{key}\"\n\
         \x20   incoming-num-tcp: 1024\n",
        certificate = tls.certificate.display(),
        key = tls.key.display(),
    )
}

/// More of kresd's configuration: DNS over TLS on 853 and over HTTPS
/// (HTTP/2, `/dns-query`) on 443 at `listen`, with the lab's certificate.
pub fn kresd_tls(listen: &str, tls: &TlsFiles) -> String {
    format!(
        "net.tls('{certificate}', '{key}')\n\
         net.listen('{listen}', 853, {{ kind = 'tls' }})\n\
         net.listen('{listen}', 443, {{ kind = 'doh2' }})\n",
        certificate = tls.certificate.display(),
        key = tls.key.display(),
    )
}

/// A dnsdist (1.7) configuration: a packet cache as large as the
/// resolvers' in front of `backend` (a resolver on port 53), answering
/// clients in `allow` on `listen` port 53. With [`dnsdist_tls`], also DNS
/// over TLS and HTTPS: the proxy operators put in front of a resolver for
/// encrypted DNS.
pub fn dnsdist_config(listen: &str, allow: &str, backend: &str) -> String {
    format!(
        "setLocal('{listen}:53')\n\
         setACL({{'{allow}'}})\n\
         newServer({{address='{backend}:53', checkName='www.lab.'}})\n\
         getPool(''):setCache(newPacketCache(1000000, {{maxTTL=86400, minTTL=0}}))\n"
    )
}

/// More of dnsdist's configuration: DNS over TLS on 853 and over HTTPS
/// (`/dns-query`) on 443 at `listen`, with the lab's certificate.
pub fn dnsdist_tls(listen: &str, tls: &TlsFiles) -> String {
    format!(
        "addTLSLocal('{listen}:853', '{certificate}', '{key}', {{provider='openssl'}})\n\
         addDOHLocal('{listen}:443', '{certificate}', '{key}', '/dns-query')\n",
        certificate = tls.certificate.display(),
        key = tls.key.display(),
    )
}

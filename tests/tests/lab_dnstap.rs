//! dnstap as operators collect it: anycastd writes to the socket of
//! Debian's `fstrm_capture`, and `dnstap -r` (golang-dnstap) decodes the
//! file. Each query (a miss over UDP, TCP, a refused one) must appear as
//! the messages it makes, with their types, addresses and questions; with
//! the collector gone the node answers as before and counts what it
//! drops, and reconnects when it is back.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anycast_lab::{
    process::Process,
    topology::{CLIENT4, Lab, VIP4},
    wait,
};
use anycast_tests::{
    lab::{anycastd_binary, lab},
    traffic::Traffic,
};
use serde_json::Value;

/// `fstrm_capture` on a socket, writing a file.
struct Collector {
    process: Process,
    file: PathBuf,
}

impl Collector {
    fn start(socket: &Path, file: &Path, log: &Path) -> Collector {
        let _ = std::fs::remove_file(socket);
        let mut command = Command::new("fstrm_capture");
        command.args(["-t", "protobuf:dnstap.Dnstap", "-u"]).arg(socket).arg("-w").arg(file);
        let process = Process::spawn(&mut command, log).unwrap_or_else(|e| panic!("starting fstrm_capture: {e}"));
        wait("fstrm_capture's socket", Duration::from_secs(5), || socket.exists()).expect("the collector listens");
        Collector { process, file: file.to_path_buf() }
    }

    /// Stops the collector (it closes its file) and decodes what it got.
    fn stop(mut self) -> Vec<Value> {
        self.process.stop("TERM", Duration::from_secs(5)).expect("fstrm_capture stops");
        let out = Command::new("dnstap").arg("-r").arg(&self.file).arg("-j").output().expect("running dnstap");
        assert!(out.status.success(), "dnstap -r: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("dnstap's JSON `{l}`: {e}"))).collect()
    }
}

fn node_with_dnstap(socket: &Path) -> Lab {
    let config = std::env::temp_dir().join(format!("anycast-dnstap-{}.toml", std::process::id()));
    let text =
        format!("[dnstap]\nsocket = \"{}\"\nresolver_query = true\nresolver_response = true\n", socket.display());
    std::fs::write(&config, text).expect("writing the config");
    let mut lab = lab();
    let config_arg = config.display().to_string();
    lab.start_anycastd_with(&anycastd_binary(), "native", &["--config", &config_arg, "--nsid", "tap-node"])
        .unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    let _ = std::fs::remove_file(&config);
    lab
}

/// What one message must be: its type, transport, initiator, responder
/// (None: any), and a line of its DNS message as `dnstap` prints it.
struct Expected {
    what: &'static str,
    kind: &'static str,
    protocol: &'static str,
    query_address: String,
    response_address: Option<&'static str>,
    line: &'static str,
}

fn client(what: &'static str, kind: &'static str, protocol: &'static str, line: &'static str) -> Expected {
    Expected { what, kind, protocol, query_address: CLIENT4.into(), response_address: Some(VIP4), line }
}

/// The DNS message of `m` as `dnstap -j` prints it, lower-cased (the
/// resolver's questions are in 0x20 case).
fn text(m: &Value) -> String {
    let message = &m["message"];
    let text = message["query_message"].as_str().or(message["response_message"].as_str()).unwrap_or_default();
    text.to_lowercase()
}

fn matches(m: &Value, e: &Expected) -> bool {
    let message = &m["message"];
    message["type"] == e.kind
        && message["socket_protocol"] == e.protocol
        && message["query_address"] == e.query_address.as_str()
        && e.response_address.is_none_or(|a| message["response_address"] == a)
        && text(m).contains(&e.line.to_lowercase())
}

/// The expected messages none of `messages` matches.
fn missing<'a>(messages: &[Value], expected: &'a [Expected]) -> Vec<&'a str> {
    expected.iter().filter(|e| !messages.iter().any(|m| matches(m, e))).map(|e| e.what).collect()
}

fn ask(lab: &Lab, args: &[&str]) {
    let server = format!("@{VIP4}");
    let mut all = vec!["+tries=1", "+time=2", server.as_str()];
    all.extend_from_slice(args);
    lab.dig(&all).unwrap_or_else(|e| panic!("dig {args:?}: {e}"));
}

#[test]
fn the_daemons_messages_reach_a_debian_collector() {
    let dir = std::env::temp_dir().join(format!("anycast-dnstap-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("tap.sock");
    let collector = Collector::start(&socket, &dir.join("tap.fstrm"), &dir.join("fstrm_capture.log"));
    let lab = node_with_dnstap(&socket);
    let connected = || lab.stat("anycast_dnstap_connected").is_ok_and(|v| v == 1);
    wait("dnstap connected", Duration::from_secs(5), connected).expect("anycastd connects to the collector");
    ask(&lab, &["h1.example.lab.", "A"]);
    ask(&lab, &["+tcp", "h2.example.lab.", "A"]);
    ask(&lab, &["version.bind.", "TXT", "CH"]);
    std::thread::sleep(Duration::from_millis(300));
    let messages = collector.stop();
    let expected = [
        client("UDP miss, query", "CLIENT_QUERY", "UDP", ";h1.example.lab.\tIN\t A"),
        client("UDP miss, response", "CLIENT_RESPONSE", "UDP", "h1.example.lab.\t300\tIN\tA\t10.99.6.1"),
        Expected {
            what: "the miss resolved: the query to example.lab's server",
            kind: "RESOLVER_QUERY",
            protocol: "UDP",
            query_address: lab.node_uplink_address(),
            response_address: None,
            line: ";h1.example.lab.\tIN\t A",
        },
        Expected {
            what: "the miss resolved: the server's answer",
            kind: "RESOLVER_RESPONSE",
            protocol: "UDP",
            query_address: lab.node_uplink_address(),
            response_address: None,
            line: "h1.example.lab.\t300\tIN\tA\t10.99.6.1",
        },
        client("TCP, query", "CLIENT_QUERY", "TCP", ";h2.example.lab.\tIN\t A"),
        client("TCP, response", "CLIENT_RESPONSE", "TCP", "h2.example.lab.\t300\tIN\tA\t10.99.6.2"),
        client("CH class, query", "CLIENT_QUERY", "UDP", ";version.bind.\tCH\t TXT"),
        client("CH class, refused", "CLIENT_RESPONSE", "UDP", "status: REFUSED"),
    ];
    let absent = missing(&messages, &expected);
    assert!(absent.is_empty(), "not in the {} messages collected: {absent:?}", messages.len());
    let wrong_origin = messages.iter().filter(|m| m["identity"] != "tap-node" || m["version"].is_null()).count();
    assert_eq!(wrong_origin, 0, "every message carries the NSID as identity, and a version");

    // The collector gone, the node answers as before and counts what it
    // could not log; back, it is written to again.
    let dropped = "anycast_dnstap_messages_total{outcome=\"dropped\"}";
    let before = lab.stat(dropped).unwrap();
    let flood = Traffic::random_flood(&lab.client, VIP4, "flood.example.lab.", 200, 1.0, CLIENT4).finish();
    assert_eq!(flood["answered"], flood["sent"], "every query answered without a collector: {flood}");
    let lost = lab.stat(dropped).unwrap() - before;
    assert!(lost >= 2 * flood["sent"].as_u64().unwrap(), "{lost} dropped for {flood}");
    let collector = Collector::start(&socket, &dir.join("again.fstrm"), &dir.join("fstrm_capture-again.log"));
    wait("dnstap reconnected", Duration::from_secs(5), connected).expect("anycastd reconnects");
    ask(&lab, &["h3.example.lab.", "A"]);
    std::thread::sleep(Duration::from_millis(300));
    let again = collector.stop();
    let expected = [client("after the collector's restart", "CLIENT_RESPONSE", "UDP", "h3.example.lab.\t300\tIN\tA")];
    assert!(missing(&again, &expected).is_empty(), "not logged after the restart: {again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

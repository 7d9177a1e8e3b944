//! dnstap as operators collect it: anycastd writes to the socket of
//! Debian's `fstrm_capture`, and `dnstap -r` (golang-dnstap) decodes the
//! file. Each query (a miss over UDP, TCP, DNS over TLS and HTTPS, a
//! refused one, a repeat the XDP
//! program answers, a flood the XDP rate limiter slips and drops) must
//! appear as the messages it makes, with their types, addresses and
//! messages; the fast path's are marked in `extra` (which the Debian tools
//! do not print: the file is decoded here too for it). With the collector
//! gone the node answers as before and counts what it drops, and
//! reconnects when it is back; `ctl top` shows the stream that follows.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anycast_lab::{
    process::Process,
    tls::NODE_NAME,
    topology::{CLIENT4, Lab, VIP4},
    wait,
};
use anycast_tests::{
    lab::{anycastd_binary, lab},
    traffic::{Flood, Traffic},
    zone::{EDNS, query, wire},
};
use anycast_user::dnstap::message::Dnstap;
use hickory_proto::{
    op::{Message, ResponseCode},
    rr::RecordType,
};
use prost::Message as _;
use serde_json::Value;

/// A client in another /24, whose flood the rate limit catches.
const FLOODER: &str = "10.98.7.2";
/// The limit: well above what the rest of the test sends from CLIENT4.
const RATE: u32 = 500;

/// `extra` of the fast path's answers, slips and drops.
const XDP_ANSWERED: &[u8] = b"anycastd: answered at XDP";
const XDP_SLIPPED: &[u8] = b"anycastd: rate-limited at XDP, slipped";
const XDP_DROPPED: &[u8] = b"anycastd: rate-limited at XDP, dropped";

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

    /// Stops the collector (it closes its file); what `dnstap -r -j`
    /// decodes of it, and the messages decoded here.
    fn stop(mut self) -> (Vec<Value>, Vec<Dnstap>) {
        self.process.stop("TERM", Duration::from_secs(5)).expect("fstrm_capture stops");
        let out = Command::new("dnstap").arg("-r").arg(&self.file).arg("-j").output().expect("running dnstap");
        assert!(out.status.success(), "dnstap -r: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let json = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("dnstap's JSON `{l}`: {e}")))
            .collect();
        (json, frames(&std::fs::read(&self.file).expect("the collector's file")))
    }
}

/// The dnstap messages of a Frame Streams file (control frames skipped).
fn frames(mut bytes: &[u8]) -> Vec<Dnstap> {
    let mut out = Vec::new();
    let take = |bytes: &mut &[u8]| {
        let (len, rest) = bytes.split_first_chunk::<4>().expect("a whole frame length");
        *bytes = rest;
        u32::from_be_bytes(*len) as usize
    };
    while !bytes.is_empty() {
        let len = take(&mut bytes);
        let skip = if len == 0 { take(&mut bytes) } else { len };
        if len != 0 {
            out.push(Dnstap::decode(&bytes[..len]).expect("a dnstap message"));
        }
        bytes = &bytes[skip..];
    }
    out
}

fn node_with_dnstap(socket: &Path) -> Lab {
    let config = std::env::temp_dir().join(format!("anycast-dnstap-{}.toml", std::process::id()));
    let text = format!(
        "[dnstap]\nsocket = \"{}\"\nresolver_query = true\nresolver_response = true\n\
         [rate_limit]\nresponses_per_second = {RATE}\nburst = {RATE}\nslip = 2\n",
        socket.display()
    );
    let mut lab = lab();
    let tls = lab.tls_files().unwrap_or_else(|e| panic!("the lab's certificate: {e}"));
    let text =
        format!("{text}[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n", tls.certificate.display(), tls.key.display());
    std::fs::write(&config, text).expect("writing the config");
    let config_arg = config.display().to_string();
    let args = ["--config", &config_arg, "--nsid", "tap-node", "--allow", "10.98.7.0/24"];
    lab.start_anycastd_with(&anycastd_binary(), "native", &args).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    let _ = std::fs::remove_file(&config);
    lab.client.ip(&["addr", "add", &format!("{FLOODER}/32"), "dev", &lab.client_if]).expect("the flooder's address");
    lab.node.ip(&["route", "add", &format!("{FLOODER}/32"), "dev", &lab.node_if]).expect("the route back");
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

/// The fast path's messages marked `extra`: (type, client, DNS message).
fn marked(messages: &[Dnstap], extra: &[u8]) -> Vec<(i32, String, Message)> {
    messages
        .iter()
        .filter(|m| m.extra.as_deref() == Some(extra))
        .filter_map(|m| {
            let message = m.message.as_ref()?;
            let bytes = message.response_message.as_ref().or(message.query_message.as_ref())?;
            let client = message.query_address.as_ref().map(|a| format!("{a:?}")).unwrap_or_default();
            Some((message.r#type, client, Message::from_vec(bytes).ok()?))
        })
        .collect()
}

/// What is wrong with the fast path's messages: the repeat of h1
/// answered, and each of the flood's `slips` (TC=1) and `drops` there.
fn fast_path_problems(messages: &[Dnstap], slips: u64, drops: u64) -> Vec<String> {
    let (client, flooder) = (format!("{:?}", [10u8, 99, 1, 2]), format!("{:?}", [10u8, 98, 7, 2]));
    let answered = marked(messages, XDP_ANSWERED);
    let slipped = marked(messages, XDP_SLIPPED);
    let dropped = marked(messages, XDP_DROPPED);
    let mut problems = Vec::new();
    let repeat = answered.iter().any(|(kind, from, m)| {
        *kind == 6 && *from == client && m.queries[0].name().to_ascii() == "h1.example.lab." && m.answers.len() == 1
    });
    if !repeat {
        problems.push(format!("no CLIENT_RESPONSE at XDP for the repeat of h1 among {} answered", answered.len()));
    }
    let is_tc = |(kind, from, m): &&(i32, String, Message)| *kind == 6 && *from == flooder && m.metadata.truncation;
    let is_query = |(kind, from, m): &&(i32, String, Message)| *kind == 5 && *from == flooder && m.answers.is_empty();
    let (tc, queries) = (slipped.iter().filter(is_tc).count() as u64, dropped.iter().filter(is_query).count() as u64);
    if (tc, slipped.len() as u64) != (slips, slips) {
        problems.push(format!("{tc} TC=1 responses to the flooder of {} slips logged; {slips} sent", slipped.len()));
    }
    if (queries, dropped.len() as u64) != (drops, drops) {
        problems.push(format!("{queries} queries of the flooder of {} drops logged; {drops} dropped", dropped.len()));
    }
    if answered.iter().any(|(_, _, m)| m.metadata.response_code != ResponseCode::NoError) {
        problems.push("an answer at XDP that is not NOERROR".into());
    }
    problems
}

/// Labs are named after the process: the tests here take turns.
static ONE_LAB_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn both_paths_messages_reach_a_debian_collector() {
    let _turn = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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
    let ca = format!("+tls-ca={}", lab.tls_files().expect("the lab's CA").ca.display());
    let host = format!("+tls-hostname={NODE_NAME}");
    ask(&lab, &["+tls", &ca, &host, "h4.example.lab.", "A"]);
    ask(&lab, &["+https", &ca, &host, "h5.example.lab.", "A"]);
    // The repeat is the daemon's, from its hot answers, and admits h1 to
    // the map; the next is the fast path's.
    ask(&lab, &["h1.example.lab.", "A"]);
    ask(&lab, &["h1.example.lab.", "A"]);
    let flood = Traffic::flood(&lab.client, VIP4, "www.lab.", 6 * RATE, 6 * RATE, FLOODER, Flood::Plain).finish();
    println!("the flooder's {flood}");
    std::thread::sleep(Duration::from_millis(500));
    let (json, messages) = collector.stop();
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
        client("DNS over TLS, query", "CLIENT_QUERY", "DOT", ";h4.example.lab.\tIN\t A"),
        client("DNS over TLS, response", "CLIENT_RESPONSE", "DOT", "h4.example.lab.\t300\tIN\tA\t10.99.6.4"),
        client("DNS over HTTPS, query", "CLIENT_QUERY", "DOH", ";h5.example.lab.\tIN\t A"),
        client("DNS over HTTPS, response", "CLIENT_RESPONSE", "DOH", "h5.example.lab.\t300\tIN\tA\t10.99.6.5"),
    ];
    let absent = missing(&json, &expected);
    assert!(absent.is_empty(), "not in the {} messages `dnstap` decoded: {absent:?}", json.len());
    let h1 = client("", "CLIENT_RESPONSE", "UDP", "h1.example.lab.\t300\tIN\tA\t10.99.6.1");
    let h1_responses = json.iter().filter(|m| matches(m, &h1)).count();
    assert_eq!(h1_responses, 3, "`dnstap` decodes the daemon's two answers to h1 and the fast path's");
    assert_eq!(json.len(), messages.len(), "`dnstap` and this test decode the same messages");
    let wrong_origin = json.iter().filter(|m| m["identity"] != "tap-node" || m["version"].is_null()).count();
    assert_eq!(wrong_origin, 0, "every message carries the NSID as identity, and a version");
    let (slips, drops) = (flood["truncated"].as_u64().unwrap(), flood["silent"].as_u64().unwrap());
    assert!(slips > 0 && drops > 0, "the flood went over the limit: {flood}");
    let problems = fast_path_problems(&messages, slips, drops);
    assert!(problems.is_empty(), "the fast path's messages:\n  {}", problems.join("\n  "));

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
    let (again, _) = collector.stop();
    let expected = [client("after the collector's restart", "CLIENT_RESPONSE", "UDP", "h3.example.lab.\t300\tIN\tA")];
    assert!(missing(&again, &expected).is_empty(), "not logged after the restart: {again:?}");

    // `ctl top` under a steady stream: the XDP rate, and the name and the
    // client of the sampled answers.
    let stream = Traffic::stream(&lab.client, VIP4, "www.lab.", 200, 4.0, 1.0, None);
    let top = Command::new(anycastd_binary())
        .args(["ctl", "--socket"])
        .arg(lab.control_socket())
        .args(["top", "2"])
        .output()
        .expect("anycastd ctl top");
    let screens = String::from_utf8_lossy(&top.stdout);
    stream.finish();
    assert!(top.status.success(), "ctl top: {}", String::from_utf8_lossy(&top.stderr));
    let last = screens.rsplit("anycastd top:").next().unwrap_or_default();
    let xdp_rate: f64 = last
        .split_whitespace()
        .skip_while(|w| *w != "XDP")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no XDP rate in:\n{last}"));
    assert!((100.0..=300.0).contains(&xdp_rate), "XDP {xdp_rate}/s for a 200/s stream:\n{last}");
    let top_row =
        last.lines().find(|l| l.contains(" www.lab.")).unwrap_or_else(|| panic!("www.lab. not on top:\n{last}"));
    assert!(top_row.contains(CLIENT4), "the client beside it: {top_row}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The frames of a pcap file (nanosecond or microsecond, little-endian).
fn pcap_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let magic = u32::from_le_bytes(bytes[..4].try_into().unwrap());
    assert!(matches!(magic, 0xa1b2_3c4d | 0xa1b2_c3d4), "pcap magic {magic:#x}");
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(bytes[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}

/// `ctl capture` while the client asks: the pcap holds the queries of the
/// name asked for, as they came, and the frames the fast path sent back,
/// whose DNS message is what the client received; tcpdump reads it.
#[test]
fn ctl_capture_shows_the_fast_paths_answers_byte_for_byte() {
    let _turn = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut lab = lab();
    lab.start_anycastd(&anycastd_binary(), &[]).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    let h1 = wire(&query(0x0c01, "h1.example.lab.", RecordType::A, EDNS));
    let h2 = wire(&query(0x0c02, "h2.example.lab.", RecordType::A, None));
    // Twice: a second ask admits an answer to the map.
    Traffic::exchange(&lab.client, VIP4, &[h1.clone(), h2.clone(), h1.clone(), h2.clone()]);
    let pcap = lab.dir.join("capture.pcap");
    let file = std::fs::File::create(&pcap).expect("the pcap file");
    let mut ctl = Command::new(anycastd_binary())
        .args(["ctl", "--socket"])
        .arg(lab.control_socket())
        .args(["capture", "count", "3", "seconds", "20", "name", "h1.example.lab", "client", CLIENT4])
        .stdout(file)
        .spawn()
        .expect("anycastd ctl capture");
    // Until the capture has its three: it starts when the daemon reads the
    // command, so the first rounds may come before.
    let mut received = Vec::new();
    for _ in 0..40 {
        if ctl.try_wait().expect("the capture's status").is_some() {
            break;
        }
        let before = lab.stat("anycast_xdp_packets_total{outcome=\"answered\"}").unwrap();
        let responses = Traffic::exchange(&lab.client, VIP4, &[h2.clone(), h1.clone()]);
        assert_eq!(lab.stat("anycast_xdp_packets_total{outcome=\"answered\"}").unwrap(), before + 2, "both at XDP");
        received.extend(responses.into_iter().flatten().filter(|r| r[..2] == h1[..2]));
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = ctl.wait().expect("the capture ends");
    assert!(status.success(), "ctl capture: {status}");
    let frames = pcap_frames(&std::fs::read(&pcap).unwrap());
    assert_eq!(frames.len(), 6, "three answers of h1, each its query and its response; h2 filtered out");
    for pair in frames.chunks(2) {
        let (query_frame, response_frame) = (&pair[0], &pair[1]);
        assert!(query_frame.ends_with(&h1), "the query frame ends with the query sent");
        let dns = &response_frame[14 + 20 + 8..];
        assert!(received.iter().any(|r| r == dns), "the response frame carries what the client received: {dns:02x?}");
        assert_eq!(response_frame[..6], query_frame[6..12], "sent back to the query's source MAC");
    }
    let out = Command::new("tcpdump").args(["-nn", "-r"]).arg(&pcap).output().expect("tcpdump -r");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tcpdump -r: {}", String::from_utf8_lossy(&out.stderr));
    let answers =
        text.lines().filter(|l| l.contains(&format!("{VIP4}.53 > {CLIENT4}")) && l.contains("A 10.99.6.1")).count();
    assert_eq!(answers, 3, "tcpdump shows the three answers:\n{text}");
}

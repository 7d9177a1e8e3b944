//! Client traffic for the lab tests: Python scripts run in a namespace in
//! the background, each reporting one JSON object when it is done.

use std::process::{Child, Stdio};

use anycast_lab::netns::Netns;
use serde_json::Value;

const STREAM: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/query_stream.py"));
const FLOOD: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/flood.py"));
const STEADY: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/steady.py"));
const RANDOM_FLOOD: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/random_flood.py"));
const TCP_HOARD: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/tcp_hoard.py"));
const ENCRYPTED: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/encrypted.py"));
const SPOOFER: &str = include_str!("../scripts/spoofer.py");
const EXCHANGE: &str = include_str!("../scripts/exchange.py");
const ASK_EACH: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/ask_each.py"));

/// A script running in the background; killed if dropped unfinished.
pub struct Traffic {
    what: &'static str,
    child: Option<Child>,
}

impl Traffic {
    fn start(what: &'static str, ns: &Netns, script: &str, args: &[String]) -> Traffic {
        let mut command = ns.command("python3");
        command.arg("-c").arg(script).args(args).stdout(Stdio::piped());
        let child = command.spawn().unwrap_or_else(|e| panic!("starting the {what}: {e}"));
        Traffic { what, child: Some(child) }
    }

    /// A steady stream of `rate` queries a second for `name` to `server`
    /// for `seconds` (see `query_stream.py`), from `source` if given.
    pub fn stream(
        ns: &Netns,
        server: &str,
        name: &str,
        rate: u32,
        seconds: f64,
        timeout: f64,
        source: Option<&str>,
    ) -> Traffic {
        let mut args = vec![server.into(), name.into(), rate.to_string(), seconds.to_string(), timeout.to_string()];
        args.extend(source.map(str::to_string));
        Traffic::start("query stream", ns, STREAM, &args)
    }

    /// `count` queries at `rate` a second from `source`, carrying `kind`
    /// (see `flood.py`).
    pub fn flood(ns: &Netns, server: &str, name: &str, count: u32, rate: u32, source: &str, kind: Flood) -> Traffic {
        let args = [server, name, &count.to_string(), &rate.to_string(), source, kind.name()];
        Traffic::start("flood", ns, FLOOD, &args.map(str::to_string))
    }

    /// A steady client from `source` for `seconds` (see `steady.py`): `hot`
    /// and fresh names under `zone`, over UDP and TCP, `rate` rounds a
    /// second.
    pub fn steady(ns: &Netns, server: &str, hot: &str, zone: &str, rate: f64, seconds: f64, source: &str) -> Traffic {
        let args = [server, hot, zone, &rate.to_string(), &seconds.to_string(), source];
        Traffic::start("steady client", ns, STEADY, &args.map(str::to_string))
    }

    /// `rate` queries a second for names that never repeat under `zone`,
    /// for `seconds` (see `random_flood.py`).
    pub fn random_flood(ns: &Netns, server: &str, zone: &str, rate: u32, seconds: f64, source: &str) -> Traffic {
        let args = [server, zone, &rate.to_string(), &seconds.to_string(), source];
        Traffic::start("random-subdomain flood", ns, RANDOM_FLOOD, &args.map(str::to_string))
    }

    /// `count` TCP connections from `source` that send a query and never
    /// read, held `seconds` (see `tcp_hoard.py`).
    pub fn tcp_hoard(ns: &Netns, server: &str, count: u32, seconds: f64, source: &str) -> Traffic {
        let args = [server, &count.to_string(), &seconds.to_string(), source];
        Traffic::start("TCP hoarder", ns, TCP_HOARD, &args.map(str::to_string))
    }

    /// A DNS over TLS or HTTPS client of `server`, trusting the CA in
    /// `ca`, doing what `mode` says with `args` (see `encrypted.py`).
    pub fn encrypted(ns: &Netns, mode: &str, server: &str, ca: &std::path::Path, args: &[&str]) -> Traffic {
        let mut all = vec![mode.to_string(), server.to_string(), ca.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        Traffic::start("encrypted DNS client", ns, ENCRYPTED, &all)
    }

    /// A forger watching `interface` for the A queries `node` sends to
    /// `server`, answering each with forgeries to `poison` for `seconds`
    /// (see `spoofer.py`).
    pub fn spoofer(ns: &Netns, interface: &str, server: &str, node: &str, seconds: f64, poison: &str) -> Traffic {
        let args = [interface, server, node, &seconds.to_string(), poison];
        Traffic::start("spoofer", ns, SPOOFER, &args.map(str::to_string))
    }

    /// Sends each of `queries` (wire form) to `server` in turn and returns
    /// each response (None where none came), in order (see `exchange.py`).
    pub fn exchange(ns: &Netns, server: &str, queries: &[Vec<u8>]) -> Vec<Option<Vec<u8>>> {
        let mut args = vec![server.to_string()];
        args.extend(queries.iter().map(|q| q.iter().map(|b| format!("{b:02x}")).collect::<String>()));
        let report = Traffic::start("exchange", ns, EXCHANGE, &args).finish();
        let hex = |h: &str| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
        report["responses"].as_array().expect("responses").iter().map(|r| r.as_str().map(hex)).collect()
    }

    /// Asks `server` for each name of the file `names` once, in turn,
    /// timing each answer (see `ask_each.py`); its report.
    pub fn ask_each(ns: &Netns, server: &str, names: &std::path::Path) -> Value {
        let args = [server.to_string(), names.display().to_string()];
        Traffic::start("one query a name", ns, ASK_EACH, &args).finish()
    }

    /// Waits for the script and returns its report.
    pub fn finish(mut self) -> Value {
        let child = self.child.take().expect("a running script");
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("waiting for the {}: {e}", self.what));
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("the {}'s report `{text}`: {e}", self.what))
    }
}

/// What the queries of a flood carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flood {
    Plain,
    /// An EDNS client subnet option: the XDP program leaves them to the
    /// daemon.
    Subnet,
    /// A client cookie.
    ClientCookie,
    /// The client cookie and the server cookie a first query learned.
    ServerCookie,
}

impl Flood {
    fn name(self) -> &'static str {
        match self {
            Flood::Plain => "plain",
            Flood::Subnet => "subnet",
            Flood::ClientCookie => "cookie",
            Flood::ServerCookie => "server-cookie",
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! h2load (nghttp2's HTTP/2 benchmark) as the DNS over HTTPS client next
//! to dnsperf. dnsperf's DoH client (2.10 here; the same code in 2.14)
//! takes at most one response from each TLS record it reads: once it holds
//! a complete answer, its nghttp2 data callback pauses on the next
//! response's DATA without keeping the bytes, which nghttp2 counts as
//! delivered (net_doh.c, `_http2_data_chunk_recv_cb`), so that query is
//! lost. A server that writes one response per record (Unbound) is
//! measured; one that puts the answers ready at once in one record, as
//! hyper's h2 does (anycastd), is not: a tcpdump of `dnsperf -m doh -c 1
//! -q 10` against anycastd shows a 705-byte record with seven answers, of
//! which dnsperf counts one (dnsdist's row fails the same way). h2load asks the hot set as GET
//! `?dns=` requests over 8 connections of 100 streams each, pinned to the
//! client core, for a fixed time.

use std::path::Path;

use anycast_lab::{netns::Netns, topology::VIP4};
use anyhow::{Context, Result, bail};
use data_encoding::BASE64URL_NOPAD;

use super::cpu::CLIENT_CPU;

const CONNECTIONS: &str = "8";
const STREAMS: &str = "100";

/// Writes the GET URIs for `queries` (wire form, ID 0) to `path`.
pub fn write_uris(path: &Path, queries: &[Vec<u8>]) -> Result<()> {
    let uris: String =
        queries.iter().map(|q| format!("https://{VIP4}/dns-query?dns={}\n", BASE64URL_NOPAD.encode(q))).collect();
    std::fs::write(path, uris).with_context(|| format!("writing {}", path.display()))
}

/// Requests a second answered with 2xx over `seconds`, asking the URIs in
/// `uris` in turn.
pub fn run(client: &Netns, uris: &Path, seconds: u32) -> Result<f64> {
    let (cpu, uris, duration) = (CLIENT_CPU.to_string(), uris.display().to_string(), seconds.to_string());
    let args = ["-c", &cpu, "h2load", "-t", "1", "-c", CONNECTIONS, "-m", STREAMS, "-D", &duration, "-i", &uris];
    let out = client.exec("taskset", &args).context("running h2load")?;
    parse(&out, seconds)
}

fn parse(out: &str, seconds: u32) -> Result<f64> {
    let succeeded = out
        .lines()
        .find_map(|l| l.strip_prefix("status codes: "))
        .and_then(|codes| codes.split_whitespace().next()?.parse::<f64>().ok())
        .with_context(|| format!("no `status codes:` in h2load's output:\n{out}"))?;
    if succeeded == 0.0 {
        bail!("h2load got no 2xx answer:\n{out}");
    }
    Ok(succeeded / f64::from(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_answered_requests() {
        let out = "finished in 5.00s, 91234.00 req/s, 9.1MB/s\n\
                   requests: 456170 total, 456270 started, 456170 done, 456170 succeeded, 0 failed\n\
                   status codes: 456170 2xx, 0 3xx, 0 4xx, 0 5xx\n";
        assert_eq!(parse(out, 5).unwrap(), 91_234.0);
        assert!(parse("status codes: 0 2xx, 0 3xx, 10 4xx, 0 5xx\n", 5).is_err());
    }
}

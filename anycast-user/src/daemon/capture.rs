//! `ctl capture`: the frames of the fast path's answers as a pcap stream
//! (nanosecond timestamps, Ethernet), each answer as the query that came
//! and the frame that went back, both stamped with the time it was
//! answered. The program records only while a capture runs (one at a
//! time); the daemon keeps the answers whose client and name match, for
//! `count` answers or `seconds`, whichever comes first, or until the
//! reader goes away.

use std::{
    net::IpAddr,
    time::{Duration, UNIX_EPOCH},
};

use anycast_common::tap::CaptureRecord;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use hickory_proto::{op::Message, rr::Name};
use ipnet::IpNet;
use tokio::{
    io::{AsyncWrite, AsyncWriteExt, unix::AsyncFd},
    sync::Mutex,
    time::{Instant, timeout_at},
};

use crate::{clock::Moment, fastpath::tap::CaptureRing, feed::Feed};

/// The answers captured unless `count` says, and the longest a capture
/// runs unless `seconds` says.
const DEFAULT_COUNT: u64 = 100;
const DEFAULT_SECONDS: u64 = 10;
const MAX_SECONDS: u64 = 3600;

/// The capture ring, for one capture at a time.
pub struct Capture {
    ring: Mutex<AsyncFd<CaptureRing>>,
}

/// What `ctl capture` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub count: u64,
    pub seconds: u64,
    pub client: Option<IpNet>,
    pub name: Option<Name>,
}

impl Request {
    /// `[count N] [seconds S] [client PREFIX] [name NAME]`, in any order.
    pub fn parse<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<Request, String> {
        let mut request = Request { count: DEFAULT_COUNT, seconds: DEFAULT_SECONDS, client: None, name: None };
        while let Some(key) = words.next() {
            let value = words.next().ok_or(format!("`{key}` needs a value"))?;
            match key {
                "count" => request.count = value.parse().ok().filter(|n| *n > 0).ok_or("count: a number above 0")?,
                "seconds" => {
                    let seconds = value.parse().ok().filter(|s| (1..=MAX_SECONDS).contains(s));
                    request.seconds = seconds.ok_or(format!("seconds: 1 to {MAX_SECONDS}"))?;
                }
                "client" => request.client = Some(prefix(value)?),
                "name" => {
                    let name = Name::from_ascii(format!("{}.", value.trim_end_matches('.')));
                    request.name = Some(name.map_err(|e| format!("name: `{value}`: {e}"))?);
                }
                other => return Err(format!("`{other}`: capture takes count, seconds, client and name")),
            }
        }
        Ok(request)
    }

    /// Whether the answer whose query frame is `query` is one asked for.
    fn wants(&self, query: &[u8]) -> bool {
        let Some((client, dns)) = client_and_dns(query) else { return false };
        if self.client.is_some_and(|net| !net.contains(&client)) {
            return false;
        }
        match &self.name {
            None => true,
            Some(name) => {
                Message::from_vec(dns).ok().is_some_and(|m| m.queries.first().is_some_and(|q| q.name() == name))
            }
        }
    }
}

/// An address or a network: 10.0.0.1 is 10.0.0.1/32.
fn prefix(value: &str) -> Result<IpNet, String> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("client: `{value}` is not an address or a network"))
}

/// The source address and the UDP payload of an Ethernet frame.
fn client_and_dns(frame: &[u8]) -> Option<(IpAddr, &[u8])> {
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let client = match packet.net.as_ref()? {
        NetSlice::Ipv4(ip) => IpAddr::V4(ip.header().source_addr()),
        NetSlice::Ipv6(ip) => IpAddr::V6(ip.header().source_addr()),
        NetSlice::Arp(_) => return None,
    };
    match packet.transport? {
        TransportSlice::Udp(udp) => Some((client, udp.payload())),
        _ => None,
    }
}

impl Capture {
    pub fn new(ring: CaptureRing) -> std::io::Result<Capture> {
        Ok(Capture { ring: Mutex::new(ring.watch()?) })
    }

    /// Runs one capture for `request`, writing to `out` (an error line
    /// instead if one runs already, or the program cannot be told).
    pub async fn run(
        &self,
        feed: &Feed,
        request: &Request,
        out: &mut (impl AsyncWrite + Unpin),
    ) -> std::io::Result<()> {
        let Ok(mut ring) = self.ring.try_lock() else {
            return out.write_all(b"error: a capture is running already\n").await;
        };
        // What came after the last capture stopped.
        while ring.get_mut().next_record().is_some() {}
        if let Err(e) = feed.set_capture(true) {
            return out.write_all(format!("error: starting the capture: {e}\n").as_bytes()).await;
        }
        let captured = stream(&mut ring, request, out).await;
        if let Err(e) = feed.set_capture(false) {
            tracing::error!(error = %e, "stopping the capture: the fast path keeps recording");
        }
        match captured {
            Ok(count) => tracing::info!(count, ?request, "capture done"),
            Err(e) => tracing::debug!(error = %e, "capture: the reader went away"),
        }
        Ok(())
    }
}

/// Writes the pcap header, then the answers asked for as they come;
/// returns how many were written.
async fn stream(
    ring: &mut AsyncFd<CaptureRing>,
    request: &Request,
    out: &mut (impl AsyncWrite + Unpin),
) -> std::io::Result<u64> {
    out.write_all(&pcap::header()).await?;
    let deadline = Instant::now() + Duration::from_secs(request.seconds);
    let mut written = 0;
    while written < request.count {
        let Ok(ready) = timeout_at(deadline, ring.readable_mut()).await else { break };
        let mut ready = ready?;
        let mut bytes = Vec::new();
        let moment = Moment::now();
        while written < request.count
            && let Some(record) = ready.get_inner_mut().next_record()
        {
            if record_wanted(&record, request) {
                let at = moment.wall_time_of(record.time_ns).unwrap_or(moment.wall);
                let at = at.duration_since(UNIX_EPOCH).unwrap_or_default();
                pcap::packet(&record.query[..usize::from(record.query_len)], at, &mut bytes);
                pcap::packet(&record.response[..usize::from(record.response_len)], at, &mut bytes);
                written += 1;
            }
        }
        ready.clear_ready();
        out.write_all(&bytes).await?;
    }
    out.flush().await?;
    Ok(written)
}

fn record_wanted(record: &CaptureRecord, request: &Request) -> bool {
    record.query.get(..usize::from(record.query_len)).is_some_and(|query| request.wants(query))
        && usize::from(record.response_len) <= record.response.len()
}

/// The classic pcap format (libpcap's, as tcpdump reads it), with
/// nanosecond timestamps: a 24-byte file header, then a 16-byte header
/// before each frame.
mod pcap {
    use std::time::Duration;

    const MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;
    const LINKTYPE_ETHERNET: u32 = 1;
    const SNAPLEN: u32 = 65_535;

    pub fn header() -> Vec<u8> {
        let mut out = MAGIC_NANOSECONDS.to_le_bytes().to_vec();
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        out.extend_from_slice(&SNAPLEN.to_le_bytes());
        out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out
    }

    /// Appends `frame`, seen at `at` since the epoch, to `out`.
    pub fn packet(frame: &[u8], at: Duration, out: &mut Vec<u8>) {
        out.extend_from_slice(&(at.as_secs() as u32).to_le_bytes());
        out.extend_from_slice(&at.subsec_nanos().to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Request, String> {
        Request::parse(line.split_whitespace())
    }

    #[test]
    fn requests_as_typed_and_their_errors() {
        let all = parse("count 5 seconds 3 client 10.99.1.0/24 name WWW.lab").unwrap();
        assert_eq!((all.count, all.seconds, all.client), (5, 3, Some("10.99.1.0/24".parse().unwrap())));
        assert_eq!(all.name, Some(Name::from_ascii("WWW.lab.").unwrap()));
        assert_eq!(parse("").unwrap(), Request { count: 100, seconds: 10, client: None, name: None });
        assert_eq!(parse("client 10.0.0.1").unwrap().client, Some("10.0.0.1/32".parse().unwrap()));
        for (line, error) in [
            ("count 0", "count"),
            ("count", "`count` needs a value"),
            ("seconds 4000", "seconds: 1 to 3600"),
            ("client nowhere", "client: `nowhere`"),
            ("port 53", "`port`"),
        ] {
            let got = parse(line).unwrap_err();
            assert!(got.starts_with(error), "{line}: {got}");
        }
    }

    #[test]
    fn the_filter_reads_the_query_frame() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let dns = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 3, b'l', b'a', b'b', 0, 0, 1, 0, 1];
        let udp_len = (8 + dns.len()) as u16;
        let ip =
            etherparse::Ipv4Header::new(udp_len, 64, etherparse::IpNumber::UDP, [10, 99, 1, 2], [6, 6, 6, 6]).unwrap();
        ip.write(&mut frame).unwrap();
        frame.extend_from_slice(&[0x9c, 0x40, 0, 53]);
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&dns);
        let cases = [
            ("", true),
            ("client 10.99.1.0/24", true),
            ("client 10.98.0.0/16", false),
            ("name WWW.LAB.", true),
            ("name other.lab", false),
            ("client 10.99.1.2 name www.lab", true),
        ];
        for (line, wanted) in cases {
            assert_eq!(parse(line).unwrap().wants(&frame), wanted, "{line}");
        }
        assert!(!parse("").unwrap().wants(&frame[..20]), "a frame cut short");
    }
}

//! Whether the fast path's answers leave the node. At start, a veth whose
//! peer can be seen is checked: a veth peer takes XDP_TX frames only with
//! an XDP program of its own or GRO on. While serving, the transmit errors
//! the delivery programs count are compared with what the program answered
//! each second: when at least half of the answers fail, the fast path is
//! turned to pass everything (the daemon answers, through the stack, which
//! works) with an error logged, and tried again later, the wait doubling
//! while it keeps failing.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anycast_common::Outcome;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, LinkXdp};
use tokio::sync::watch;

use crate::{feed::Feed, netlink::Netlink};

/// How often delivery is looked at.
const INTERVAL: Duration = Duration::from_secs(1);
/// How long the fast path passes everything the first time; each failed
/// retry doubles it, up to the last.
const FIRST_PAUSE: Duration = Duration::from_secs(10);
const LONGEST_PAUSE: Duration = Duration::from_secs(600);

/// Logs what can be known at start about the peer of `interface`, if it is
/// a veth.
pub async fn check_veth_peer(interface: &str) {
    let Ok(netlink) = Netlink::open() else { return };
    let Ok(Some(link)) = netlink.link(interface).await else { return };
    if !is_veth(&link) {
        return;
    }
    let peer_index = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Link(index) => Some(*index),
        _ => None,
    });
    let other_namespace = link.attributes.iter().any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)));
    let peer = match (peer_index, other_namespace) {
        (Some(index), false) => netlink.link_by_index(index).await.ok().flatten(),
        _ => None,
    };
    let Some(peer) = peer else {
        tracing::warn!(
            interface,
            "a veth whose peer is in another namespace: it receives the fast path's answers only with an XDP program \
             of its own or GRO on (ethtool -K PEER gro on); answers it drops turn the fast path to pass everything"
        );
        return;
    };
    let name = peer.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(name) => Some(name.clone()),
        _ => None,
    });
    let has_xdp = peer.attributes.iter().any(
        |a| matches!(a, LinkAttribute::Xdp(xdp) if xdp.iter().any(|x| matches!(x, LinkXdp::ProgId(id) if *id != 0))),
    );
    if !has_xdp && !name.as_deref().is_some_and(gro_on) {
        tracing::warn!(
            interface,
            peer = name.as_deref().unwrap_or("?"),
            "the veth's peer has no XDP program and GRO off: it drops the fast path's answers (give it an XDP \
             program or `ethtool -K PEER gro on`); the fast path turns itself to pass everything when they fail"
        );
    }
}

fn is_veth(link: &LinkMessage) -> bool {
    link.attributes.iter().any(|a| {
        matches!(a, LinkAttribute::LinkInfo(infos) if infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::Veth))))
    })
}

/// Whether GRO is on for `interface` (ETHTOOL_GGRO).
fn gro_on(interface: &str) -> bool {
    const ETHTOOL_GGRO: u32 = 0x2b;
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    let mut value = EthtoolValue { cmd: ETHTOOL_GGRO, data: 0 };
    // SAFETY: a zeroed ifreq with the name and a pointer to `value`, for
    // one ioctl on a socket of our own.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if socket < 0 {
            return false;
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(interface.bytes().take(libc::IFNAMSIZ - 1)) {
            *slot = byte as libc::c_char;
        }
        request.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
        let ok = libc::ioctl(socket, libc::SIOCETHTOOL, &mut request) == 0;
        libc::close(socket);
        ok && value.data != 0
    }
}

/// Watches delivery until `stop` turns true.
pub async fn run(feed: Arc<Feed>, interface: String, mut stop: watch::Receiver<bool>) {
    let mut last = sent_and_failed(&feed);
    let mut pause = FIRST_PAUSE;
    let mut paused_until: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
        let Some(now) = sent_and_failed(&feed) else { continue };
        let (sent, failed) = last.map_or((0, 0), |(s, f)| (now.0.saturating_sub(s), now.1.saturating_sub(f)));
        last = Some(now);
        if let Some(until) = paused_until {
            if Instant::now() >= until && set(&feed, false) {
                tracing::warn!(interface, "trying the fast path again");
                paused_until = None;
            }
            continue;
        }
        if failed > 0 && failed * 2 >= sent {
            tracing::error!(
                interface,
                answered = sent,
                not_sent = failed,
                pause_secs = pause.as_secs(),
                "the fast path's answers are not leaving the interface: every query goes to the daemon for a while"
            );
            if set(&feed, true) {
                paused_until = Some(Instant::now() + pause);
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        } else if sent > 0 && failed == 0 {
            pause = FIRST_PAUSE;
        }
    }
}

/// The XDP_TX frames the program sent (answers and slips) and those the
/// driver could not send.
fn sent_and_failed(feed: &Feed) -> Option<(u64, u64)> {
    let counters = feed.counters().ok()?;
    let sent = counters.iter().filter(|(o, _)| matches!(o, Outcome::Answered | Outcome::Slipped)).map(|(_, n)| n).sum();
    Some((sent, feed.tx_errors().ok()?))
}

fn set(feed: &Feed, pass_only: bool) -> bool {
    feed.set_pass_only(pass_only).inspect_err(|e| tracing::error!(error = %e, "switching the fast path")).is_ok()
}

//! The per-CPU outcome counters: one slot per outcome of the XDP program.

/// What the XDP program did with one packet, and why. Every packet gets
/// exactly one outcome. [`Outcome::Answered`] and [`Outcome::Slipped`] are
/// sent back (XDP_TX), [`Outcome::RateLimited`] is dropped (XDP_DROP, the
/// one case the program drops client input, by the operator's rate
/// limit), all others go up the kernel stack (XDP_PASS).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered from the map with XDP_TX.
    Answered = 0,
    /// The config map has not been written yet.
    NotConfigured,
    /// Not IPv4 or IPv6 (ARP among them), or more than two VLAN tags.
    NotIp,
    /// IPv4 with options, or a fragment.
    Ipv4OptionsOrFragment,
    /// IPv6 with an extension header before UDP (ICMPv6 lands in NotUdp).
    Ipv6ExtensionHeader,
    /// Not UDP (TCP, ICMP, ICMPv6, ...).
    NotUdp,
    /// Destination is not one of the VIPs.
    NotVip,
    /// The client is outside the ACL: the daemon refuses it.
    NotAllowed,
    /// UDP to another port than the DNS service (BFD among them).
    NotDnsPort,
    /// Lengths that disagree, a frame cut short, source port 0.
    Malformed,
    /// The IPv4 header checksum or the query's UDP checksum is wrong (or
    /// the UDP checksum is zero over IPv6).
    BadChecksum,
    /// Not a plain query: QR set, another OPCODE, TC set, RCODE set.
    NotQuery,
    /// Not exactly one question, or answer/authority records, or more than
    /// one additional record.
    SectionCounts,
    /// A question name the fast path does not take: a compression pointer,
    /// a label over 63, a name over 255, bytes after the message.
    BadName,
    /// An additional record that is not a plain EDNS(0) OPT.
    BadEdns,
    /// An EDNS option (cookie, client subnet, ...): left to the daemon.
    EdnsOption,
    /// No entry for the question.
    Miss,
    /// An entry with the same hash but another name.
    HashCollision,
    /// The entry has expired; the daemon refreshes it.
    Expired,
    /// The answer is larger than the client's UDP size allows.
    TooBig,
    /// The frame could not be grown or written.
    TxFailed,
    /// Over the client prefix's rate limit, and answered with an empty
    /// TC=1 response (the client retries over TCP).
    Slipped,
    /// Over the client prefix's rate limit, and dropped.
    RateLimited,
}

impl Outcome {
    /// Number of counter slots.
    pub const COUNT: u32 = Outcome::RateLimited as u32 + 1;

    /// Every outcome, in slot order.
    pub const ALL: [Outcome; Self::COUNT as usize] = [
        Outcome::Answered,
        Outcome::NotConfigured,
        Outcome::NotIp,
        Outcome::Ipv4OptionsOrFragment,
        Outcome::Ipv6ExtensionHeader,
        Outcome::NotUdp,
        Outcome::NotVip,
        Outcome::NotAllowed,
        Outcome::NotDnsPort,
        Outcome::Malformed,
        Outcome::BadChecksum,
        Outcome::NotQuery,
        Outcome::SectionCounts,
        Outcome::BadName,
        Outcome::BadEdns,
        Outcome::EdnsOption,
        Outcome::Miss,
        Outcome::HashCollision,
        Outcome::Expired,
        Outcome::TooBig,
        Outcome::TxFailed,
        Outcome::Slipped,
        Outcome::RateLimited,
    ];

    /// Stable name for metrics and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::NotConfigured => "not_configured",
            Outcome::NotIp => "not_ip",
            Outcome::Ipv4OptionsOrFragment => "ipv4_options_or_fragment",
            Outcome::Ipv6ExtensionHeader => "ipv6_extension_header",
            Outcome::NotUdp => "not_udp",
            Outcome::NotVip => "not_vip",
            Outcome::NotAllowed => "not_allowed",
            Outcome::NotDnsPort => "not_dns_port",
            Outcome::Malformed => "malformed",
            Outcome::BadChecksum => "bad_checksum",
            Outcome::NotQuery => "not_query",
            Outcome::SectionCounts => "section_counts",
            Outcome::BadName => "bad_name",
            Outcome::BadEdns => "bad_edns",
            Outcome::EdnsOption => "edns_option",
            Outcome::Miss => "miss",
            Outcome::HashCollision => "hash_collision",
            Outcome::Expired => "expired",
            Outcome::TooBig => "too_big",
            Outcome::TxFailed => "tx_failed",
            Outcome::Slipped => "slipped",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn slots_are_dense_and_in_order() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i, "{o:?} is out of order");
        }
    }
}

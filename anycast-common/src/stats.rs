//! The per-CPU outcome counters: one slot per outcome of the XDP program.

crate::named! {
    /// What the XDP program did with one packet, and why. Every packet gets
    /// exactly one outcome. [`Outcome::Answered`] and [`Outcome::Slipped`] are
    /// sent back (XDP_TX), [`Outcome::RateLimited`] is dropped (XDP_DROP, the
    /// one case the program drops client input, by the operator's rate
    /// limit), all others go up the kernel stack (XDP_PASS).
    #[repr(u32)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Outcome {
        /// Answered from the map with XDP_TX.
        Answered = "answered",
        /// The config map has not been written yet.
        NotConfigured = "not_configured",
        /// The daemon turned the fast path to pass everything: its answers
        /// were not leaving the interface.
        PassOnly = "pass_only",
        /// Not IPv4 or IPv6 (ARP among them), or more than two VLAN tags.
        NotIp = "not_ip",
        /// IPv4 with options, or a fragment.
        Ipv4OptionsOrFragment = "ipv4_options_or_fragment",
        /// IPv6 with an extension header before UDP (ICMPv6 lands in NotUdp).
        Ipv6ExtensionHeader = "ipv6_extension_header",
        /// Not UDP (TCP, ICMP, ICMPv6, ...).
        NotUdp = "not_udp",
        /// Destination is not one of the VIPs.
        NotVip = "not_vip",
        /// The client is outside the ACL: the daemon refuses it.
        NotAllowed = "not_allowed",
        /// UDP to another port than the DNS service (BFD among them).
        NotDnsPort = "not_dns_port",
        /// Lengths that disagree, a frame cut short, source port 0.
        Malformed = "malformed",
        /// The IPv4 header checksum or the query's UDP checksum is wrong (or
        /// the UDP checksum is zero over IPv6).
        BadChecksum = "bad_checksum",
        /// The UDP checksum is partial (the pseudo-header's sum alone: a
        /// sender on the same host left it to offload), and the fast path
        /// is set to pass those (`fastpath.partial_checksums`).
        PartialChecksum = "partial_checksum",
        /// Not a plain query: QR set, another OPCODE, TC set, RCODE set.
        NotQuery = "not_query",
        /// Not exactly one question, or answer/authority records, or more than
        /// one additional record.
        SectionCounts = "section_counts",
        /// A question name the fast path does not take: a compression pointer,
        /// a label over 63, a name over 255, bytes after the message.
        BadName = "bad_name",
        /// An additional record that is not an EDNS(0) OPT, or options that
        /// run past it.
        BadEdns = "bad_edns",
        /// A COOKIE option of a length RFC 7873 does not allow, or two of
        /// them: the daemon answers FORMERR.
        BadCookie = "bad_cookie",
        /// An EDNS option the answer could be tailored by (client subnet),
        /// or more options (over 8, over 256 bytes) than the fast path
        /// reads: left to the daemon.
        EdnsOption = "edns_option",
        /// No entry for the question.
        Miss = "miss",
        /// An entry with the same hash but another name.
        HashCollision = "hash_collision",
        /// The entry has expired; the daemon refreshes it.
        Expired = "expired",
        /// The answer is larger than the client's UDP size allows.
        TooBig = "too_big",
        /// The frame could not be grown or written.
        TxFailed = "tx_failed",
        /// Over the client prefix's rate limit, and answered with an empty
        /// TC=1 response (the client retries over TCP).
        Slipped = "slipped",
        /// Over the client prefix's rate limit, and dropped.
        RateLimited = "rate_limited",
    }
}

impl Outcome {
    /// Number of counter slots.
    pub const COUNT: u32 = Outcome::ALL.len() as u32;
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

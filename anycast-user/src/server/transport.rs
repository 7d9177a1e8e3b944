//! How a query came in, and what that allows its response.

use anycast_common::CLASSIC_UDP_LEN;

anycast_common::named! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Transport {
        Udp = "udp",
        Tcp = "tcp",
        /// DNS over TLS (RFC 7858).
        Dot = "dot",
        /// DNS over HTTPS (RFC 8484).
        Doh = "doh",
    }
}

impl Transport {
    /// The largest response that may be sent: anything over a stream; over UDP
    /// 512 bytes without EDNS, else the client's size (at least 512) up to
    /// the node's. `edns` is (client's size, node's size) when the query
    /// had an OPT.
    pub fn max_response(self, edns: Option<(u16, u16)>) -> usize {
        match (self, edns) {
            (Transport::Tcp | Transport::Dot | Transport::Doh, _) => u16::MAX as usize,
            (Transport::Udp, None) => CLASSIC_UDP_LEN as usize,
            (Transport::Udp, Some((client, node))) => client.max(CLASSIC_UDP_LEN).min(node) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_takes_the_smaller_size_but_never_below_512() {
        assert_eq!(Transport::Udp.max_response(None), 512);
        assert_eq!(Transport::Udp.max_response(Some((4096, 1232))), 1232);
        assert_eq!(Transport::Udp.max_response(Some((600, 1232))), 600);
        assert_eq!(Transport::Udp.max_response(Some((100, 1232))), 512);
        assert_eq!(Transport::Tcp.max_response(None), 65_535);
        assert_eq!(Transport::Doh.max_response(Some((512, 1232))), 65_535);
    }
}

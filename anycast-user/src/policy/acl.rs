//! Which clients the node answers: a list of networks. An open resolver
//! gets abused (amplification, cache snooping), so the default is loopback
//! only and everything else must be listed.

use std::{fmt, net::IpAddr, str::FromStr};

/// An address prefix, such as `192.0.2.0/24` or `2001:db8::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net) as u128, 32, self.prefix) == masked(u32::from(ip) as u128, 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix) == masked(u128::from(ip), 128, self.prefix)
            }
            // An IPv4-mapped IPv6 client is the IPv4 client.
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// The network mask of a `/len` prefix of an `N`-byte address, as bytes.
pub fn prefix_mask<const N: usize>(len: u8) -> [u8; N] {
    let bits = u128::MAX.checked_shl(128 - u32::from(len).min(N as u32 * 8)).unwrap_or(0);
    let bytes = bits.to_be_bytes();
    bytes[..N].try_into().expect("N <= 16")
}

fn masked(value: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { value >> (bits - prefix) }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a network (ADDRESS/PREFIX, e.g. 192.0.2.0/24): {problem}")]
pub struct NetworkError {
    text: String,
    problem: String,
}

impl FromStr for Network {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Network, NetworkError> {
        let err = |problem: &str| NetworkError { text: text.to_string(), problem: problem.to_string() };
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| err(&format!("prefix must be 0..={max}")))?
            }
            None => max,
        };
        if masked(bits(addr), max, prefix) << (max - prefix).min(127) != bits(addr) && prefix != 0 {
            return Err(err("host bits are set below the prefix"));
        }
        Ok(Network { addr, prefix })
    }
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The networks allowed to query, loopback always among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    networks: Vec<Network>,
}

impl Acl {
    pub fn new(networks: Vec<Network>) -> Acl {
        let mut all: Vec<Network> =
            ["127.0.0.0/8", "::1/128"].iter().map(|n| n.parse().expect("valid network")).collect();
        all.extend(networks);
        Acl { networks: all }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    pub fn networks(&self) -> &[Network] {
        &self.networks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net: Network = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped clients count as IPv4");
        let v6: Network = "2001:db8:c::/48".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:c::7")));
        assert!(!v6.contains(ip("2001:db8:d::7")));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        assert_eq!("192.0.2.1".parse::<Network>().unwrap().to_string(), "192.0.2.1/32");
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        for (text, why) in
            [("10.0.0.0/33", "prefix"), ("10.0.0.1/8", "host bits"), ("ten/8", "IP address"), ("::/129", "prefix")]
        {
            let err = text.parse::<Network>().unwrap_err().to_string();
            assert!(err.contains(text) && err.contains(why), "{err}");
        }
    }

    #[test]
    fn loopback_is_always_allowed_and_nothing_else_by_default() {
        let acl = Acl::new(vec![]);
        assert!(acl.allows(ip("127.0.0.1")) && acl.allows(ip("::1")));
        assert!(!acl.allows(ip("198.51.100.7")));
        assert!(Acl::new(vec!["198.51.100.0/24".parse().unwrap()]).allows(ip("198.51.100.7")));
    }
}

//! The connections a stream service holds open, bounded in all and per
//! client (an IPv4 address, an IPv6 /64: one host gets a whole /64), so
//! that no one client holds the service.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a connection is closed at accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// As many connections as the service holds are open.
    Service,
    /// Its client has as many open as one may.
    Client,
}

pub struct Connections {
    open: Arc<Semaphore>,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    max_per_client: usize,
}

/// One client's place among the connections, given back on drop.
pub struct ClientSlot {
    connections: Arc<Connections>,
    client: IpAddr,
    _connection: OwnedSemaphorePermit,
}

impl Connections {
    pub fn new(max: usize, max_per_client: usize) -> Arc<Connections> {
        Arc::new(Connections { open: Arc::new(Semaphore::new(max)), per_client: Mutex::default(), max_per_client })
    }

    /// A place for a new connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ClientSlot, Full> {
        let connection = self.open.clone().try_acquire_owned().map_err(|_| Full::Service)?;
        let client = client_of(ip);
        let mut open = self.per_client.lock().expect("clients lock");
        let count = open.entry(client).or_default();
        if *count >= self.max_per_client {
            return Err(Full::Client);
        }
        *count += 1;
        Ok(ClientSlot { connections: self.clone(), client, _connection: connection })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.connections.per_client.lock().expect("clients lock");
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// What a client is counted as: its IPv4 address, or its IPv6 /64.
fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::7")), ip("2001:db8:1:2::"));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"), "IPv4-mapped is the IPv4 client");
    }

    #[test]
    fn bounded_in_all_and_per_client_and_given_back() {
        let connections = Connections::new(3, 2);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a1 = connections.admit(ip("2001:db8::1")).unwrap();
        let _a2 = connections.admit(ip("2001:db8::2")).unwrap();
        assert_eq!(connections.admit(ip("2001:db8::3")).err(), Some(Full::Client), "the same /64");
        let _b = connections.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(connections.admit(ip("192.0.2.2")).err(), Some(Full::Service));
        drop(a1);
        connections.admit(ip("2001:db8::3")).expect("a place given back");
    }
}

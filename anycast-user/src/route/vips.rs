//! The VIPs on an interface of this host, through rtnetlink: added while
//! the node announces them, removed when it withdraws and on shutdown,
//! and put back if someone removes them while they should be there.
//!
//! They go on a dummy interface (created if missing) or, where the kernel
//! has no dummy driver, on `lo`. IPv4 VIPs are /32, IPv6 VIPs /128 with
//! `nodad`: a tentative address is neither usable nor exported by routing
//! daemons (BIRD waited 1.4-2 s for DAD in the measured lab).

use std::net::IpAddr;

use futures::TryStreamExt;
use rtnetlink::{
    LinkDummy,
    packet_route::address::{AddressAttribute, AddressFlags, AddressMessage},
};

use crate::netlink::{Netlink, NetlinkError, errno};

const EEXIST: i32 = -libc::EEXIST;
const EADDRNOTAVAIL: i32 = -libc::EADDRNOTAVAIL;
const ENODEV: i32 = -libc::ENODEV;

pub struct VipHome {
    netlink: Netlink,
    /// The interface holding the VIPs.
    pub interface: String,
    index: u32,
    vips: Vec<IpAddr>,
}

impl VipHome {
    /// Opens rtnetlink and finds the interface for `vips`: `interface` if
    /// it exists, else a dummy interface of that name made now (up), else
    /// `lo` (no dummy driver).
    pub async fn open(interface: &str, vips: Vec<IpAddr>) -> Result<VipHome, NetlinkError> {
        let netlink = Netlink::open()?;
        let handle = &netlink.handle;
        let index = match netlink.link_index(interface).await? {
            Some(index) => Some(index),
            None => {
                let made = handle.link().add(LinkDummy::new(interface).up().build()).execute().await;
                match made {
                    Ok(()) => netlink.link_index(interface).await?,
                    Err(e) => {
                        tracing::info!(interface, error = %e, "cannot make a dummy interface; the VIPs go on lo");
                        None
                    }
                }
            }
        };
        let (interface, index) = match index {
            Some(index) => (interface.to_string(), index),
            None => {
                let index = netlink.link_index("lo").await?.ok_or_else(|| NetlinkError::NoInterface("lo".into()))?;
                ("lo".to_string(), index)
            }
        };
        // lo and a fresh dummy may be down (a new namespace's lo is).
        let up = rtnetlink::LinkUnspec::new_with_index(index).up().build();
        handle
            .link()
            .set(up)
            .execute()
            .await
            .map_err(|source| NetlinkError::Request { what: format!("setting {interface} up"), source })?;
        Ok(VipHome { netlink, interface, index, vips })
    }

    /// The VIPs that are not on the interface now.
    pub async fn missing(&self) -> Result<Vec<IpAddr>, NetlinkError> {
        let present = self.present().await?;
        Ok(self.vips.iter().copied().filter(|vip| !present.iter().any(|(ip, _)| ip == vip)).collect())
    }

    /// Puts every missing VIP on the interface; returns those it added.
    pub async fn add(&self) -> Result<Vec<IpAddr>, NetlinkError> {
        let missing = self.missing().await?;
        for &vip in &missing {
            let mut request = self.netlink.handle.address().add(self.index, vip, host_prefix(vip));
            if vip.is_ipv6() {
                request.message_mut().attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
            match request.execute().await {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(EEXIST) => {}
                Err(source) => {
                    return Err(NetlinkError::Request { what: format!("adding {vip} to {}", self.interface), source });
                }
            }
        }
        Ok(missing)
    }

    /// Takes every VIP off the interface; returns how many were there.
    pub async fn remove(&self) -> Result<usize, NetlinkError> {
        let mut removed = 0;
        for (vip, message) in self.present().await? {
            if !self.vips.contains(&vip) {
                continue;
            }
            match self.netlink.handle.address().del(message).execute().await {
                Ok(()) => removed += 1,
                Err(e) if matches!(errno(&e), Some(EADDRNOTAVAIL | ENODEV)) => {}
                Err(source) => {
                    return Err(NetlinkError::Request {
                        what: format!("removing {vip} from {}", self.interface),
                        source,
                    });
                }
            }
        }
        Ok(removed)
    }

    /// The host addresses (/32, /128) on the interface, with their messages
    /// (what deleting one needs).
    async fn present(&self) -> Result<Vec<(IpAddr, AddressMessage)>, NetlinkError> {
        let mut addresses = self.netlink.handle.address().get().set_link_index_filter(self.index).execute();
        let mut present = Vec::new();
        while let Some(message) = addresses
            .try_next()
            .await
            .map_err(|source| NetlinkError::Request { what: "listing addresses".into(), source })?
        {
            let address = message.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            });
            if let Some(ip) = address
                && message.header.prefix_len == host_prefix(ip)
            {
                present.push((ip, message));
            }
        }
        Ok(present)
    }
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

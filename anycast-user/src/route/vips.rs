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
    Handle, LinkDummy,
    packet_route::{
        address::{AddressAttribute, AddressFlags, AddressMessage},
        link::{LinkAttribute, LinkMessage, LinkXdp},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum VipError {
    #[error("rtnetlink: {0}")]
    Connect(#[source] std::io::Error),
    #[error("{what}: {source}")]
    Netlink { what: String, source: rtnetlink::Error },
    #[error("no interface {0}")]
    NoInterface(String),
}

const EEXIST: i32 = -libc::EEXIST;
const EADDRNOTAVAIL: i32 = -libc::EADDRNOTAVAIL;
const ENODEV: i32 = -libc::ENODEV;

/// The kernel's errno in a netlink error, if that is what it is.
fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(message.raw_code()),
        _ => None,
    }
}

pub struct VipHome {
    handle: Handle,
    /// The interface holding the VIPs.
    pub interface: String,
    index: u32,
    vips: Vec<IpAddr>,
}

impl VipHome {
    /// Opens rtnetlink and finds the interface for `vips`: `interface` if
    /// it exists, else a dummy interface of that name made now (up), else
    /// `lo` (no dummy driver).
    pub async fn open(interface: &str, vips: Vec<IpAddr>) -> Result<VipHome, VipError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(VipError::Connect)?;
        tokio::spawn(connection);
        let netlink = |what: String| move |source| VipError::Netlink { what, source };
        let index = match link_index(&handle, interface).await? {
            Some(index) => Some(index),
            None => {
                let made = handle.link().add(LinkDummy::new(interface).up().build()).execute().await;
                match made {
                    Ok(()) => link_index(&handle, interface).await?,
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
                let index = link_index(&handle, "lo").await?.ok_or_else(|| VipError::NoInterface("lo".into()))?;
                ("lo".to_string(), index)
            }
        };
        // lo and a fresh dummy may be down (a new namespace's lo is).
        let up = rtnetlink::LinkUnspec::new_with_index(index).up().build();
        handle.link().set(up).execute().await.map_err(netlink(format!("setting {interface} up")))?;
        Ok(VipHome { handle, interface, index, vips })
    }

    /// The VIPs that are not on the interface now.
    pub async fn missing(&self) -> Result<Vec<IpAddr>, VipError> {
        let present = self.present().await?;
        Ok(self.vips.iter().copied().filter(|vip| !present.iter().any(|(ip, _)| ip == vip)).collect())
    }

    /// Puts every missing VIP on the interface; returns those it added.
    pub async fn add(&self) -> Result<Vec<IpAddr>, VipError> {
        let missing = self.missing().await?;
        for &vip in &missing {
            let mut request = self.handle.address().add(self.index, vip, host_prefix(vip));
            if vip.is_ipv6() {
                request.message_mut().attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
            match request.execute().await {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(EEXIST) => {}
                Err(source) => {
                    return Err(VipError::Netlink { what: format!("adding {vip} to {}", self.interface), source });
                }
            }
        }
        Ok(missing)
    }

    /// Takes every VIP off the interface; returns how many were there.
    pub async fn remove(&self) -> Result<usize, VipError> {
        let mut removed = 0;
        for (vip, message) in self.present().await? {
            if !self.vips.contains(&vip) {
                continue;
            }
            match self.handle.address().del(message).execute().await {
                Ok(()) => removed += 1,
                Err(e) if matches!(errno(&e), Some(EADDRNOTAVAIL | ENODEV)) => {}
                Err(source) => {
                    return Err(VipError::Netlink { what: format!("removing {vip} from {}", self.interface), source });
                }
            }
        }
        Ok(removed)
    }

    /// The host addresses (/32, /128) on the interface, with their messages
    /// (what deleting one needs).
    async fn present(&self) -> Result<Vec<(IpAddr, AddressMessage)>, VipError> {
        let mut addresses = self.handle.address().get().set_link_index_filter(self.index).execute();
        let mut present = Vec::new();
        while let Some(message) = addresses
            .try_next()
            .await
            .map_err(|source| VipError::Netlink { what: "listing addresses".into(), source })?
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

impl VipHome {
    /// The ID of the XDP program attached to `interface` (any mode), if any.
    pub async fn xdp_program(&self, interface: &str) -> Result<Option<u32>, VipError> {
        let link =
            find_link(&self.handle, interface).await?.ok_or_else(|| VipError::NoInterface(interface.to_string()))?;
        Ok(link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Xdp(xdp) => xdp.iter().find_map(|x| match x {
                LinkXdp::ProgId(id) if *id != 0 => Some(*id),
                _ => None,
            }),
            _ => None,
        }))
    }
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

async fn link_index(handle: &Handle, name: &str) -> Result<Option<u32>, VipError> {
    Ok(find_link(handle, name).await?.map(|link| link.header.index))
}

/// The interface called `name`, None if there is none.
async fn find_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, VipError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
        Err(source) => Err(VipError::Netlink { what: format!("looking up {name}"), source }),
    }
}

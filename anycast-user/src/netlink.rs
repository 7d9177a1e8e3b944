//! The node's rtnetlink connection, and the link lookups that both the
//! VIPs' home (`route::vips`) and the fast path's attachment check
//! (`fastpath::attachment`) make.

use futures::TryStreamExt;
use rtnetlink::{
    Handle, LinkGetRequest,
    packet_route::link::{LinkAttribute, LinkMessage, LinkXdp},
};

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("rtnetlink: {0}")]
    Connect(#[source] std::io::Error),
    #[error("{what}: {source}")]
    Request { what: String, source: rtnetlink::Error },
    #[error("no interface {0}")]
    NoInterface(String),
}

/// The kernel's errno in a netlink error, if that is what it is.
pub fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(message.raw_code()),
        _ => None,
    }
}

const ENODEV: i32 = -libc::ENODEV;

/// An open rtnetlink connection (its task runs on the current runtime).
#[derive(Clone)]
pub struct Netlink {
    pub handle: Handle,
}

impl Netlink {
    pub fn open() -> Result<Netlink, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Connect)?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    /// The interface called `name`, None if there is none.
    pub async fn link(&self, name: &str) -> Result<Option<LinkMessage>, NetlinkError> {
        first_link(self.handle.link().get().match_name(name.to_string()), || format!("looking up {name}")).await
    }

    /// The interface with index `index`, None if there is none.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<LinkMessage>, NetlinkError> {
        first_link(self.handle.link().get().match_index(index), || format!("looking up interface {index}")).await
    }

    pub async fn link_index(&self, name: &str) -> Result<Option<u32>, NetlinkError> {
        Ok(self.link(name).await?.map(|link| link.header.index))
    }

    /// The ID of the XDP program attached to `interface` (any mode), if any.
    pub async fn xdp_program(&self, interface: &str) -> Result<Option<u32>, NetlinkError> {
        let link = self.link(interface).await?.ok_or_else(|| NetlinkError::NoInterface(interface.to_string()))?;
        Ok(link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Xdp(xdp) => xdp.iter().find_map(|x| match x {
                LinkXdp::ProgId(id) if *id != 0 => Some(*id),
                _ => None,
            }),
            _ => None,
        }))
    }
}

/// The interface `request` asks for, None if there is none.
async fn first_link(
    request: LinkGetRequest,
    what: impl FnOnce() -> String,
) -> Result<Option<LinkMessage>, NetlinkError> {
    match request.execute().try_next().await {
        Ok(link) => Ok(link),
        Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
        Err(source) => Err(NetlinkError::Request { what: what(), source }),
    }
}

//! Whether the program the daemon loaded is still the one on its
//! interface: someone may have detached it, or put another in its place,
//! and a node whose fast path is gone must not keep announcing as if it
//! answered at XDP. The health checks ask every interval.

use crate::netlink::{Netlink, NetlinkError};

/// The interface and the kernel's ID of the program anycastd attached.
pub struct Attachment {
    netlink: Netlink,
    interface: String,
    program: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum Detached {
    #[error("another XDP program ({other}) is on {interface}")]
    Replaced { interface: String, other: u32 },
    #[error("no XDP program on {interface}")]
    Gone { interface: String },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

impl Attachment {
    /// Watches for `program` (see [`super::FastPath::program_id`]) on
    /// `interface`, through a netlink connection of its own.
    pub fn new(interface: &str, program: u32) -> Result<Attachment, NetlinkError> {
        Ok(Attachment { netlink: Netlink::open()?, interface: interface.to_string(), program })
    }

    /// Ok while the program is the one attached to the interface.
    pub async fn check(&self) -> Result<(), Detached> {
        let interface = self.interface.clone();
        match self.netlink.xdp_program(&self.interface).await? {
            Some(attached) if attached == self.program => Ok(()),
            Some(other) => Err(Detached::Replaced { interface, other }),
            None => Err(Detached::Gone { interface }),
        }
    }
}

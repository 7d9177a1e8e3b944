//! A BFD session's state, as the packets carry it and the metrics show it.

anycast_common::named! {
    /// RFC 5880 section 4.1, in wire order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum BfdState {
        AdminDown = "admindown",
        Down = "down",
        Init = "init",
        Up = "up",
    }
}

//! What the routers are told about the VIPs: the one state the announcer
//! decides and every way of telling them (the VIP interface, BIRD's
//! include, the BGP speaker) carries out.

anycast_common::named! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum State {
        Announced = "announced",
        /// Routers prefer other nodes but keep this one.
        Drained = "drained",
        Withdrawn = "withdrawn",
    }
}

impl State {
    /// The value of `ANYCAST_STATE` in BIRD's include file.
    pub fn bird_value(self) -> u8 {
        match self {
            State::Announced => 0,
            State::Drained => 1,
            State::Withdrawn => 2,
        }
    }
}

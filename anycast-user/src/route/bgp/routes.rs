//! The routes every session announces: the VIPs as host routes, in the
//! state the announcer asks for, and the UPDATEs that take a session from
//! one state to another.

use std::net::{Ipv4Addr, Ipv6Addr};

use netgauze_bgp_pkt::BgpMessage;

use super::{
    message::{self, Attributes, Negotiated},
    settings::DrainMark,
};
use crate::route::state::State;

/// What every session announces: the VIPs, our AS, how to drain.
pub struct Routes {
    pub local_as: u32,
    pub drain: DrainMark,
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
}

impl Routes {
    /// The UPDATEs that take a session from announcing `from` to `to`
    /// (None: nothing announced yet).
    pub fn updates(
        &self,
        from: Option<State>,
        to: State,
        session: &Negotiated,
        hops: (Option<Ipv4Addr>, Option<Ipv6Addr>),
    ) -> Vec<BgpMessage> {
        let (v4, v6) = (session.ipv4 && !self.v4.is_empty(), session.ipv6 && !self.v6.is_empty());
        let mut updates = Vec::new();
        if to == State::Withdrawn {
            if from.is_some_and(|from| from != State::Withdrawn) {
                if v4 {
                    updates.push(message::withdraw_v4(&self.v4));
                }
                if v6 {
                    updates.push(message::withdraw_v6(&self.v6));
                }
            }
            return updates;
        }
        let (path_length, med) = match (to, self.drain) {
            (State::Drained, DrainMark::Prepend(n)) => (1 + n, None),
            (State::Drained, DrainMark::Med(med)) => (1, Some(med)),
            (_, DrainMark::Med(_)) => (1, Some(0)),
            (_, DrainMark::Prepend(_)) => (1, None),
        };
        let attributes = Attributes { local_as: self.local_as, path_length, med };
        if let (true, Some(hop)) = (v4, hops.0) {
            updates.push(message::announce_v4(&self.v4, hop, &attributes, session.asn4));
        }
        if let (true, Some(hop)) = (v6, hops.1) {
            updates.push(message::announce_v6(&self.v6, hop, &attributes, session.asn4));
        }
        updates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(drain: DrainMark) -> Routes {
        Routes { local_as: 65001, drain, v4: vec![Ipv4Addr::new(6, 6, 6, 6)], v6: vec!["2001:db8::6".parse().unwrap()] }
    }

    const BOTH: Negotiated = Negotiated { hold_time: 9, asn4: true, ipv4: true, ipv6: true };
    const HOPS: (Option<Ipv4Addr>, Option<Ipv6Addr>) =
        (Some(Ipv4Addr::new(10, 0, 0, 2)), Some(Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, 0, 2)));

    fn path_lengths(updates: &[BgpMessage]) -> Vec<(usize, Option<u32>)> {
        use netgauze_bgp_pkt::path_attribute::{AsPath, PathAttributeValue};
        updates
            .iter()
            .map(|m| {
                let BgpMessage::Update(u) = m else { panic!("an UPDATE") };
                let values: Vec<_> = u.path_attributes().iter().map(|a| a.value().clone()).collect();
                let length = values.iter().find_map(|v| match v {
                    PathAttributeValue::AsPath(AsPath::As4PathSegments(s)) => Some(s[0].as_numbers().len()),
                    _ => None,
                });
                let med = values.iter().find_map(|v| match v {
                    PathAttributeValue::MultiExitDiscriminator(m) => Some(m.metric()),
                    _ => None,
                });
                (length.unwrap_or(0), med)
            })
            .collect()
    }

    #[test]
    fn each_state_is_announced_in_both_families() {
        let prepend = routes(DrainMark::Prepend(3));
        assert_eq!(path_lengths(&prepend.updates(None, State::Announced, &BOTH, HOPS)), [(1, None), (1, None)]);
        assert_eq!(path_lengths(&prepend.updates(None, State::Drained, &BOTH, HOPS)), [(4, None), (4, None)]);
        let med = routes(DrainMark::Med(1000));
        assert_eq!(path_lengths(&med.updates(None, State::Announced, &BOTH, HOPS)), [(1, Some(0)), (1, Some(0))]);
        assert_eq!(path_lengths(&med.updates(None, State::Drained, &BOTH, HOPS)), [(1, Some(1000)), (1, Some(1000))]);
    }

    #[test]
    fn withdraws_only_what_was_announced_and_only_negotiated_families() {
        let r = routes(DrainMark::Prepend(3));
        assert!(r.updates(None, State::Withdrawn, &BOTH, HOPS).is_empty(), "nothing announced yet");
        assert_eq!(r.updates(Some(State::Announced), State::Withdrawn, &BOTH, HOPS).len(), 2);
        let v4_only = Negotiated { ipv6: false, ..BOTH };
        assert_eq!(r.updates(None, State::Announced, &v4_only, HOPS).len(), 1);
        assert_eq!(r.updates(Some(State::Drained), State::Withdrawn, &v4_only, HOPS).len(), 1);
    }
}

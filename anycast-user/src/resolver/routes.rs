//! Per-domain upstreams: `[[forward_zone]]` (ask these resolvers, with RD,
//! for everything at or below the zone) and `[[stub_zone]]` (iterate from
//! these authoritative servers for the zone, following referrals below
//! it). The longest match wins; names no route covers go the resolver's
//! global way. Each server keeps its own smoothed RTT and failures in the
//! resolver's server statistics, as every upstream does.

use std::{collections::HashMap, net::SocketAddr};

use hickory_proto::rr::Name;

use crate::names;

/// Where the questions of one zone go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Forwarders, asked with RD set, best first by smoothed RTT.
    Forward(Vec<SocketAddr>),
    /// The zone's authoritative servers, where iteration starts.
    Stub(Vec<SocketAddr>),
}

/// Every configured route, by lower-cased zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routes {
    zones: HashMap<Name, Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is given a route twice")]
pub struct RouteTwice(pub String);

impl Routes {
    pub fn new(routes: impl IntoIterator<Item = (Name, Route)>) -> Result<Routes, RouteTwice> {
        let mut zones = HashMap::new();
        for (zone, route) in routes {
            let zone = zone.to_lowercase();
            if zones.insert(zone.clone(), route).is_some() {
                return Err(RouteTwice(zone.to_string()));
            }
        }
        Ok(Routes { zones })
    }

    /// Zones with a route.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The route of the longest zone at or above `name`, with that zone.
    pub fn route(&self, name: &Name) -> Option<(&Name, &Route)> {
        if self.zones.is_empty() {
            return None;
        }
        names::closest(&self.zones, &name.to_lowercase())
    }

    /// The zones whose route differs between `self` and `other` (added,
    /// removed or changed): what was resolved under them may not hold.
    pub fn changed<'a>(&'a self, other: &'a Routes) -> impl Iterator<Item = &'a Name> {
        let gone_or_changed = self.zones.iter().filter(|(z, r)| other.zones.get(*z) != Some(r)).map(|(z, _)| z);
        let added = other.zones.keys().filter(|z| !self.zones.contains_key(*z));
        gone_or_changed.chain(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn the_longest_zone_wins_and_changes_are_found() {
        let fwd = Route::Forward(vec!["192.0.2.53:53".parse().unwrap()]);
        let stub = Route::Stub(vec!["192.0.2.1:53".parse().unwrap()]);
        let routes =
            Routes::new([(name("Corp.Example."), fwd.clone()), (name("lab.corp.example."), stub.clone())]).unwrap();
        assert_eq!(routes.route(&name("www.corp.example.")), Some((&name("corp.example."), &fwd)));
        assert_eq!(routes.route(&name("x.LAB.corp.example.")), Some((&name("lab.corp.example."), &stub)));
        assert_eq!(routes.route(&name("example.")), None);
        let twice = Routes::new([(name("a."), fwd.clone()), (name("A."), stub.clone())]);
        assert_eq!(twice, Err(RouteTwice("a.".into())));
        let other = Routes::new([(name("corp.example."), stub), (name("new.example."), fwd)]).unwrap();
        let mut changed: Vec<String> = routes.changed(&other).map(|z| z.to_string()).collect();
        changed.sort();
        assert_eq!(changed, ["corp.example.", "lab.corp.example.", "new.example."]);
    }
}

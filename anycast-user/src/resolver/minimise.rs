//! QNAME minimisation (RFC 9156): on the way down, a zone's servers are
//! asked only about the next label below the zone (type A, as the RFC
//! advises, so that the query looks like any other), not the whole name.
//! The RFC's limits bound the extra queries: the first four steps add one
//! label each, the rest share out what remains so that a walk asks at
//! most ten minimised questions.
//!
//! Relaxed (the default) or strict: a server that answers a minimised
//! question with NXDOMAIN, or not at all, is asked the whole name in
//! relaxed mode, since some servers wrongly deny empty non-terminals; in
//! strict mode the NXDOMAIN is believed for every name below (RFC 8020)
//! and a failure is a failure.

use hickory_proto::rr::Name;
use serde::Deserialize;

/// Minimised questions one walk asks at most (RFC 9156 2.3,
/// MAX_MINIMISE_COUNT).
pub const MAX_MINIMISE_COUNT: u32 = 10;
/// Steps that add one label each before larger steps (MINIMISE_ONE_LAB).
const MINIMISE_ONE_LAB: u32 = 4;

/// `resolver.qname_minimisation`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Minimisation {
    /// The whole name to every server.
    Off,
    /// Minimised, the whole name after an NXDOMAIN or a failure.
    #[default]
    Relaxed,
    /// Minimised; an NXDOMAIN holds for every name below.
    Strict,
}

/// One walk's minimisation: how far it got, and whether it gave up.
#[derive(Clone, Copy, Debug)]
pub struct Walk {
    mode: Minimisation,
    asked: u32,
    /// Labels of the deepest name found to exist inside the current zone
    /// (no cut there), and of the one last asked about.
    known: usize,
    pending: usize,
    /// The whole name from now on (a fallback, or off).
    whole: bool,
}

impl Walk {
    pub fn new(mode: Minimisation) -> Walk {
        Walk { mode, asked: 0, known: 0, pending: 0, whole: mode == Minimisation::Off }
    }

    /// The name last asked about exists and is no zone cut: the next
    /// question goes one step deeper, to the same servers.
    pub fn exists(&mut self) {
        self.known = self.pending;
    }

    pub fn strict(&self) -> bool {
        self.mode == Minimisation::Strict
    }

    /// Asks the whole name from now on.
    pub fn give_up(&mut self) {
        self.whole = true;
    }

    /// The name to ask the servers of `zone` about on the way to `target`
    /// (at or below `zone`), or None when the whole question is to be
    /// asked: off, given up, or `target` itself is next.
    pub fn next(&mut self, zone: &Name, target: &Name) -> Option<Name> {
        let (depth, at) = (target.iter().count(), zone.iter().count().max(self.known));
        if self.whole || depth <= at + 1 || !zone.zone_of(target) {
            return None;
        }
        let remaining = (depth - at) as u32;
        let add = if self.asked < MINIMISE_ONE_LAB {
            1
        } else {
            let steps_left = MAX_MINIMISE_COUNT.saturating_sub(self.asked).max(1);
            remaining.div_ceil(steps_left)
        };
        if add >= remaining {
            return None;
        }
        self.asked += 1;
        self.pending = at + add as usize;
        Some(suffix(target, self.pending))
    }
}

/// The last `labels` labels of `name`.
fn suffix(name: &Name, labels: usize) -> Name {
    let skip = name.iter().count() - labels;
    Name::from_labels(name.iter().skip(skip)).expect("the labels of a valid name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// Every name a walk asks from the root down to `target`, as if each
    /// step's name were a zone cut (or, `no_cuts`, a name inside the root
    /// zone).
    fn walk(mode: Minimisation, target: &str, no_cuts: bool) -> Vec<String> {
        let (mut walk, target) = (Walk::new(mode), name(target));
        let mut zone = Name::root();
        let mut asked = Vec::new();
        while let Some(next) = walk.next(&zone, &target) {
            asked.push(next.to_string());
            match no_cuts {
                true => walk.exists(),
                false => zone = next,
            }
        }
        asked
    }

    #[test]
    fn one_label_at_a_time_then_larger_steps_within_ten() {
        assert_eq!(walk(Minimisation::Relaxed, "www.example.lab.", false), ["lab.", "example.lab."]);
        assert_eq!(walk(Minimisation::Relaxed, "www.example.lab.", true), ["lab.", "example.lab."], "inside one zone");
        assert!(walk(Minimisation::Relaxed, "lab.", false).is_empty(), "the TLD itself is the whole question");
        assert!(walk(Minimisation::Off, "www.example.lab.", false).is_empty());
        let deep: String = (1..=30).map(|i| format!("l{i}.")).collect();
        assert_eq!(walk(Minimisation::Strict, &deep, true), walk(Minimisation::Strict, &deep, false));
        let asked = walk(Minimisation::Strict, &deep, false);
        assert!(asked.len() <= MAX_MINIMISE_COUNT as usize, "{} minimised questions", asked.len());
        assert_eq!(asked[..4], ["l30.", "l29.l30.", "l28.l29.l30.", "l27.l28.l29.l30."], "one label at first");
        assert!(asked.windows(2).all(|w| name(&w[1]).iter().count() > name(&w[0]).iter().count()));
    }

    #[test]
    fn giving_up_asks_the_whole_name() {
        let mut walk = Walk::new(Minimisation::Relaxed);
        let target = name("a.b.c.example.");
        assert_eq!(walk.next(&Name::root(), &target), Some(name("example.")));
        walk.give_up();
        assert_eq!(walk.next(&name("example."), &target), None);
    }
}

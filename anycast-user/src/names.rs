//! Tables keyed by domain name where the closest enclosing entry decides:
//! local zones, blocklist wildcards, forward and stub zones.

use std::collections::HashMap;

use hickory_proto::rr::Name;

/// The entry of `table` for the longest name at or above `name`; the
/// table's names and `name` lower-cased.
pub fn closest<'a, T>(table: &'a HashMap<Name, T>, name: &Name) -> Option<(&'a Name, &'a T)> {
    if table.is_empty() {
        return None;
    }
    let mut at = name.clone();
    loop {
        if let Some(found) = table.get_key_value(&at) {
            return Some(found);
        }
        if at.is_root() {
            return None;
        }
        at = at.base_name();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_name_at_or_above_wins() {
        let name = |text: &str| Name::from_ascii(text).unwrap();
        let table: HashMap<Name, u8> = [(name("example."), 1), (name("b.example."), 2), (Name::root(), 0)].into();
        assert_eq!(closest(&table, &name("a.b.example.")).map(|(_, v)| *v), Some(2));
        assert_eq!(closest(&table, &name("b.example.")).map(|(_, v)| *v), Some(2), "the name itself");
        assert_eq!(closest(&table, &name("c.example.")).map(|(_, v)| *v), Some(1));
        assert_eq!(closest(&table, &name("other.")).map(|(_, v)| *v), Some(0), "the root");
        assert_eq!(closest(&HashMap::<Name, u8>::new(), &name("other.")), None);
    }
}

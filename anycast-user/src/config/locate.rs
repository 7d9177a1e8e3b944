//! Where a key is in the configuration file, so that a problem named by
//! its key (`announce.frr_route_map`, `local_zone[2].name`) is also given
//! its line.

use toml::de::{DeTable, DeValue};

/// The line (from 1) where `key` is written in `text`, or where the
/// nearest enclosing part of it is; None if `text` does not parse or
/// holds no part of the key (a default, or a command-line flag).
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for segment in key.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok())),
            None => (segment, None),
        };
        let Some((written, value)) = table.iter().find(|(k, _)| k.get_ref() == name) else { break };
        found = Some(written.span().start);
        let mut value = value;
        if let (Some(index), DeValue::Array(items)) = (index, value.get_ref()) {
            let Some(item) = items.get(index) else { break };
            found = Some(item.span().start);
            value = item;
        }
        let DeValue::Table(inner) = value.get_ref() else { break };
        table = inner;
    }
    found.map(|at| line_at(text, at))
}

/// The line (from 1) of byte `at` of `text`.
pub fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_at_their_line() {
        let text = "[service]\nvips = [\"6.6.6.6\"]\n\n[announce]\nmethod = \"interface\"\n\
                    frr_route_map = \"bad name\"\n\n[[local_zone]]\nname = \"a.\"\n\n[[local_zone]]\n\
                    name = \"b.\"\ntype = \"refuse\"\n\n[tls]\n  key = \"/k\"\n";
        let cases = [
            ("service.vips", Some(2)),
            ("announce.frr_route_map", Some(6)),
            ("announce", Some(4)),
            // Not written: the nearest part that is.
            ("announce.drain_time", Some(4)),
            ("local_zone[1].name", Some(12)),
            ("local_zone[1].type", Some(13)),
            ("local_zone[0].name", Some(9)),
            ("local_zone[5].name", Some(8)),
            ("tls.key", Some(16)),
            ("bgp.peers", None),
            ("forward_zone, stub_zone", None),
        ];
        for (key, line) in cases {
            assert_eq!(line_of(text, key), line, "{key}");
        }
        assert_eq!(line_of("[service\n", "service"), None, "a file that does not parse");
    }
}

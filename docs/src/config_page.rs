//! anycastd.toml(5), made from the annotated example configuration
//! (`dist/anycastd.toml`, the package's conffile): its opening comment is
//! the description, each `[section]` a subsection, each key (set, or
//! commented out as `# key = value`) an entry with the comment above it.
//! A test holds the example to every key the daemon reads, so the page
//! lists them all.

use roff::{Roff, bold, italic, roman};

pub const EXAMPLE: &str = include_str!("../../dist/anycastd.toml");

pub fn page() -> String {
    let mut roff = Roff::new();
    roff.control("TH", ["ANYCASTD.TOML", "5", "", "anycastd", "File Formats"]);
    roff.control("SH", ["NAME"]).text([roman("anycastd.toml - the configuration of anycastd(8)")]);
    roff.control("SH", ["SYNOPSIS"]).text([bold(anycast_user::cli::DEFAULT_CONFIG)]);
    roff.control("SH", ["DESCRIPTION"]).text([roman(
        "A TOML file of sections. Every key is optional (the defaults are production's), unknown keys are \
         errors, and flags given to anycastd win over the file. Check a file with anycastd check-config. \
         What follows is the example the package installs, section by section: each key with its example \
         value (commented out in the file where the default is kept).",
    )]);
    let mut prose: Vec<String> = Vec::new();
    let mut opening = true;
    for line in EXAMPLE.lines() {
        let comment = line.strip_prefix('#').map(|c| c.strip_prefix(' ').unwrap_or(c));
        if let Some((key, value, note)) = setting(comment.unwrap_or(line)) {
            prose.extend(note.map(str::to_string));
            roff.control("TP", []).text([bold(key), roman(" = "), italic(value)]);
            roff.text([roman(prose.join(" "))]);
            prose.clear();
        } else if let Some(section) = header(comment.unwrap_or(line)) {
            flush(&mut roff, &mut prose, &mut opening);
            roff.control("SS", [section]);
        } else if let Some(text) = comment {
            prose.push(text.trim().to_string());
        } else if line.trim().is_empty() {
            flush(&mut roff, &mut prose, &mut opening);
        }
    }
    flush(&mut roff, &mut prose, &mut opening);
    roff.control("SH", ["SEE ALSO"]).text([roman("anycastd(8), unbound.conf(5), bird(8), frr(8)")]);
    roff.render()
}

/// Prose not above a key: the example's opening, or a note on its section.
fn flush(roff: &mut Roff, prose: &mut Vec<String>, opening: &mut bool) {
    if prose.is_empty() {
        return;
    }
    if *opening {
        roff.control("SH", ["EXAMPLE"]);
        *opening = false;
    }
    roff.control("PP", []).text([roman(prose.join(" "))]);
    prose.clear();
}

/// `key = value` (a key of lower case, digits and `_`), and a comment
/// after it.
fn setting(line: &str) -> Option<(&str, &str, Option<&str>)> {
    let (key, rest) = line.split_once(" = ")?;
    let key = key.trim();
    let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let (value, note) = match rest.split_once("  #") {
        Some((value, note)) => (value, Some(note.trim_start_matches('#').trim())),
        None => (rest, None),
    };
    valid.then(|| (key, value.trim(), note))
}

/// `[section]` or `[[section]]`.
fn header(line: &str) -> Option<&str> {
    let line = line.trim();
    (line.starts_with('[') && line.ends_with(']') && !line.contains(' ')).then_some(line)
}

#[cfg(test)]
mod tests {
    use anycast_user::config::{
        acl::AclSection,
        announce::{AnnounceSection, HealthSection},
        bgp::{BgpSection, PeerSection},
        cookies::CookiesSection,
        dnssec::DnssecSection,
        dnstap::DnstapSection,
        fastpath::FastPathSection,
        file::File,
        local::{BlocklistSection, LocalDataSection, LocalZoneSection, PolicySection},
        rate_limit::RateLimitSection,
        resolver::{CacheSection, ResolverSection},
        routes::{ForwardZoneSection, StubZoneSection},
        service::ServiceSection,
        tls::TlsSection,
    };
    use serde::Deserialize;

    use super::*;

    /// The keys a section's type reads: a deserializer that asks it for
    /// its fields and nothing else.
    fn fields<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
        let mut fields = Fields(Vec::new());
        let _ = T::deserialize(&mut fields);
        fields.0
    }

    struct Fields(Vec<&'static str>);

    impl<'de> serde::Deserializer<'de> for &mut Fields {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("only the fields are asked"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend(fields);
            Err(serde::de::Error::custom("fields taken"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    /// The example's keys, each under its section (`bgp.peers.address`).
    fn example_keys() -> Vec<String> {
        let mut keys = Vec::new();
        let mut section = String::new();
        for line in EXAMPLE.lines() {
            let line = line.strip_prefix('#').map_or(line, |c| c.strip_prefix(' ').unwrap_or(c));
            if let Some(name) = header(line) {
                section = name.trim_matches(['[', ']']).to_string();
            } else if let Some((key, _, _)) = setting(line) {
                keys.push(format!("{section}.{key}"));
            }
        }
        keys
    }

    #[test]
    fn the_example_and_so_the_page_has_every_key() {
        let sections: Vec<(&str, Vec<&str>)> = vec![
            ("service", fields::<ServiceSection>()),
            ("acl", fields::<AclSection>()),
            ("resolver", fields::<ResolverSection>()),
            ("cache", fields::<CacheSection>()),
            ("dnssec", fields::<DnssecSection>()),
            ("cookies", fields::<CookiesSection>()),
            ("dnstap", fields::<DnstapSection>()),
            ("fastpath", fields::<FastPathSection>()),
            ("announce", fields::<AnnounceSection>()),
            ("health", fields::<HealthSection>()),
            ("rate_limit", fields::<RateLimitSection>()),
            ("bgp", fields::<BgpSection>()),
            ("bgp.peers", fields::<PeerSection>()),
            ("policy", fields::<PolicySection>()),
            ("local_zone", fields::<LocalZoneSection>()),
            ("local_data", fields::<LocalDataSection>()),
            ("blocklist", fields::<BlocklistSection>()),
            ("forward_zone", fields::<ForwardZoneSection>()),
            ("stub_zone", fields::<StubZoneSection>()),
            ("tls", fields::<TlsSection>()),
        ];
        let named: Vec<&str> = sections.iter().map(|(name, _)| *name).filter(|name| !name.contains('.')).collect();
        assert_eq!(named, fields::<File>(), "every section of the file is listed here");
        let example = example_keys();
        let missing: Vec<String> = sections
            .iter()
            .flat_map(|(section, keys)| keys.iter().map(move |key| format!("{section}.{key}")))
            .filter(|key| !example.contains(key) && !sections.iter().any(|(s, _)| key == s))
            .collect();
        assert!(missing.is_empty(), "keys dist/anycastd.toml does not show, so anycastd.toml(5) does not: {missing:?}");
        let page = page();
        for key in &example {
            let name = key.rsplit('.').next().expect("a key");
            assert!(page.contains(&format!("\\fB{name}\\fR")), "{key} is an entry of the page");
        }
    }
}

//! Trust anchors: the keys validation starts from. IANA's root KSKs are
//! built in; a file of DS or DNSKEY lines (as `keymgr ds`, `dig DNSKEY`
//! or Unbound's root.key print them) replaces them, for labs and private
//! roots. Negative trust anchors (RFC 7646) name domains whose data is
//! served as insecure whatever their signatures say.

use std::path::{Path, PathBuf};

use hickory_proto::{
    dnssec::{
        Algorithm, DigestType, PublicKeyBuf,
        rdata::{DNSKEY, DS},
    },
    rr::Name,
};

/// IANA's root KSKs (KSK-2017, tag 20326, and KSK-2024, tag 38696) as
/// their DS records, from https://data.iana.org/root-anchors/root-anchors.xml.
const IANA_ROOT: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// One anchor: what a zone's DNSKEY RRset must be signed by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    Ds(DS),
    Key(DNSKEY),
}

/// Why an anchor file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("reading trust anchors {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {why}")]
    Line { path: PathBuf, line: usize, why: String },
    #[error("{path} holds no DS or DNSKEY record")]
    Empty { path: PathBuf },
}

/// The anchors, by zone, and the negative ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchors {
    anchors: Vec<(Name, Anchor)>,
    negative: Vec<Name>,
}

impl Anchors {
    /// IANA's root anchors.
    pub fn iana() -> Anchors {
        let anchors = parse(IANA_ROOT).expect("the built-in root anchors parse");
        Anchors { anchors, negative: Vec::new() }
    }

    /// The anchors in the file at `path`.
    pub fn from_file(path: &Path) -> Result<Anchors, AnchorError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| AnchorError::Read { path: path.to_path_buf(), source })?;
        let anchors = parse(&text).map_err(|(line, why)| AnchorError::Line { path: path.to_path_buf(), line, why })?;
        if anchors.is_empty() {
            return Err(AnchorError::Empty { path: path.to_path_buf() });
        }
        Ok(Anchors { anchors, negative: Vec::new() })
    }

    /// The same anchors with `names` as negative trust anchors.
    pub fn with_negative(mut self, names: Vec<Name>) -> Anchors {
        self.negative = names.iter().map(Name::to_lowercase).collect();
        self
    }

    /// The deepest anchored zone at or above `name`.
    pub fn closest(&self, name: &Name) -> Option<&Name> {
        self.anchors.iter().map(|(zone, _)| zone).filter(|zone| zone.zone_of(name)).max_by_key(|z| z.num_labels())
    }

    /// The anchors of `zone`.
    pub fn of<'a>(&'a self, zone: &'a Name) -> impl Iterator<Item = &'a Anchor> + 'a {
        self.anchors.iter().filter(move |(z, _)| z == zone).map(|(_, anchor)| anchor)
    }

    /// Whether `name` is at or below a negative trust anchor.
    pub fn is_negative(&self, name: &Name) -> bool {
        self.negative.iter().any(|nta| nta.zone_of(name))
    }
}

/// The DS and DNSKEY records of an anchor file, or the line that is
/// wrong and why. Comments (`;`), blank lines and other types are skipped.
fn parse(text: &str) -> Result<Vec<(Name, Anchor)>, (usize, String)> {
    let mut anchors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split(';').next().unwrap_or_default();
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = tokens.iter().position(|t| t.eq_ignore_ascii_case("DS") || t.eq_ignore_ascii_case("DNSKEY"))
        else {
            continue;
        };
        let owner = tokens.first().filter(|_| at > 0).ok_or((index + 1, "no owner name".to_string()))?;
        let name = Name::from_ascii(owner).map_err(|e| (index + 1, format!("owner `{owner}`: {e}")))?;
        let anchor = match tokens[at].to_ascii_uppercase().as_str() {
            "DS" => ds(&tokens[at + 1..]),
            _ => dnskey(&tokens[at + 1..]),
        }
        .map_err(|why| (index + 1, why))?;
        anchors.push((name.to_lowercase(), anchor));
    }
    Ok(anchors)
}

fn number<T: std::str::FromStr>(token: Option<&&str>, what: &str) -> Result<T, String> {
    let token = token.ok_or_else(|| format!("no {what}"))?;
    token.parse().map_err(|_| format!("{what} `{token}` is not a number"))
}

/// `KEYTAG ALGORITHM DIGESTTYPE DIGEST` (the digest may be split).
fn ds(fields: &[&str]) -> Result<Anchor, String> {
    let key_tag: u16 = number(fields.first(), "key tag")?;
    let algorithm: u8 = number(fields.get(1), "algorithm")?;
    let digest_type: u8 = number(fields.get(2), "digest type")?;
    let hex = fields.get(3..).filter(|rest| !rest.is_empty()).ok_or("no digest")?.concat().to_ascii_uppercase();
    let digest = data_encoding::HEXUPPER.decode(hex.as_bytes()).map_err(|e| format!("digest: {e}"))?;
    Ok(Anchor::Ds(DS::new(key_tag, Algorithm::from_u8(algorithm), DigestType::from(digest_type), digest)))
}

/// `FLAGS PROTOCOL ALGORITHM KEY` (the base64 key may be split).
fn dnskey(fields: &[&str]) -> Result<Anchor, String> {
    let flags: u16 = number(fields.first(), "flags")?;
    let protocol: u8 = number(fields.get(1), "protocol")?;
    if protocol != 3 {
        return Err(format!("protocol {protocol} is not 3 (RFC 4034 2.1.2)"));
    }
    let algorithm: u8 = number(fields.get(2), "algorithm")?;
    let base64 = fields.get(3..).filter(|rest| !rest.is_empty()).ok_or("no public key")?.concat();
    let key = data_encoding::BASE64.decode(base64.as_bytes()).map_err(|e| format!("public key: {e}"))?;
    Ok(Anchor::Key(DNSKEY::with_flags(flags, PublicKeyBuf::new(key, Algorithm::from_u8(algorithm)))))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::dnssec::PublicKey;

    use super::*;

    #[test]
    fn the_built_in_anchors_are_the_two_root_ksks() {
        let iana = Anchors::iana();
        let tags: Vec<u16> = iana
            .of(&Name::root())
            .map(|a| match a {
                Anchor::Ds(ds) => ds.key_tag(),
                Anchor::Key(_) => panic!("DS expected"),
            })
            .collect();
        assert_eq!(tags, [20326, 38696]);
        assert_eq!(iana.closest(&Name::from_str("www.example.").unwrap()), Some(&Name::root()));
    }

    #[test]
    fn files_of_ds_and_dnskey_lines_with_comments() {
        let text = "; lab anchors\n\
                    . 3600 IN DS 12345 13 2 ABCDEF01 23456789\n\
                    sec. IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d xCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n\
                    example. 300 IN A 192.0.2.1\n";
        let anchors = parse(text).unwrap();
        assert_eq!(anchors.len(), 2);
        assert!(matches!(&anchors[0].1, Anchor::Ds(ds) if ds.key_tag() == 12345 && ds.digest().len() == 8));
        assert!(
            matches!(&anchors[1].1, Anchor::Key(k) if k.flags() == 257 && k.public_key().public_bytes().len() == 64)
        );
    }

    #[test]
    fn wrong_lines_are_named() {
        for (text, why) in [
            (". DS 1 13 2", "no digest"),
            (". DS x 13 2 AB", "key tag `x` is not a number"),
            (". DS 1 13 2 XYZ", "digest"),
            (". DNSKEY 257 2 13 AAAA", "protocol 2 is not 3"),
            ("DS 1 13 2 AB", "no owner name"),
        ] {
            let (line, error) = parse(&format!("; first\n{text}\n")).unwrap_err();
            assert_eq!(line, 2, "{text}");
            assert!(error.contains(why), "{text}: {error}");
        }
    }

    #[test]
    fn negative_anchors_cover_their_subtree() {
        let anchors = Anchors::iana().with_negative(vec![Name::from_str("Broken.Example.").unwrap()]);
        assert!(anchors.is_negative(&Name::from_str("www.broken.example.").unwrap()));
        assert!(anchors.is_negative(&Name::from_str("broken.example.").unwrap()));
        assert!(!anchors.is_negative(&Name::from_str("example.").unwrap()));
    }
}

//! Root hints: where iteration starts. Built in are IANA's thirteen root
//! servers; a hints file in zone-file syntax (the `named.root` format)
//! replaces them, for labs and private roots.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::Path,
    str::FromStr,
};

use hickory_proto::rr::Name;

/// A root server: its name and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootServer {
    pub name: Name,
    pub addresses: Vec<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootHints {
    pub servers: Vec<RootServer>,
}

#[derive(Debug, thiserror::Error)]
pub enum HintsError {
    #[error("cannot read root hints {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("root hints {path}, line {line}: {problem}")]
    Syntax { path: String, line: usize, problem: String },
    #[error("root hints {path}: no root server with an address")]
    Empty { path: String },
}

/// IANA's root servers (root-servers.org, as of 2026).
const IANA: [(&str, [u8; 4], &str); 13] = [
    ("a", [198, 41, 0, 4], "2001:503:ba3e::2:30"),
    ("b", [170, 247, 170, 2], "2801:1b8:10::b"),
    ("c", [192, 33, 4, 12], "2001:500:2::c"),
    ("d", [199, 7, 91, 13], "2001:500:2d::d"),
    ("e", [192, 203, 230, 10], "2001:500:a8::e"),
    ("f", [192, 5, 5, 241], "2001:500:2f::f"),
    ("g", [192, 112, 36, 4], "2001:500:12::d0d"),
    ("h", [198, 97, 190, 53], "2001:500:1::53"),
    ("i", [192, 36, 148, 17], "2001:7fe::53"),
    ("j", [192, 58, 128, 30], "2001:503:c27::2:30"),
    ("k", [193, 0, 14, 129], "2001:7fd::1"),
    ("l", [199, 7, 83, 42], "2001:500:9f::42"),
    ("m", [202, 12, 27, 33], "2001:dc3::35"),
];

impl RootHints {
    pub fn iana() -> RootHints {
        let servers = IANA
            .iter()
            .map(|(letter, v4, v6)| RootServer {
                name: Name::from_str(&format!("{letter}.root-servers.net.")).expect("valid name"),
                addresses: vec![
                    IpAddr::V4(Ipv4Addr::from(*v4)),
                    IpAddr::V6(Ipv6Addr::from_str(v6).expect("valid address")),
                ],
            })
            .collect();
        RootHints { servers }
    }

    pub fn from_file(path: &Path) -> Result<RootHints, HintsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| HintsError::Read { path: path.display().to_string(), source })?;
        RootHints::parse(&text, &path.display().to_string())
    }

    /// Parses `NAME [TTL] [IN] TYPE DATA` lines: NS records of the root and
    /// A/AAAA records of their targets. Comments start with `;`.
    pub fn parse(text: &str, path: &str) -> Result<RootHints, HintsError> {
        let mut servers: Vec<RootServer> = Vec::new();
        let mut addresses: Vec<(Name, IpAddr)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let syntax = |problem: String| HintsError::Syntax { path: path.to_string(), line: i + 1, problem };
            let line = raw.split(';').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Drop an optional TTL and class between the name and the type.
            let rest: Vec<&str> = fields[1..]
                .iter()
                .copied()
                .skip_while(|f| f.parse::<u32>().is_ok() || f.eq_ignore_ascii_case("IN"))
                .collect();
            let [rtype, data] = rest.as_slice() else {
                return Err(syntax(format!("expected NAME [TTL] [IN] TYPE DATA, found `{line}`")));
            };
            let owner = Name::from_str(fields[0]).map_err(|e| syntax(format!("name `{}`: {e}", fields[0])))?;
            match rtype.to_ascii_uppercase().as_str() {
                "NS" => {
                    if !owner.is_root() {
                        return Err(syntax(format!("NS record for `{owner}`; hints hold the root's")));
                    }
                    let name = Name::from_str(data).map_err(|e| syntax(format!("NS target `{data}`: {e}")))?;
                    servers.push(RootServer { name: name.to_lowercase(), addresses: Vec::new() });
                }
                "A" => {
                    let ip = Ipv4Addr::from_str(data).map_err(|e| syntax(format!("address `{data}`: {e}")))?;
                    addresses.push((owner.to_lowercase(), IpAddr::V4(ip)));
                }
                "AAAA" => {
                    let ip = Ipv6Addr::from_str(data).map_err(|e| syntax(format!("address `{data}`: {e}")))?;
                    addresses.push((owner.to_lowercase(), IpAddr::V6(ip)));
                }
                other => return Err(syntax(format!("record type {other}; hints hold NS, A and AAAA"))),
            }
        }
        for server in &mut servers {
            server.addresses = addresses.iter().filter(|(n, _)| *n == server.name).map(|(_, ip)| *ip).collect();
        }
        servers.retain(|s| !s.addresses.is_empty());
        if servers.is_empty() {
            return Err(HintsError::Empty { path: path.to_string() });
        }
        Ok(RootHints { servers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_root_format() {
        let text = ".  3600000  IN  NS  A.ROOT.lab.\n\
                    ; the lab root\n\
                    a.root.lab.  3600000  A  10.53.0.1\n\
                    a.root.lab.  3600000 IN AAAA  fd00::53 ; v6 too\n\
                    .  NS  b.root.lab.\n";
        let hints = RootHints::parse(text, "lab.hints").unwrap();
        assert_eq!(hints.servers.len(), 1, "b has no address and is dropped");
        assert_eq!(hints.servers[0].name, Name::from_str("a.root.lab.").unwrap());
        assert_eq!(hints.servers[0].addresses.len(), 2);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let err = RootHints::parse(".  NS  a.root.lab.\na.root.lab. A 10.0.0.300\n", "h").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("10.0.0.300"), "{err}");
        let err = RootHints::parse("lab. NS a.root.lab.\n", "h").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("root's"), "{err}");
        let err = RootHints::parse("; nothing\n", "h").unwrap_err().to_string();
        assert!(err.contains("no root server"), "{err}");
    }

    #[test]
    fn iana_hints_have_both_families() {
        let hints = RootHints::iana();
        assert_eq!(hints.servers.len(), 13);
        assert!(
            hints
                .servers
                .iter()
                .all(|s| s.addresses.iter().any(IpAddr::is_ipv4) && s.addresses.iter().any(IpAddr::is_ipv6))
        );
    }
}

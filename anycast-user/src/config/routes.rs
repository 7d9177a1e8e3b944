//! `[[forward_zone]]` and `[[stub_zone]]`: zones sent their own way (see
//! [`crate::resolver::routes`]).

use serde::Deserialize;

use super::{
    error::{ConfigError, domain_name, invalid},
    resolver::parse_forwarder,
};
use crate::resolver::routes::{Route, Routes};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardZoneSection {
    pub name: String,
    /// Resolvers, `ADDRESS` or `ADDRESS:PORT`.
    pub forwarders: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubZoneSection {
    pub name: String,
    /// The zone's authoritative servers, `ADDRESS` or `ADDRESS:PORT`.
    pub servers: Vec<String>,
}

pub fn check(forward: Vec<ForwardZoneSection>, stub: Vec<StubZoneSection>) -> Result<Routes, ConfigError> {
    let forward = forward.into_iter().enumerate().map(|(i, zone)| {
        let key = format!("forward_zone[{i}]");
        Ok((
            domain_name(&format!("{key}.name"), &zone.name)?,
            Route::Forward(addresses(&key, "forwarders", &zone.forwarders)?),
        ))
    });
    let stub = stub.into_iter().enumerate().map(|(i, zone)| {
        let key = format!("stub_zone[{i}]");
        Ok((domain_name(&format!("{key}.name"), &zone.name)?, Route::Stub(addresses(&key, "servers", &zone.servers)?)))
    });
    let routes = forward.chain(stub).collect::<Result<Vec<_>, ConfigError>>()?;
    Routes::new(routes).map_err(|e| invalid("forward_zone, stub_zone", e.to_string()))
}

fn addresses(key: &str, field: &str, given: &[String]) -> Result<Vec<std::net::SocketAddr>, ConfigError> {
    if given.is_empty() {
        return Err(invalid(format!("{key}.{field}"), "needs at least one address"));
    }
    given
        .iter()
        .map(|a| {
            parse_forwarder(a)
                .ok_or_else(|| invalid(format!("{key}.{field}"), format!("`{a}` is not ADDRESS or ADDRESS:PORT")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Name;

    use super::*;

    fn parse(text: &str) -> Result<Routes, ConfigError> {
        #[derive(Deserialize)]
        struct Sections {
            #[serde(default)]
            forward_zone: Vec<ForwardZoneSection>,
            #[serde(default)]
            stub_zone: Vec<StubZoneSection>,
        }
        let s: Sections = toml::from_str(text).map_err(|e| invalid("toml", e.to_string()))?;
        check(s.forward_zone, s.stub_zone)
    }

    #[test]
    fn routes_are_checked_with_their_keys() {
        let routes = parse(
            "[[forward_zone]]\nname = \"corp.example\"\nforwarders = [\"10.0.0.53\", \"[fd00::53]:5353\"]\n\
             [[stub_zone]]\nname = \"lab.corp.example.\"\nservers = [\"10.1.0.1\"]\n",
        )
        .unwrap();
        let forward = routes.route(&Name::from_ascii("www.corp.example.").unwrap()).unwrap().1;
        assert_eq!(*forward, Route::Forward(vec!["10.0.0.53:53".parse().unwrap(), "[fd00::53]:5353".parse().unwrap()]));
        let cases = [
            ("[[forward_zone]]\nname = \"a.\"\nforwarders = []\n", "forward_zone[0].forwarders: needs at least one"),
            ("[[stub_zone]]\nname = \"a.\"\nservers = [\"ns.a\"]\n", "stub_zone[0].servers: `ns.a` is not"),
            ("[[stub_zone]]\nname = \"a..\"\nservers = [\"10.0.0.1\"]\n", "stub_zone[0].name:"),
            (
                "[[forward_zone]]\nname = \"a.\"\nforwarders = [\"10.0.0.1\"]\n[[stub_zone]]\nname = \"A\"\nservers = [\"10.0.0.1\"]\n",
                "forward_zone, stub_zone: a. is given a route twice",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
    }
}

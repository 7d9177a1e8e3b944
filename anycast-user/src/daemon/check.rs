//! `anycastd check-config`: whatever start or reload would refuse in a
//! configuration, every problem at once (as unbound-checkconf): the
//! file's TOML, its keys and values by section, then the files it names
//! (root hints, trust anchor, blocklists, the certificate and key, the
//! cookie secret), each problem with its key and line.

use std::path::Path;

use serde::Deserialize;

use crate::{
    config::{
        Config,
        error::ConfigError,
        file::File,
        flags::Flags,
        locate::{line_at, line_of},
    },
    dnssec::anchors::Anchors,
    policy::{
        cookies::{self, SecretSource},
        local::{LoadError, LocalPolicy},
    },
    resolver::hints::RootHints,
    server::certificate::Certificate,
};

/// One problem: where (the line, if the file has one for it), and what.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub what: String,
}

/// Every problem of the configuration `path` with `flags` over it, in
/// the file's order; none if anycastd would start with it.
pub fn check(path: &Path, flags: &Flags) -> Vec<Problem> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return vec![Problem { line: None, what: format!("cannot read it: {e}") }],
    };
    let mut problems = syntax(&text);
    if !problems.is_empty() {
        problems.sort_by_key(|problem| problem.line);
        return problems;
    }
    let (typed, failed) = typed(&text);
    problems = typed.problems;
    let keyed = |(key, what): (&str, String)| Problem { line: line_of(&text, key), what: format!("{key}: {what}") };
    match Config::check_every(typed.file, flags) {
        Ok(config) if problems.is_empty() => problems.extend(files(&config).into_iter().map(keyed)),
        Ok(_) => {}
        Err(invalid) => problems.extend(invalid.into_iter().filter_map(|problem| match problem {
            // What a section that did not type says is already told.
            ConfigError::Invalid { key, .. } if failed.iter().any(|f| section_of(&key) == f) => None,
            ConfigError::Invalid { key, problem } => Some(keyed((&key, problem))),
            other => Some(Problem { line: None, what: other.to_string() }),
        })),
    }
    problems.sort_by_key(|problem| problem.line);
    problems
}

/// The file as far as it types, and the problems of the rest.
struct Typed {
    file: File,
    problems: Vec<Problem>,
}

/// Each section read as a file of that section alone: its first unknown
/// key or value of the wrong type; the file of the sections that have
/// none, and the names of those that do.
fn typed(text: &str) -> (Typed, Vec<String>) {
    let Ok(root) = toml::de::DeTable::parse(text) else { unreachable!("syntax() found no error") };
    let (span, mut problems, mut failed) = (root.span(), Vec::new(), Vec::new());
    let mut good = toml::de::DeTable::new();
    for (key, value) in root.get_ref() {
        let mut alone = toml::de::DeTable::new();
        alone.insert(key.clone(), value.clone());
        match File::deserialize(toml::de::Deserializer::from(toml::Spanned::new(span.clone(), alone))) {
            Ok(_) => drop(good.insert(key.clone(), value.clone())),
            Err(e) => {
                let line = e.span().map(|at| line_at(text, at.start));
                problems.push(Problem { line, what: format!("{}: {}", key.get_ref(), one_line(e.message())) });
                failed.push(key.get_ref().to_string());
            }
        }
    }
    let file = File::deserialize(toml::de::Deserializer::from(toml::Spanned::new(span, good)))
        .expect("sections that type alone type together");
    (Typed { file, problems }, failed)
}

/// A key's section: `local_zone` of `local_zone[2].name`.
fn section_of(key: &str) -> &str {
    key.split(['.', '[']).next().unwrap_or(key)
}

/// Every TOML syntax error, each at its line.
fn syntax(text: &str) -> Vec<Problem> {
    let (_, errors) = toml::de::DeTable::parse_recoverable(text);
    errors
        .iter()
        .map(|e| Problem { line: e.span().map(|at| line_at(text, at.start)), what: one_line(e.message()) })
        .collect()
}

/// The files the configuration names, read as start reads them: each
/// problem with the key that names the file.
fn files(config: &Config) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let crate::resolver::Mode::Recursive(Some(hints)) = &config.resolver.mode {
        problems.extend(RootHints::from_file(hints).err().map(|e| ("resolver.root_hints", e.to_string())));
    }
    if let Some(anchor) = config.dnssec.as_ref().and_then(|d| d.trust_anchor.as_ref()) {
        problems.extend(Anchors::from_file(anchor).err().map(|e| ("dnssec.trust_anchor", e.to_string())));
    }
    if let Some(SecretSource::File(secret)) = &config.cookies {
        problems.extend(cookies::read_file(secret).err().map(|e| ("cookies.secret_file", e.to_string())));
    }
    let policy = LocalPolicy::load(&config.local).err();
    problems.extend(
        policy.map(|e| (if matches!(e, LoadError::Zone(_)) { "local_zone" } else { "blocklist" }, e.to_string())),
    );
    if let Some(tls) = &config.tls {
        problems
            .extend(Certificate::load(&tls.certificate, &tls.key).err().map(|e| ("tls.certificate", e.to_string())));
    }
    problems
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as a file in a directory of its own, checked with no flags.
    fn problems_of(text: &str) -> Vec<(Option<usize>, String)> {
        let dir = std::env::temp_dir().join(format!("anycastd-check-{}-{:x}", std::process::id(), hash(text)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("anycastd.toml");
        std::fs::write(&path, text).unwrap();
        let problems = check(&path, &Flags::default());
        std::fs::remove_dir_all(&dir).unwrap();
        problems.into_iter().map(|p| (p.line, p.what)).collect()
    }

    fn hash(text: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        hasher.finish()
    }

    /// Each problem's line and how its text starts.
    type Expected<'a> = &'a [(Option<usize>, &'a str)];

    const GOOD: &str = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";

    #[test]
    fn every_problem_is_told_with_its_line_and_key() {
        let cases: &[(&str, &str, Expected)] = &[
            ("a good file", GOOD, &[]),
            ("bad TOML", "[service\nvips = 1\n", &[(Some(1), "unclosed table")]),
            (
                "wrong types in two sections, an unknown section",
                "[service]\nport = \"x\"\n\n[cache]\nmax_ttl = -1\n\n[nosuch]\na = 1\n",
                &[
                    (Some(2), "service: invalid type"),
                    (Some(5), "cache: invalid value"),
                    (Some(7), "nosuch: unknown field"),
                ],
            ),
            (
                "a wrong type, and a bad value in another section",
                "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n\n[tls]\ndot_port = 70000\n\n\
                 [[local_zone]]\nname = \"a.\"\ntype = \"refuse\"\n\n[[local_zone]]\nname = \"bad..name\"\ntype = \"refuse\"\n",
                &[(Some(6), "tls: invalid value"), (Some(13), "local_zone[1].name: `bad..name` is not a domain name")],
            ),
            (
                "bad values in two sections, one not written",
                "[service]\nxdp_mode = \"off\"\n\n[announce]\nfrr_route_map = \"bad name\"\n",
                &[(Some(1), "service.vips: no VIP to serve")],
            ),
            (
                "files that do not exist",
                &format!(
                    "{GOOD}\n[dnssec]\ntrust_anchor = \"/nonexistent/anchor\"\n\n[tls]\ncertificate = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"\n"
                ),
                &[(Some(6), "dnssec.trust_anchor: "), (Some(9), "tls.certificate: ")],
            ),
        ];
        for (what, text, want) in cases {
            let got = problems_of(text);
            let matches = got.len() == want.len()
                && got
                    .iter()
                    .zip(want.iter())
                    .all(|((line, text), (want_line, start))| line == want_line && text.starts_with(start));
            assert!(matches, "{what}: got {got:#?}, want {want:?}");
        }
    }
}

//! The module graph of anycast-user, read from its source: which module
//! names which in a path (`use` trees and paths in code, `crate::`,
//! `super::`, `self::`, a child module's name, and `anycast_user::` from
//! the binary). A parent's `mod child;` is containment, not a path; a
//! parent that names its child and a child that names its parent are a
//! cycle like any other. Test-only code (`#[cfg(test)]` modules, inline or in files
//! of their own) is left out: tests may reach anywhere. A cycle between
//! modules, direct or through others, fails `cargo xtask lint`;
//! `cargo xtask layers` prints the graph, leaves first.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

/// Module path (`server::respond`; the crate root is `crate`, the binary
/// `main`) to the modules it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

const ROOT: &str = "crate";
const LIBRARY: &str = "anycast_user";

/// Fails, naming every cycle, unless the graph of `src` has none.
pub fn check(src: &Path) -> Result<()> {
    let graph = graph(src)?;
    let cycles = cycles(&graph);
    if !cycles.is_empty() {
        let text: Vec<String> = cycles.iter().map(|c| format!("  {}", c.join(" -> "))).collect();
        bail!("module cycles in {}:\n{}", src.display(), text.join("\n"));
    }
    Ok(())
}

/// The graph, one line a module, in an order where every module comes
/// after those it imports (cycles, if any, at the end).
pub fn render(graph: &Graph) -> String {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut lines = Vec::new();
    while placed.len() < graph.len() {
        let ready: Vec<&String> = graph
            .iter()
            .filter(|(m, deps)| !placed.contains(m.as_str()) && deps.iter().all(|d| placed.contains(d.as_str())))
            .map(|(m, _)| m)
            .collect();
        let next = if ready.is_empty() {
            // A cycle: place the rest as they are, marked.
            graph.keys().filter(|m| !placed.contains(m.as_str())).collect()
        } else {
            ready
        };
        for module in next {
            let deps: Vec<&str> = graph[module].iter().map(String::as_str).collect();
            let mark = if deps.iter().all(|d| placed.contains(d)) { "" } else { "  (in or above a cycle)" };
            lines.push(format!("{module} -> {}{mark}", if deps.is_empty() { "-".into() } else { deps.join(", ") }));
            placed.insert(module);
        }
    }
    lines.join("\n")
}

/// Reads every non-test module under `src` (lib.rs and main.rs roots).
pub fn graph(src: &Path) -> Result<Graph> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let sources: BTreeMap<String, String> = files
        .iter()
        .map(|path| {
            let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Ok((module_of(src, path), strip(&text)))
        })
        .collect::<Result<_>>()?;
    let test_only = test_only_modules(&sources);
    let modules: BTreeSet<&str> = sources.keys().map(String::as_str).filter(|m| !test_only.contains(*m)).collect();
    let mut graph = Graph::new();
    for module in &modules {
        let code = without_test_blocks(&sources[*module]);
        let mut deps = BTreeSet::new();
        for path in paths(&tokens(&code)) {
            if let Some(target) = resolve(module, &path, &modules)
                && target != *module
            {
                deps.insert(target);
            }
        }
        graph.insert(module.to_string(), deps);
    }
    Ok(graph)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// `lib.rs` is the crate root, `main.rs` the binary; `a/mod.rs` and
/// `a.rs` are `a`, `a/b.rs` is `a::b`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    match parts.as_slice() {
        [only] if only == "lib" => ROOT.to_string(),
        [only] if only == "main" => "main".to_string(),
        _ => parts.join("::"),
    }
}

/// Modules declared `#[cfg(test)] mod name;` in their parent, and all
/// below them.
fn test_only_modules(sources: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut test_only = BTreeSet::new();
    for (module, code) in sources {
        let words: Vec<&str> = code.split_whitespace().collect();
        for window in words.windows(4) {
            if let ["#[cfg(test)]", "mod" | "pub(crate)", _, _] = window {
                let name = if window[1] == "mod" { window[2] } else { window[3] };
                if let Some(name) = name.strip_suffix(';') {
                    test_only.insert(child(module, name));
                }
            }
        }
    }
    sources.keys().filter(|m| test_only.iter().any(|t| *m == t || m.starts_with(&format!("{t}::")))).cloned().collect()
}

fn child(module: &str, name: &str) -> String {
    if module == ROOT { name.to_string() } else { format!("{module}::{name}") }
}

/// Replaces comments, string and character literals with spaces (their
/// contents are not code), keeping everything else.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            i += 2;
            while i < chars.len() && !chars[i..].starts_with(&['*', '/']) {
                i += 1;
            }
            i += 2;
        } else if chars[i] == 'r' && rest.get(1).is_some_and(|c| *c == '#' || *c == '"') && !ident_before(&chars, i) {
            let hashes = rest[1..].iter().take_while(|c| **c == '#').count();
            if rest.get(1 + hashes) == Some(&'"') {
                i += 2 + hashes;
                let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                while i < chars.len() && !chars[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            } else {
                out.push(chars[i]);
                i += 1;
            }
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\'' && is_char_literal(rest) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `'a'`, `'\n'`, `'\''`, as opposed to a lifetime (`'a`).
fn is_char_literal(rest: &[char]) -> bool {
    matches!(rest, ['\'', '\\', ..] | ['\'', _, '\'', ..])
}

/// The code without `#[cfg(test)]` items that are blocks (`mod tests {..}`,
/// a test-only `fn` or `impl`).
fn without_test_blocks(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let (Some(open), semicolon) = (item.find('{'), item.find(';')) else {
            rest = &item["#[cfg(test)]".len()..];
            continue;
        };
        if semicolon.is_some_and(|s| s < open) {
            // `#[cfg(test)] mod name;` or a `use`: the item ends there.
            rest = &item[semicolon.unwrap_or(0) + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    Path,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
            continue;
        }
        let token = match c {
            ':' if chars.get(i + 1) == Some(&':') => {
                i += 1;
                Token::Path
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            ';' => Token::Semi,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => Token::Other,
        };
        out.push(token);
        i += 1;
    }
    out
}

/// Every path in the code: those of `use` trees expanded, and plain
/// `a::b::c` paths elsewhere.
fn paths(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Token::Ident("use".into()) {
            i = use_tree(tokens, i + 1, Vec::new(), &mut out);
            continue;
        }
        if let Token::Ident(first) = &tokens[i]
            && tokens.get(i + 1) == Some(&Token::Path)
            && !(i > 0 && tokens[i - 1] == Token::Path)
        {
            let mut path = vec![first.clone()];
            let mut j = i + 1;
            while tokens.get(j) == Some(&Token::Path) {
                match tokens.get(j + 1) {
                    Some(Token::Ident(next)) => path.push(next.clone()),
                    _ => break,
                }
                j += 2;
            }
            // `f::<T>()` names no module.
            if path.len() > 1 {
                out.push(path);
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Parses one use tree from `i` with `prefix` before it; returns where it
/// ends (after `;`, `,` or before `}`).
fn use_tree(tokens: &[Token], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match tokens.get(i) {
            Some(Token::Ident(name)) if name == "as" => {
                // `as alias`: the alias names nothing new.
                i += 2;
            }
            Some(Token::Ident(name)) => {
                if name != "self" || prefix.is_empty() {
                    prefix.push(name.clone());
                }
                i += 1;
            }
            Some(Token::Path) => i += 1,
            Some(Token::Open) => {
                i += 1;
                while !matches!(tokens.get(i), Some(Token::Close) | None) {
                    i = use_tree(tokens, i, prefix.clone(), out);
                    if tokens.get(i) == Some(&Token::Comma) {
                        i += 1;
                    }
                }
                i += 1;
                return finish(tokens, i);
            }
            Some(Token::Other) => i += 1, // `*`
            _ => {
                if !prefix.is_empty() {
                    out.push(prefix);
                }
                return finish(tokens, i);
            }
        }
    }
}

fn finish(tokens: &[Token], i: usize) -> usize {
    match tokens.get(i) {
        Some(Token::Semi) => i + 1,
        _ => i,
    }
}

/// The module a path in `module` leads to (the longest known prefix), if
/// it leads into this crate.
fn resolve(module: &str, path: &[String], modules: &BTreeSet<&str>) -> Option<String> {
    let here: Vec<String> =
        if module == ROOT || module == "main" { Vec::new() } else { module.split("::").map(String::from).collect() };
    let (first, rest) = path.split_first()?;
    let mut absolute: Vec<String> = match first.as_str() {
        "crate" if module != "main" => Vec::new(),
        LIBRARY if module == "main" => Vec::new(),
        "self" => here.clone(),
        "super" => {
            let mut up = here.clone();
            up.pop()?;
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                up.pop()?;
                rest = &rest[1..];
            }
            up.extend(rest.iter().cloned());
            return longest_known(up, modules);
        }
        name if module != "main" && modules.contains(child(module, name).as_str()) => {
            let mut down = here.clone();
            down.push(name.to_string());
            down
        }
        _ => return None,
    };
    absolute.extend(rest.iter().cloned());
    longest_known(absolute, modules)
}

fn longest_known(mut segments: Vec<String>, modules: &BTreeSet<&str>) -> Option<String> {
    loop {
        if segments.is_empty() {
            return Some(ROOT.to_string());
        }
        let name = segments.join("::");
        if modules.contains(name.as_str()) {
            return Some(name);
        }
        segments.pop();
    }
}

/// Every strongly connected component of more than one module, each as a
/// cycle through it.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for start in graph.keys() {
        if seen.contains(start.as_str()) {
            continue;
        }
        if let Some(cycle) = cycle_from(graph, start) {
            seen.extend(graph.keys().filter(|m| cycle.contains(m)).map(String::as_str));
            found.push(cycle);
        }
    }
    found
}

/// A shortest cycle back to `start`, if there is one (breadth first).
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                let mut cycle = vec![start.to_string()];
                let mut back = at;
                while back != start {
                    cycle.insert(1, back.to_string());
                    back = parent[back];
                }
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if !parent.contains_key(next.as_str()) {
                parent.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_paths(code: &str) -> Vec<String> {
        paths(&tokens(&strip(code))).iter().map(|p| p.join("::")).collect()
    }

    #[test]
    fn use_trees_expand_to_every_path() {
        let code = "use crate::{a::{self, B}, c::D as E, f::*};\nuse super::g;";
        assert_eq!(all_paths(code), ["crate::a", "crate::a::B", "crate::c::D", "crate::f", "super::g"]);
    }

    #[test]
    fn paths_in_code_count_and_comments_strings_and_tests_do_not() {
        let code = r##"
            // crate::commented
            /// [`crate::documented`]
            fn f() { let s = "crate::quoted"; let r = r#"crate::raw"#; crate::server::run(x::<'a>) }
            #[cfg(test)]
            mod tests { use crate::tested; }
        "##;
        let kept = without_test_blocks(&strip(code));
        assert_eq!(paths(&tokens(&kept)).iter().map(|p| p.join("::")).collect::<Vec<_>>(), ["crate::server::run"]);
    }

    #[test]
    fn paths_resolve_to_the_longest_known_module() {
        let modules: BTreeSet<&str> = [ROOT, "main", "server", "server::respond", "server::stats", "wire"].into();
        let path = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        let at = |m: &str, p: &str| resolve(m, &path(p), &modules);
        assert_eq!(at("server::respond", "super::stats::Stats").as_deref(), Some("server::stats"));
        assert_eq!(at("server::respond", "crate::wire::assemble").as_deref(), Some("wire"));
        assert_eq!(at("server", "respond::Responder").as_deref(), Some("server::respond"), "a child by name");
        assert_eq!(at("main", "anycast_user::server::Thing").as_deref(), Some("server"));
        assert_eq!(at("wire", "hickory_proto::op::Message"), None, "another crate");
    }

    #[test]
    fn cycles_are_found_through_other_modules() {
        let graph: Graph = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
            .into_iter()
            .map(|(m, deps)| (m.to_string(), deps.into_iter().map(String::from).collect()))
            .collect();
        assert_eq!(cycles(&graph), [vec!["a", "b", "c", "a"]]);
        let mut acyclic = graph.clone();
        acyclic.insert("c".into(), BTreeSet::new());
        assert!(cycles(&acyclic).is_empty());
        assert_eq!(render(&acyclic), "c -> -\nb -> c\na -> b\nd -> a");
    }
}

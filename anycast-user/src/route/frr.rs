//! Telling the node's FRR the state: a route-map anycastd owns (by
//! default `ANYCAST-STATE`), which the operator's redistribution
//! route-map `call`s: entry `deny 5` present while withdrawn, entry
//! `permit 10` carrying the drain's set lines (by default
//! `set metric 1000`: the OSPF external metric, or the MED in bgpd) while
//! drained; changed through `vtysh`.
//!
//! FRR forgets what it was told when a daemon restarts, and a reload of
//! its configuration (`frr-reload.py`, `vtysh -b`) puts back the file's
//! entries, which say withdrawn: so the announcer also reads the
//! route-map back from each daemon (`says`) and tells it again when it
//! disagrees.

use std::path::{Path, PathBuf};

use super::{
    control::{RoutingDaemonError, run},
    state::State,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrControl {
    /// The route-map anycastd rewrites.
    pub route_map: String,
    /// Its set lines while drained, e.g. `set metric 1000`.
    pub drain: Vec<String>,
    /// vtysh's `--vty_socket` (the daemons' socket directory), if not
    /// the default.
    pub vty_socket: Option<PathBuf>,
}

/// Which run of FRR's daemons is under way: their vty sockets' inodes,
/// new whenever one restarts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Instance(pub(super) Vec<(std::ffi::OsString, u64)>);

/// Where Debian's FRR puts its daemons' vty sockets.
const DEFAULT_VTY_DIR: &str = "/var/run/frr";

impl FrrControl {
    pub async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        let mut vtysh = self.vtysh();
        for line in self.commands(state) {
            vtysh.arg("-c").arg(line);
        }
        run("vtysh", &mut vtysh).await.map(drop)
    }

    /// Whether every daemon's copy of the route-map says `state`.
    pub async fn says(&self, state: State) -> Result<bool, RoutingDaemonError> {
        let mut vtysh = self.vtysh();
        vtysh.arg("-c").arg(format!("show route-map {}", self.route_map));
        let text = run("vtysh", &mut vtysh).await?;
        Ok(self.listing_says(&text, state))
    }

    pub fn instance(&self) -> Instance {
        let dir = self.vty_socket.as_deref().unwrap_or(Path::new(DEFAULT_VTY_DIR));
        let mut sockets: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "vty"))
            .filter_map(|entry| Some((entry.file_name(), std::os::unix::fs::MetadataExt::ino(&entry.metadata().ok()?))))
            .collect();
        sockets.sort();
        Instance(sockets)
    }

    fn vtysh(&self) -> tokio::process::Command {
        let mut vtysh = tokio::process::Command::new("vtysh");
        if let Some(socket) = &self.vty_socket {
            vtysh.arg("--vty_socket").arg(socket);
        }
        vtysh
    }

    /// The vtysh commands that make the route-map say `state`. Entries
    /// are changed in place, never deleted and made again, and the deny
    /// entry is added or removed last, so midway the route-map says the
    /// old state or the new.
    fn commands(&self, state: State) -> Vec<String> {
        let map = &self.route_map;
        let mut lines = vec!["configure terminal".to_string()];
        if state == State::Withdrawn {
            lines.push(format!("route-map {map} deny 5"));
            return lines;
        }
        lines.push(format!("route-map {map} permit 10"));
        for set in &self.drain {
            lines.push(if state == State::Drained { set.clone() } else { format!("no {set}") });
        }
        lines.push("exit".to_string());
        lines.push(format!("no route-map {map} deny 5"));
        lines
    }

    /// Whether `show route-map` output says `state`: every daemon has
    /// the route-map, with `deny 5` exactly while withdrawn; otherwise a
    /// `permit 10`, whose set clauses are the drain's in some daemon
    /// while drained and in none while announced (a daemon keeps only
    /// the set clauses it knows: zebra drops `set metric`).
    fn listing_says(&self, text: &str, state: State) -> bool {
        let daemons = listing_by_daemon(text, &self.route_map);
        if daemons.is_empty()
            || daemons.iter().any(|d| d.as_ref().is_none_or(|d| d.deny5 != (state == State::Withdrawn)))
        {
            return false;
        }
        let daemons: Vec<&RouteMapView> = daemons.iter().flatten().collect();
        let drain: Vec<String> =
            self.drain.iter().map(|line| words(line.strip_prefix("set ").unwrap_or(line))).collect();
        let drained =
            |d: &&RouteMapView| d.permit10.as_ref().is_some_and(|sets| drain.iter().all(|s| sets.contains(s)));
        let partly = |d: &&RouteMapView| d.permit10.as_ref().is_some_and(|sets| drain.iter().any(|s| sets.contains(s)));
        match state {
            State::Withdrawn => true,
            State::Drained => daemons.iter().all(|d| d.permit10.is_some()) && daemons.iter().any(drained),
            State::Announced => daemons.iter().all(|d| d.permit10.is_some()) && !daemons.iter().any(partly),
        }
    }
}

/// One daemon's copy of the route-map, as `show route-map` lists it.
#[derive(Debug, Default, PartialEq)]
struct RouteMapView {
    deny5: bool,
    /// Entry `permit 10`'s set clauses, without `set`, if it is there.
    permit10: Option<Vec<String>>,
}

/// `show route-map MAP` output, one section per daemon (`ZEBRA:`,
/// `BGP:`, `OSPF:`...): each daemon's copy, None where it has none.
fn listing_by_daemon(text: &str, map: &str) -> Vec<Option<RouteMapView>> {
    let header = format!("route-map: {map} ");
    let mut daemons: Vec<Option<RouteMapView>> = Vec::new();
    let mut entry = "";
    let mut in_sets = false;
    for line in text.lines() {
        if line.len() > 1 && line.ends_with(':') && line[..line.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric()) {
            daemons.push(None);
            (entry, in_sets) = ("", false);
        } else if let Some(daemon) = daemons.last_mut() {
            if line.starts_with(&header) || line == header.trim_end() {
                *daemon = Some(RouteMapView::default());
            }
            let Some(view) = daemon else { continue };
            let trimmed = line.trim();
            if let Some(rest) = line.strip_prefix(' ').filter(|rest| !rest.starts_with(' ')) {
                entry = rest.split(" Invoked").next().unwrap_or(rest);
                in_sets = false;
                view.deny5 |= entry == "deny, sequence 5";
                if entry == "permit, sequence 10" {
                    view.permit10 = Some(Vec::new());
                }
            } else if line.starts_with("  ") && !line.starts_with("   ") {
                in_sets = trimmed == "Set clauses:";
            } else if in_sets && entry == "permit, sequence 10" {
                view.permit10.get_or_insert_default().push(words(trimmed));
            }
        }
    }
    daemons
}

/// `text`'s words, one space apart.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frr(drain: &[&str]) -> FrrControl {
        FrrControl {
            route_map: "ANYCAST-STATE".into(),
            drain: drain.iter().map(|s| s.to_string()).collect(),
            vty_socket: None,
        }
    }

    #[test]
    fn commands_for_each_state() {
        let frr = frr(&["set metric 1000", "set tag 7"]);
        let cases: &[(State, &[&str])] = &[
            (State::Withdrawn, &["configure terminal", "route-map ANYCAST-STATE deny 5"]),
            (
                State::Drained,
                &[
                    "configure terminal",
                    "route-map ANYCAST-STATE permit 10",
                    "set metric 1000",
                    "set tag 7",
                    "exit",
                    "no route-map ANYCAST-STATE deny 5",
                ],
            ),
            (
                State::Announced,
                &[
                    "configure terminal",
                    "route-map ANYCAST-STATE permit 10",
                    "no set metric 1000",
                    "no set tag 7",
                    "exit",
                    "no route-map ANYCAST-STATE deny 5",
                ],
            ),
        ];
        for (state, want) in cases {
            assert_eq!(frr.commands(*state), *want, "vtysh commands for {state:?}");
        }
    }

    /// One daemon's section of FRR 8.4's `show route-map ANYCAST-STATE`.
    fn section(daemon: &str, deny5: bool, sets: Option<&[&str]>) -> String {
        let entry = |what: &str, sets: &[&str]| {
            let sets: String = sets.iter().map(|s| format!("    {s}\n")).collect();
            format!(
                " {what} Invoked 0\n  Match clauses:\n  Set clauses:\n{sets}  Call clause:\n  Action:\n    Exit routemap\n"
            )
        };
        let mut text = format!("{daemon}:\n");
        if !deny5 && sets.is_none() {
            return text + &format!("{daemon}: 'route-map ANYCAST-STATE' not found\n");
        }
        text += "route-map: ANYCAST-STATE Invoked: 0 Optimization: enabled Processed Change: false\n";
        if deny5 {
            text += &entry("deny, sequence 5", &[]);
        }
        if let Some(sets) = sets {
            text += &entry("permit, sequence 10", sets);
        }
        text
    }

    #[test]
    fn listings_are_read_back_per_daemon() {
        let frr = frr(&["set metric 1000", "set as-path  prepend 65001"]);
        let drained: &[&str] = &["metric 1000", "as-path prepend 65001"];
        let none: &[&str] = &[];
        let zebra_withdrawn = section("ZEBRA", true, Some(none));
        let zebra_open = section("ZEBRA", false, Some(none));
        let cases = [
            // What the boot configuration says: withdrawn.
            (zebra_withdrawn.clone() + &section("BGP", true, Some(none)), [true, false, false]),
            (zebra_open.clone() + &section("BGP", false, Some(none)), [false, false, true]),
            // zebra keeps no metric; bgpd has the drain.
            (zebra_open.clone() + &section("OSPF", false, Some(drained)), [false, true, false]),
            // Half the drain is not drained, nor announced.
            (zebra_open.clone() + &section("BGP", false, Some(&drained[..1])), [false, false, false]),
            // bgpd restarted empty: it has no route-map at all.
            (zebra_open.clone() + &section("BGP", false, None), [false, false, false]),
            // One daemon still withdrawn.
            (zebra_withdrawn + &section("BGP", false, Some(none)), [false, false, false]),
            // The deny entry without the permit entry.
            (section("BGP", true, None), [true, false, false]),
            (String::new(), [false, false, false]),
            ("Exiting: failed to connect to any daemons.\n".to_string(), [false, false, false]),
        ];
        for (text, says) in cases {
            for (state, want) in [State::Withdrawn, State::Drained, State::Announced].into_iter().zip(says) {
                assert_eq!(frr.listing_says(&text, state), want, "says {state:?}:\n{text}");
            }
        }
    }

    #[test]
    fn a_restarted_frr_is_a_new_instance() {
        let dir = std::env::temp_dir().join(format!("anycastd-frr-instance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frr = FrrControl { vty_socket: Some(dir.clone()), ..frr(&[]) };
        let make = |name: &str| {
            let _ = std::fs::remove_file(dir.join(name));
            std::fs::write(dir.join(name), "").unwrap();
        };
        make("zebra.vty");
        make("ospfd.vty");
        make("zserv.api");
        let first = frr.instance();
        assert_eq!(first.0.len(), 2, "the vty sockets only: {first:?}");
        assert_eq!(frr.instance(), first, "nothing restarted");
        make("zserv.api");
        assert_eq!(frr.instance(), first, "zebra's API socket is not a vty");
        // A new file takes a new inode while the old one is still held.
        let held = std::fs::File::open(dir.join("ospfd.vty")).unwrap();
        make("ospfd.vty");
        assert_ne!(frr.instance(), first, "ospfd restarted");
        drop(held);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `cargo xtask`: the project's build, test and benchmark entry points.
//! Every subcommand first makes sure the toolchain is there (see `setup`).

mod cmd;
mod fuzz;
mod layers;
mod package;
mod setup;
mod soak;

use std::path::Path;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, test and benchmark the anycast DNS node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the build and the tests need: the nightly's rust-src,
    /// bpf-linker built against the nightly's LLVM, Debian packages.
    /// Idempotent; silent when everything is there.
    Setup,
    /// Build everything in release mode (the XDP programs included).
    Build,
    /// With no arguments: a lab of network namespaces (client, node with
    /// XDP, offline DNS hierarchy) with anycastd serving 6.6.6.6 and
    /// 2001:db8::6 in it, until Ctrl-C. With arguments: anycastd itself,
    /// with those arguments (e.g. `-- --interface eth0 --vip 192.0.2.53`).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The anycast lab: a client behind a router (BIRD 2 over BGP, or
    /// FRR over OSPF), and two nodes (three with OSPF) running anycastd
    /// (XDP on their uplinks) that announce 6.6.6.6 and 2001:db8::6 to
    /// it, until Ctrl-C.
    Lab {
        /// How the nodes announce: through their own BIRD over BGP, with
        /// anycastd's built-in BGP speaker, through their own FRR over
        /// BGP (`frr-bgp`) or over OSPF.
        #[arg(long, value_enum, default_value = "bird")]
        announce: LabAnnounce,
        /// The router: BIRD, or FRR (the only one for `frr-bgp` and
        /// `ospf`, and their default).
        #[arg(long, value_enum)]
        router: Option<LabRouter>,
    },
    /// Run every test: unit tests, and as root the XDP packet tests.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks (not tests). With no arguments, `compare`: anycastd with
    /// and without XDP, Unbound, Knot Resolver, PowerDNS Recursor and the
    /// XDP echo through the same workloads, and the micro-benchmark, as a
    /// table, JSON and PNG. `micro` times the XDP program per packet,
    /// `sweep` sends it a million mutated frames. Arguments after the
    /// scenario go to it (`cargo xtask bench compare --workload hot`).
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// anycastd as a Debian package, target/debian/anycastd_VERSION_amd64.deb
    /// (the binary, the systemd unit, the configuration as a conffile, man
    /// pages, completions), checked by lintian and systemd-analyze.
    Package,
    /// rustfmt and clippy over the host workspace and the eBPF crate, and
    /// no cycle between anycast-user's modules.
    Lint,
    /// anycast-user's module graph: each module and those it imports,
    /// leaves first.
    Layers,
    /// The lab under a high mixed load (hits, new names, random-name
    /// floods, garbage, stalled TCP), reported minute by minute.
    Soak {
        #[arg(long, default_value_t = 10)]
        minutes: u32,
    },
    /// The userspace parsers under cargo-fuzz, each for a set time (all
    /// targets unless named).
    Fuzz {
        targets: Vec<String>,
        #[arg(long, default_value_t = 10)]
        minutes: u64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LabAnnounce {
    Bird,
    Bgp,
    FrrBgp,
    Ospf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LabRouter {
    Bird,
    Frr,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::ensure(),
        Command::Build => {
            setup::ensure()?;
            cmd::cargo(&["build", "--release", "--workspace"])
        }
        Command::Run { args } => {
            setup::ensure()?;
            let objects = cmd::build_lab_binaries()?;
            let anycastd = cmd::root().join("target/release/anycastd");
            if args.is_empty() { run_lab(&anycastd, &objects.join("pass")) } else { cmd::exec(&anycastd, &args) }
        }
        Command::Lab { announce, router } => {
            use anycast_lab::anycast::{Announce, RouterDaemon};
            setup::ensure()?;
            let objects = cmd::build_lab_binaries()?;
            let announce = match announce {
                LabAnnounce::Bird => Announce::Bird,
                LabAnnounce::Bgp => Announce::Bgp,
                LabAnnounce::FrrBgp => Announce::FrrBgp,
                LabAnnounce::Ospf => Announce::Ospf,
            };
            let router = match router {
                Some(LabRouter::Bird) => RouterDaemon::Bird,
                Some(LabRouter::Frr) => RouterDaemon::Frr,
                None => announce.default_router(),
            };
            run_anycast_lab(announce, router, &cmd::root().join("target/release/anycastd"), &objects.join("pass"))
        }
        Command::Test { args } => {
            setup::ensure()?;
            cmd::require_root("the XDP packet tests load programs into the kernel")?;
            // The lab tests run the daemon binary.
            cmd::cargo(&["build", "--package", "anycast-user", "--bin", "anycastd"])?;
            // The package test installs what a package build made.
            let deb = package::build()?;
            let mut cargo_args = vec!["--workspace"];
            cargo_args.extend(args.iter().map(String::as_str));
            cmd::cargo_test(&cargo_args, &[("ANYCASTD_DEB", deb.as_os_str())])
        }
        Command::Bench { args } => {
            setup::ensure()?;
            cmd::require_root("the benchmark loads XDP programs into the kernel")?;
            let (scenario, rest) = match args.split_first() {
                Some((first, rest)) if !first.starts_with('-') => (first.clone(), rest.to_vec()),
                _ => ("compare".to_string(), args.clone()),
            };
            let mut bench_args = vec![scenario.clone()];
            if scenario == "compare" {
                let objects = cmd::build_lab_binaries()?;
                let anycastd = cmd::root().join("target/release/anycastd");
                bench_args.extend(["--anycastd".into(), anycastd.display().to_string()]);
                bench_args.extend(["--objects".into(), objects.display().to_string()]);
                // The workspace's target/bench, unless the run names its own.
                if !rest.iter().any(|a| a == "--out" || a.starts_with("--out=")) {
                    bench_args.extend(["--out".into(), cmd::root().join("target/bench").display().to_string()]);
                }
            }
            bench_args.extend(rest);
            let mut cargo_args = vec!["run", "--release", "--quiet", "--package", "anycast-bench", "--"];
            cargo_args.extend(bench_args.iter().map(String::as_str));
            cmd::cargo(&cargo_args)
        }
        Command::Soak { minutes } => {
            setup::ensure()?;
            cmd::require_root("the soak runs the lab, which creates network namespaces")?;
            let objects = cmd::build_lab_binaries()?;
            let stopped = interrupted()?;
            soak::run(&cmd::root().join("target/release/anycastd"), &objects.join("pass"), minutes, &stopped)
        }
        Command::Fuzz { targets, minutes } => {
            setup::ensure()?;
            let targets =
                if targets.is_empty() { fuzz::TARGETS.iter().map(|t| t.to_string()).collect() } else { targets };
            fuzz::run(&targets, minutes)
        }
        Command::Layers => {
            println!("{}", layers::render(&layers::graph(&daemon_src())?));
            layers::check(&daemon_src())
        }
        Command::Package => {
            setup::ensure()?;
            package::build().map(drop)
        }
        Command::Lint => {
            setup::ensure()?;
            layers::check(&daemon_src())?;
            cmd::cargo(&["fmt", "--all", "--check"])?;
            cmd::cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
            cmd::nightly_cargo_in("anycast-ebpf", &["fmt", "--check"])?;
            cmd::nightly_cargo_in(
                "anycast-ebpf",
                &[
                    "clippy",
                    "--release",
                    "--target",
                    "bpfel-unknown-none",
                    "-Z",
                    "build-std=core",
                    "--",
                    "-D",
                    "warnings",
                ],
            )?;
            // The fuzz targets build only under cargo-fuzz; this keeps them
            // compiling and formatted.
            cmd::nightly_cargo_in("fuzz", &["fmt", "--check"])?;
            cmd::nightly_cargo_in("fuzz", &["clippy", "--locked", "--bins", "--", "-D", "warnings"])
        }
    }
}

/// anycast-user's sources, whose modules must not import in a circle.
fn daemon_src() -> std::path::PathBuf {
    cmd::root().join("anycast-user/src")
}

/// The self-contained lab with anycastd in it, until Ctrl-C (or SIGTERM or
/// SIGHUP: a closed terminal or a supervisor tears it down too).
fn run_lab(anycastd: &Path, pass_program: &Path) -> Result<()> {
    cmd::require_root("the lab creates network namespaces")?;
    let stopped = interrupted()?;
    let mut lab = anycast_lab::topology::Lab::start(pass_program)?;
    let tls = lab.tls_args()?;
    lab.start_anycastd(anycastd, &tls.iter().map(String::as_str).collect::<Vec<_>>())?;
    let client = lab.client.name().to_string();
    let ca = lab.tls_files()?.ca;
    let name = anycast_lab::tls::NODE_NAME;
    println!(
        "anycastd is serving 6.6.6.6 and 2001:db8::6 in the lab ({dir}).\n\
         Ask it from the client namespace:\n\
         \n  ip netns exec {client} dig @6.6.6.6 www.example.lab\n\
         \n  ip netns exec {client} dig @2001:db8::6 chain.example.lab AAAA\n\
         \n  ip netns exec {client} dig @6.6.6.6 big.example.lab TXT +tcp\n\
         \nover TLS (853) and HTTPS (443), verified against the lab's CA:\n\
         \n  ip netns exec {client} kdig @6.6.6.6 +tls-ca={ca} +tls-hostname={name} www.example.lab\n\
         \n  ip netns exec {client} kdig @6.6.6.6 +https +tls-ca={ca} +tls-hostname={name} www.example.lab\n\
         \nThe second query for a name over UDP puts its answer in the fast path's map; the third and later are \
         answered by the XDP program on {iface}. \
         anycastd's log: {dir}/anycastd.log. Ctrl-C tears the lab down.",
        dir = lab.dir.display(),
        ca = ca.display(),
        iface = lab.node_if,
    );
    let _ = stopped.recv();
    println!("\ntearing the lab down");
    drop(lab);
    Ok(())
}

/// The anycast lab (router, two or three nodes), until Ctrl-C.
fn run_anycast_lab(
    announce: anycast_lab::anycast::Announce,
    router: anycast_lab::anycast::RouterDaemon,
    anycastd: &Path,
    pass_program: &Path,
) -> Result<()> {
    use anycast_lab::anycast::{Announce, RouterDaemon};
    cmd::require_root("the lab creates network namespaces")?;
    let stopped = interrupted()?;
    println!("starting the anycast lab (BGP sessions and OSPF adjacencies take a few seconds)");
    let lab = anycast_lab::anycast::AnycastLab::start(announce, router, anycastd, pass_program)?;
    let (client, router_ns) = (lab.client.name(), lab.router.name());
    let node1 = lab.node(1);
    let routes = match (router, announce) {
        (RouterDaemon::Frr, Announce::Ospf) => format!(
            "vtysh --vty_socket {}/router -c 'show ip ospf route' -c 'show ipv6 ospf6 route'",
            lab.dir.display()
        ),
        (RouterDaemon::Frr, _) => format!(
            "vtysh --vty_socket {}/router -c 'show bgp ipv4 unicast' -c 'show bgp ipv6 unicast'",
            lab.dir.display()
        ),
        (RouterDaemon::Bird, _) => format!("birdc -s {}/router/bird.ctl show route all", lab.dir.display()),
    };
    let logs: Vec<String> =
        (1..=announce.nodes()).map(|k| format!("{}/anycastd.log", lab.node(k).dir.display())).collect();
    println!(
        "{nodes} nodes announce 6.6.6.6 and 2001:db8::6 ({announce:?}, a {router:?} router); the router sends the client to one.\n\
         \n  ip netns exec {client} dig @6.6.6.6 www.example.lab\n\
         \n  ip netns exec {router_ns} ip route show 6.6.6.6          (which node carries it)\
         \n  ip netns exec {router_ns} {routes}\n\
         \nDrain node 1 for maintenance, and back:\n\
         \n  touch {m1}; rm {m1}\n\
         \nnode 1's stats: {bin} ctl --socket {c1} stats\n\
         Logs: {logs}. Ctrl-C tears the lab down.",
        nodes = announce.nodes(),
        m1 = node1.maintenance_file().display(),
        bin = anycastd.display(),
        c1 = node1.control_socket().display(),
        logs = logs.join(", "),
    );
    let _ = stopped.recv();
    println!("\ntearing the lab down");
    drop(lab);
    Ok(())
}

/// A channel that receives once on Ctrl-C, SIGTERM or SIGHUP (a closed
/// terminal or a supervisor tears a lab down too).
fn interrupted() -> Result<std::sync::mpsc::Receiver<()>> {
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })?;
    Ok(stopped)
}

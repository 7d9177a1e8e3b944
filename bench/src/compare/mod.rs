//! The comparison: every server through the same workloads, in one lab,
//! one at a time. The server runs on CPU1 (its process and its link's
//! NAPI thread, where XDP and the kernel's receive path run); the client
//! (dnsperf or the frame generator), the client link's NAPI thread and the
//! DNS hierarchy on CPU0. Each figure is the median of `runs` runs with
//! min and max; a run with steal time is repeated.

pub mod cpu;
pub mod dnsperf;
pub mod generator;
pub mod h2load;
pub mod report;
pub mod servers;
pub mod workload;

use std::{path::PathBuf, time::Duration};

use anycast_lab::topology::{CLIENT4, Lab, VIP4};
use anycast_tests::{
    frame::{CLIENT_MAC, FrameSpec, NODE_MAC},
    zone::{EDNS, EDNS_DO, query, wire, with_options},
};
use anyhow::{Context, Result, bail};
use hickory_proto::rr::RecordType;

use cpu::{CLIENT_CPU, SERVER_CPU};
use dnsperf::Pace;
use report::{Figures, Row};
use servers::{Binaries, Running, Server};
use workload::{Mode, Names, Workload};

#[derive(clap::Args)]
pub struct Options {
    /// Servers to compare (all unless given).
    #[arg(long = "server", value_enum)]
    servers: Vec<Server>,
    /// Workloads to run (all unless given).
    #[arg(long = "workload", value_enum)]
    workloads: Vec<Workload>,
    /// Runs per figure (the median is reported, with min and max).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds of each measured run.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// anycastd, built in release mode.
    #[arg(long)]
    anycastd: PathBuf,
    /// anycast-user's build output (the XDP objects).
    #[arg(long)]
    objects: PathBuf,
    /// The frame generator's source for the flood (the best the kernel
    /// allows unless given).
    #[arg(long, value_enum)]
    generator: Option<generator::Source>,
    /// Where the JSON and the PNG go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// A core this busy during a run was its limit. Not 100%: the frame
/// generator pauses for an RCU grace period between calls, and a server
/// polled by the NAPI thread idles between wakeups.
const SATURATED: f64 = 0.85;
/// A run is repeated if more than this share of a core's time was stolen.
const MAX_STEAL: f64 = 0.05;
/// Extra attempts at an undisturbed run.
const RETRIES: usize = 2;
/// Frames the generator cycles through for the Zipf mix.
const ZIPF_FRAMES: usize = 65_536;
/// Names asked once in a cold run at full speed.
const COLD_NAMES: usize = 50_000;

impl Options {
    pub fn out(&self) -> &std::path::Path {
        &self.out
    }
}

/// A row that could not be measured, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Unmeasured {
    pub server: Server,
    pub workload: Workload,
    pub why: String,
}

/// What a comparison measured, and what it could not.
pub struct Results {
    pub rows: Vec<Row>,
    pub unmeasured: Vec<Unmeasured>,
}

pub fn run(options: &Options) -> Result<Results> {
    if options.runs < 3 {
        bail!("--runs must be at least 3 (each figure is a median with min and max)");
    }
    let servers = if options.servers.is_empty() { Server::ALL.to_vec() } else { options.servers.clone() };
    let workloads = if options.workloads.is_empty() { Workload::ALL.to_vec() } else { options.workloads.clone() };
    let binaries = Binaries { anycastd: options.anycastd.clone(), objects: options.objects.clone() };
    let mut bench = Bench::start(&binaries, options)?;
    let mut results = Results { rows: Vec::new(), unmeasured: Vec::new() };
    for &workload in &workloads {
        for &server in servers.iter().filter(|s| s.measures(workload)) {
            eprintln!("bench: {} / {}", server.name(), workload.name());
            // One row that fails says why in the report; the others run.
            match bench.measure(server, workload) {
                Ok(row) => {
                    eprintln!("  {}", row.summary());
                    results.rows.push(row);
                }
                Err(e) => {
                    eprintln!("  not measured: {e:#}");
                    results.unmeasured.push(Unmeasured { server, workload, why: format!("{e:#}") });
                }
            }
        }
    }
    Ok(results)
}

struct Bench<'a> {
    lab: Lab,
    binaries: &'a Binaries,
    names: Names,
    runs: usize,
    seconds: u32,
    source: Option<generator::Source>,
    /// Seeds already used: every run gets a new one.
    seed: u64,
}

impl<'a> Bench<'a> {
    fn start(binaries: &'a Binaries, options: &Options) -> Result<Bench<'a>> {
        let mut lab = Lab::start(&binaries.objects.join("pass"))?;
        lab.serve_bench_zones()?;
        for pid in lab.authority_pids() {
            cpu::pin(pid, CLIENT_CPU)?;
        }
        // The generator's frames carry these MAC addresses.
        lab.node.ip(&["link", "set", "dev", &lab.node_if, "address", &mac(NODE_MAC)])?;
        lab.client.ip(&["link", "set", "dev", &lab.client_if, "address", &mac(CLIENT_MAC)])?;
        pin_client_napi(&lab)?;
        let (runs, seconds, source) = (options.runs, options.seconds, options.generator);
        Ok(Bench { lab, binaries, names: Names::new(), runs, seconds, source, seed: 1 })
    }

    fn measure(&mut self, server: Server, workload: Workload) -> Result<Row> {
        let mut figures = Vec::new();
        let mut repeated = 0;
        let mut running = None;
        if !workload.restarts() {
            let started = servers::start(&mut self.lab, server, self.binaries)?;
            self.warm_up(workload)?;
            running = Some(started);
        }
        while figures.len() < self.runs {
            let result = self.one_run(server, workload, running.as_ref());
            let figure = match result {
                Ok(figure) => figure,
                Err(e) => {
                    if let Some(r) = running.take() {
                        let _ = servers::stop(&mut self.lab, r);
                    }
                    return Err(e);
                }
            };
            if figure.steal > MAX_STEAL && repeated < RETRIES {
                eprintln!("  run disturbed ({:.0}% steal): repeated", figure.steal * 100.0);
                repeated += 1;
                continue;
            }
            figures.push(figure);
        }
        if let Some(r) = running {
            servers::stop(&mut self.lab, r)?;
        }
        Ok(Row::new(server, workload, &figures, repeated))
    }

    fn next_seed(&mut self) -> u64 {
        self.seed += 1;
        self.seed
    }

    /// Fills the caches: the hot set twice over (the second pass is what
    /// the fast path answers), the Zipf mix for ten seconds.
    fn warm_up(&mut self, workload: Workload) -> Result<()> {
        let (names, pace) = match workload {
            w if w.is_hot() => {
                (self.names.draw(workload, 2 * workload::HOT_NAMES as usize, 0), Pace::Once { limit_seconds: 30 })
            }
            Workload::Cold => return Ok(()),
            _ => (self.names.draw(workload, 200_000, 0), Pace::Once { limit_seconds: 30 }),
        };
        let input = self.write_input("warm-up", &names)?;
        dnsperf::run(&self.lab.client, VIP4, &input, pace, workload.clients(), workload.mode())?;
        Ok(())
    }

    fn write_input(&self, what: &str, names: &[String]) -> Result<PathBuf> {
        let path = self.lab.dir.join(format!("bench-{what}.txt"));
        std::fs::write(&path, workload::dnsperf_input(names))?;
        Ok(path)
    }

    /// One measured run: the highest rate dnsperf gets, the CPU per query
    /// and the latency at the fixed load, and the rate the frame generator
    /// gets (not for cold recursion: it cycles through prebuilt frames, so
    /// its names would not stay new).
    fn one_run(&mut self, server: Server, workload: Workload, warm: Option<&Running>) -> Result<Figures> {
        let seconds = self.seconds;
        let mut figures = Figures::default();
        // Highest rate.
        let fresh = if warm.is_none() { Some(servers::start(&mut self.lab, server, self.binaries)?) } else { None };
        let (names, pace) = match workload {
            w if w.is_hot() => (self.names.draw(workload, workload::HOT_NAMES as usize, 0), Pace::Max { seconds }),
            Workload::Cold => {
                let seed = self.next_seed();
                (self.names.draw(workload, COLD_NAMES, seed), Pace::Once { limit_seconds: 6 * seconds })
            }
            _ => {
                let seed = self.next_seed();
                (self.names.draw(workload, 1_000_000, seed), Pace::Max { seconds })
            }
        };
        let input = self.write_input("max", &names)?;
        let sample = Sample::take();
        let max = dnsperf::run(&self.lab.client, VIP4, &input, pace, workload.clients(), workload.mode())?;
        let load = sample.since();
        figures.dnsperf_qps = max.qps;
        figures.dnsperf_lost = max.lost as f64 / (max.completed + max.lost).max(1) as f64;
        figures.dnsperf_bottleneck = load.bottleneck();
        figures.steal = load.steal;
        if let Some(r) = fresh {
            servers::stop(&mut self.lab, r)?;
        }

        // CPU per query and latency at the same offered load for all.
        let fresh = if warm.is_none() { Some(servers::start(&mut self.lab, server, self.binaries)?) } else { None };
        let running = warm.or(fresh.as_ref()).expect("a running server");
        let rate = workload.fixed_rate();
        let seed = self.next_seed();
        let names = match workload {
            w if w.is_hot() => self.names.draw(workload, workload::HOT_NAMES as usize, 0),
            _ => self.names.draw(workload, (rate * seconds) as usize, seed),
        };
        let input = self.write_input("fixed", &names)?;
        let xdp_before = self.xdp_answers(server);
        let server_ns = cpu::run_ns(&running.pids);
        let sample = Sample::take();
        let fixed = Pace::Fixed { rate, seconds };
        let fixed = dnsperf::run(&self.lab.client, VIP4, &input, fixed, workload.clients(), workload.mode())?;
        let load = sample.since();
        let server_ns = cpu::run_ns(&running.pids).saturating_sub(server_ns);
        let answered = fixed.completed.max(1) as f64;
        figures.server_us_per_query = server_ns as f64 / 1000.0 / answered;
        figures.total_us_per_query = (load.client_busy + load.server_busy) * 1e6 / answered;
        figures.fixed_answered = fixed.completed as f64 / (fixed.completed + fixed.lost).max(1) as f64;
        figures.p50_ms = dnsperf::quantile_ms(&fixed.latencies, 0.5);
        figures.p99_ms = dnsperf::quantile_ms(&fixed.latencies, 0.99);
        figures.at_xdp =
            self.xdp_answers(server).zip(xdp_before).map(|(after, before)| (after - before) as f64 / answered);
        figures.steal = figures.steal.max(load.steal);

        if workload.mode() != Mode::Udp {
            let handshakes = Pace::Handshakes { seconds };
            let run = dnsperf::run(&self.lab.client, VIP4, &input, handshakes, workload.clients(), workload.mode())?;
            figures.handshakes_qps = Some(run.qps);
        }
        if workload.mode() == Mode::Doh {
            let queries: Vec<Vec<u8>> = names.iter().map(|n| client_query(workload::Client::Plain, 0, n)).collect();
            let uris = self.lab.dir.join("bench-doh-uris.txt");
            h2load::write_uris(&uris, &queries)?;
            figures.h2load_qps = Some(h2load::run(&self.lab.client, &uris, seconds)?);
        }
        // The frame generator (UDP).
        if workload != Workload::Cold && workload.mode() == Mode::Udp {
            let seed = self.next_seed();
            let names = match workload {
                w if w.is_hot() => self.names.draw(workload, workload::HOT_NAMES as usize, 0),
                _ => self.names.draw(workload, ZIPF_FRAMES, seed),
            };
            let frames: Vec<Vec<u8>> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let payload = client_query(workload.client(i), i as u16, name);
                    FrameSpec::dns(CLIENT4.parse().expect("an address"), VIP4.parse().expect("an address"), payload)
                        .build()
                })
                .collect();
            let duration = Duration::from_secs(u64::from(seconds));
            // A generator that cannot run leaves its figures out, says why,
            // and the rest of the row stands.
            match self.generate(&frames, duration, rate, &running.pids) {
                Ok(generated) => generated.fill(&mut figures),
                Err(e) => figures.generator_error = Some(format!("{e:#}")),
            }
        }
        if let Some(r) = fresh {
            servers::stop(&mut self.lab, r)?;
        }
        Ok(figures)
    }

    /// The fast path's answers so far (anycastd with XDP only).
    fn xdp_answers(&self, server: Server) -> Option<u64> {
        matches!(server, Server::AnycastdXdp | Server::AnycastdXdpDnstap)
            .then(|| self.lab.stat("anycast_xdp_packets_total{outcome=\"answered\"}").ok())
            .flatten()
    }

    /// The frame generator from a thread in the client namespace on the
    /// client core (the sink replaces the pass program meanwhile): as fast
    /// as it goes, then at `rate` in bursts, with the run time of `pids`
    /// during the latter.
    fn generate(&self, frames: &[Vec<u8>], duration: Duration, rate: u32, pids: &[u32]) -> Result<Generated> {
        let client = &self.lab.client;
        let interface = self.lab.client_if.clone();
        let objects = self.binaries.objects.clone();
        client.ip(&["link", "set", "dev", &interface, "xdpdrv", "off"])?;
        let generated = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<Generated> {
                    client.enter()?;
                    pin_this_thread(CLIENT_CPU)?;
                    let mut generator = generator::Generator::new(&interface, frames, self.source)?;
                    generator.attach_sink()?;
                    servers::set_threaded(client, &interface)?;
                    if let Some(napi) = cpu::napi_thread(&interface) {
                        cpu::pin(napi, CLIENT_CPU)?;
                    }
                    let sample = Sample::take();
                    let max = generator.send(duration, None);
                    let load = sample.since();
                    let before = cpu::run_ns(pids);
                    let paced = max.is_ok().then(|| generator.send(duration, Some(rate))).transpose();
                    let paced_server_ns = cpu::run_ns(pids).saturating_sub(before);
                    generator.detach_sink()?;
                    let probe = generator.probe().cloned().unwrap_or_default();
                    Ok(Generated {
                        max: max?,
                        load,
                        paced: paced?.expect("run after the maximum"),
                        paced_server_ns,
                        probe,
                    })
                })
                .join()
                .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?
        });
        anycast_lab::netns::accept_xdp_tx(client, &interface, &objects.join("pass"))?;
        pin_client_napi(&self.lab)?;
        generated
    }
}

/// The query `client` sends for `name` A.
fn client_query(client: workload::Client, id: u16, name: &str) -> Vec<u8> {
    let edns = match (client, client.dnssec_ok()) {
        (workload::Client::Plain, _) => None,
        (_, true) => EDNS_DO,
        (_, false) => EDNS,
    };
    let plain = wire(&query(id, name, RecordType::A, edns));
    match client.option() {
        Some(option) => with_options(plain, &[option]),
        None => plain,
    }
}

/// What the frame generator measured.
struct Generated {
    max: generator::Burst,
    load: Load,
    paced: generator::Burst,
    paced_server_ns: u64,
    probe: generator::Probe,
}

impl Generated {
    fn fill(&self, figures: &mut Figures) {
        let (max, paced) = (self.max, self.paced);
        figures.generator_qps = Some(max.answered as f64 / max.seconds);
        figures.generator_sent_qps = Some(max.sent as f64 / max.seconds);
        figures.generator_bottleneck = Some(self.load.bottleneck());
        figures.generator_source = Some(self.probe.to_string());
        figures.steal = figures.steal.max(self.load.steal);
        figures.batched_us_per_query = Some(self.paced_server_ns as f64 / 1000.0 / paced.answered.max(1) as f64);
        figures.batched_answered = Some(paced.answered as f64 / paced.sent.max(1) as f64);
        figures.batched_qps = Some(paced.sent as f64 / paced.seconds);
    }
}

/// The client link's NAPI thread (it runs the client's pass program or
/// the sink) on the client core.
fn pin_client_napi(lab: &Lab) -> Result<()> {
    servers::set_threaded(&lab.client, &lab.client_if)?;
    let napi = cpu::napi_thread(&lab.client_if).context("no NAPI thread on the client link")?;
    cpu::pin(napi, CLIENT_CPU)
}

fn pin_this_thread(cpu: u32) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t with one bit set, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!("pinning the generator to CPU{cpu}: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn mac(bytes: [u8; 6]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Both cores' time around a run.
struct Sample {
    client: cpu::CpuTimes,
    server: cpu::CpuTimes,
    start: std::time::Instant,
}

/// What the cores did during a run.
struct Load {
    client_busy: f64,
    server_busy: f64,
    seconds: f64,
    steal: f64,
}

impl Sample {
    fn take() -> Sample {
        Sample {
            client: cpu::cpu_times(CLIENT_CPU).unwrap_or_default(),
            server: cpu::cpu_times(SERVER_CPU).unwrap_or_default(),
            start: std::time::Instant::now(),
        }
    }

    fn since(&self) -> Load {
        let (client_busy, client_steal) =
            cpu::busy_seconds(self.client, cpu::cpu_times(CLIENT_CPU).unwrap_or_default());
        let (server_busy, server_steal) =
            cpu::busy_seconds(self.server, cpu::cpu_times(SERVER_CPU).unwrap_or_default());
        Load {
            client_busy,
            server_busy,
            seconds: self.start.elapsed().as_secs_f64(),
            steal: client_steal.max(server_steal),
        }
    }
}

impl Load {
    /// Which core was the limit: the one busy [`SATURATED`] of the time
    /// or more, or both, or neither.
    fn bottleneck(&self) -> String {
        let (client, server) = (self.client_busy / self.seconds, self.server_busy / self.seconds);
        let which = match (client >= SATURATED, server >= SATURATED) {
            (true, true) => "both",
            (false, true) => "server",
            (true, false) => "client",
            (false, false) => "neither",
        };
        format!("{which} (client {:.0}%, server {:.0}%)", client * 100.0, server * 100.0)
    }
}

//! The frame generator: prebuilt query frames sent out of the client's end
//! of the bench link, answers counted by the sink program on the same
//! interface. dnsperf tops out near 300k queries/s on one core here; this
//! goes well past it, so the XDP rows measure the server, not the client.
//!
//! The flood leaves by the best [`Source`] the kernel allows, probed when
//! it starts: BPF_PROG_RUN in live-frame mode (no skb at all), else an
//! AF_XDP socket (copy mode on a veth), else a packet socket's TX ring.
//! The paced bursts go out of a packet socket, a `sendmmsg` each.

use std::{
    fmt,
    time::{Duration, Instant},
};

mod packet_ring;
mod packet_socket;
mod xsk;

use anycast_common::bench::{FRAME_SLOT, SinkCounter};
use anycast_tests::bench_programs;
use anyhow::{Context, Result, bail};
use aya::{
    Ebpf,
    programs::{TestRun, TestRunAttrs, TestRunOptions, Xdp, XdpMode, xdp::XdpLinkId},
};

/// Frames per live-frame batch (the kernel's default is 64, its limit 256).
const BATCH: u32 = 256;
/// Runs of the first BPF_PROG_RUN call at full speed. Every live-frame
/// call ends in an RCU grace period (the kernel tears down its page pool),
/// milliseconds during which nothing is sent: calls grow until each takes
/// [`CALL_TIME`], so the grace periods cost a few percent of the run.
const FIRST_RUNS_PER_CALL: u32 = 1 << 16;
const CALL_TIME: Duration = Duration::from_millis(250);
/// Frames per burst at a fixed rate: a NIC's interrupt coalescing hands a
/// server its packets in batches too, so a wakeup is not paid per packet.
pub const PACED_BURST: u32 = 64;

/// How the frames are put on the link, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// BPF_PROG_RUN with `BPF_F_TEST_XDP_LIVE_FRAMES`: the generator
    /// program writes each frame and returns XDP_TX.
    LiveFrames,
    /// An AF_XDP socket's TX ring (copy mode: the kernel makes an skb of
    /// each frame).
    AfXdp,
    /// An AF_PACKET socket's TX ring (TPACKET_V2), qdisc bypassed.
    PacketRing,
}

impl Source {
    const ALL: [Source; 3] = [Source::LiveFrames, Source::AfXdp, Source::PacketRing];

    fn name(self) -> &'static str {
        match self {
            Source::LiveFrames => "BPF_PROG_RUN live frames",
            Source::AfXdp => "AF_XDP copy mode",
            Source::PacketRing => "AF_PACKET TX ring, qdisc bypassed",
        }
    }
}

/// The source a generator used, and why each one tried before it was not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    pub source: Option<Source>,
    /// AF_XDP's frames per wakeup.
    pub budget: Option<u32>,
    pub refused: Vec<String>,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source.map_or("none", Source::name))?;
        if let Some(budget) = self.budget {
            write!(f, ", {budget} frames a wakeup")?;
        }
        if !self.refused.is_empty() {
            write!(f, " (refused: {})", self.refused.join("; "))?;
        }
        Ok(())
    }
}

/// What sends the flood.
enum Sender {
    LiveFrames,
    AfXdp(Box<xsk::XskSender>),
    PacketRing(packet_ring::PacketRing),
}

pub struct Generator<'a> {
    generator: Ebpf,
    sink: Ebpf,
    sink_link: Option<XdpLinkId>,
    interface: String,
    /// The frames the sockets send (the generator program holds its own
    /// copy in a map).
    frames: &'a [Vec<u8>],
    /// The one source to use, if not the best there is.
    only: Option<Source>,
    probe: Option<Probe>,
}

/// What one generator run got.
#[derive(Clone, Copy, Debug, Default)]
pub struct Burst {
    pub sent: u64,
    pub answered: u64,
    pub seconds: f64,
}

impl<'a> Generator<'a> {
    /// Loads the programs and the frames. Must run in the client's network
    /// namespace.
    /// `only`: the source to flood from, if not the best the kernel allows.
    pub fn new(interface: &str, frames: &'a [Vec<u8>], only: Option<Source>) -> Result<Generator<'a>> {
        if frames.is_empty() {
            bail!("no frames to generate");
        }
        let generator = bench_programs::load_generator(frames).map_err(anyhow::Error::msg)?;
        let sink = bench_programs::load_sink().map_err(anyhow::Error::msg)?;
        let interface = interface.to_string();
        Ok(Generator { generator, sink, sink_link: None, interface, frames, only, probe: None })
    }

    /// The source the flood used (known once it ran).
    pub fn probe(&self) -> Option<&Probe> {
        self.probe.as_ref()
    }

    /// The best sender the kernel allows on the interface (`only` that one
    /// if given): one live frame is sent to see whether BPF_PROG_RUN takes
    /// live frames.
    fn open_sender(&mut self, ifindex: u32, only: Option<Source>) -> Result<Sender> {
        let mut probe = Probe::default();
        for source in Source::ALL.into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
            let opened = match source {
                Source::LiveFrames => self.live_frames(ifindex, 1).map(|()| Sender::LiveFrames),
                Source::AfXdp => xsk::XskSender::open(ifindex, self.frames).map(|x| Sender::AfXdp(Box::new(x))),
                Source::PacketRing => packet_ring::PacketRing::open(ifindex).map(Sender::PacketRing),
            };
            match opened {
                Ok(sender) => {
                    probe.source = Some(source);
                    if let Sender::AfXdp(xsk) = &sender {
                        probe.budget = Some(xsk.budget);
                    }
                    self.probe = Some(probe);
                    return Ok(sender);
                }
                Err(e) => probe.refused.push(format!("{}: {e:#}", source.name())),
            }
        }
        let refused = probe.refused.join("; ");
        self.probe = Some(probe);
        bail!("no way to send frames on {}: {refused}", self.interface)
    }

    /// Puts the sink on the interface (replacing the pass program there).
    pub fn attach_sink(&mut self) -> Result<()> {
        let program: &mut Xdp = self.sink.program_mut("sink").context("no sink program")?.try_into()?;
        self.sink_link = Some(program.attach(&self.interface, XdpMode::Driver).context("attaching the sink")?);
        Ok(())
    }

    pub fn detach_sink(&mut self) -> Result<()> {
        if let Some(link) = self.sink_link.take() {
            let program: &mut Xdp = self.sink.program_mut("sink").context("no sink program")?.try_into()?;
            program.detach(link)?;
        }
        Ok(())
    }

    /// Sends as fast as one CPU can for `duration`, or at `rate` frames a
    /// second in bursts of [`PACED_BURST`]; the answers are those the sink
    /// counted, the stragglers included (it waits 100 ms after).
    pub fn send(&mut self, duration: Duration, rate: Option<u32>) -> Result<Burst> {
        let ifindex = ifindex(&self.interface)?;
        // The probe's live frame, if any, is answered before the count.
        let sender = rate.is_none().then(|| self.open_sender(ifindex, self.only)).transpose()?;
        if sender.is_some() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let before = self.answered()?;
        let start = Instant::now();
        let sent = match (sender, rate) {
            (Some(sender), _) => self.flood(sender, ifindex, duration)?,
            (None, Some(rate)) => self.paced(ifindex, duration, rate)?,
            (None, None) => unreachable!("a flood opens its sender"),
        };
        let seconds = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(100));
        let answered = self.answered()? - before;
        if answered == 0 {
            bail!("{sent} frames generated on {}, no answer came back", self.interface);
        }
        Ok(Burst { sent, answered, seconds })
    }

    /// As fast as `sender` goes: the frames sent.
    fn flood(&self, sender: Sender, ifindex: u32, duration: Duration) -> Result<u64> {
        let start = Instant::now();
        let mut sent = 0u64;
        match sender {
            Sender::LiveFrames => {
                let mut runs = FIRST_RUNS_PER_CALL;
                while start.elapsed() < duration {
                    let call = Instant::now();
                    self.live_frames(ifindex, runs)?;
                    sent += u64::from(runs);
                    if call.elapsed() < CALL_TIME / 2 {
                        runs = runs.saturating_mul(2);
                    }
                }
            }
            Sender::AfXdp(mut xsk) => {
                while start.elapsed() < duration {
                    for _ in 0..64 {
                        sent += xsk.pump();
                    }
                }
            }
            Sender::PacketRing(mut ring) => {
                while start.elapsed() < duration {
                    sent += ring.send(self.frames, sent).with_context(|| format!("sending on {}", self.interface))?;
                }
            }
        }
        Ok(sent)
    }

    /// `runs` live frames from one BPF_PROG_RUN call.
    fn live_frames(&self, ifindex: u32, runs: u32) -> Result<()> {
        let program: &Xdp = self.generator.program("generator").context("no generator program")?.try_into()?;
        // struct xdp_md: data, data_end, data_meta, ingress_ifindex,
        // rx_queue_index, egress_ifindex. Live frames go out of the
        // ingress interface when the program returns XDP_TX.
        let mut ctx = [0u8; 24];
        ctx[4..8].copy_from_slice(&(FRAME_SLOT as u32).to_ne_bytes());
        ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
        let data = [0u8; FRAME_SLOT];
        let mut options = TestRunOptions::new();
        options.data_in = Some(&data);
        options.ctx_in = Some(&ctx);
        options.repeat = runs;
        options.attrs = TestRunAttrs::new().xdp_live_frames(BATCH);
        // Live-frame mode reports no return value: what went out is known
        // from what came back.
        program.test_run(options).context("BPF_PROG_RUN with live frames")?;
        Ok(())
    }

    /// The [`PACED_BURST`] frames from frame `sent` on, in turn.
    fn burst(&self, sent: u64) -> Vec<&[u8]> {
        let first = (sent % self.frames.len() as u64) as usize;
        (0..PACED_BURST as usize).map(|i| self.frames[(first + i) % self.frames.len()].as_slice()).collect()
    }

    /// Bursts of [`PACED_BURST`] frames at `rate` frames a second from a
    /// packet socket (one BPF_PROG_RUN call per burst would wait out a
    /// grace period each time and fall far short of the rate): the frames
    /// sent.
    fn paced(&self, ifindex: u32, duration: Duration, rate: u32) -> Result<u64> {
        let socket = packet_socket::PacketSocket::open(ifindex)?;
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < duration {
            // The burst that starts at frame `sent` is due at this time.
            let due = Duration::from_secs_f64(sent as f64 / f64::from(rate));
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let burst = self.burst(sent);
            socket.send_all(&burst).with_context(|| format!("sending a burst on {}", self.interface))?;
            sent += u64::from(PACED_BURST);
        }
        Ok(sent)
    }

    /// Responses the sink has counted, every RCODE.
    pub fn answered(&self) -> Result<u64> {
        let mut total = 0;
        for counter in [SinkCounter::NoError, SinkCounter::NxDomain, SinkCounter::OtherRcode] {
            total += bench_programs::sink_count(&self.sink, counter).map_err(anyhow::Error::msg)?;
        }
        Ok(total)
    }
}

/// The index of `interface` in the calling thread's network namespace.
fn ifindex(interface: &str) -> Result<u32> {
    let name = std::ffi::CString::new(interface)?;
    // SAFETY: a NUL-terminated name; the call reads nothing else.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => bail!("no interface {interface} in this network namespace"),
        index => Ok(index),
    }
}

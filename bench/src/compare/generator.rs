//! The frame generator: prebuilt query frames injected with BPF_PROG_RUN in
//! live-frame mode on the client's end of the bench link, answers counted
//! by the sink program on the same interface. dnsperf tops out near 110k
//! queries/s on one core here; this reaches millions, so the XDP rows
//! measure the server, not the client.

use std::time::{Duration, Instant};

mod packet_socket;

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

pub struct Generator<'a> {
    generator: Ebpf,
    sink: Ebpf,
    sink_link: Option<XdpLinkId>,
    interface: String,
    /// The frames the packet socket sends (the generator program holds
    /// its own copy in a map).
    frames: &'a [Vec<u8>],
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
    pub fn new(interface: &str, frames: &'a [Vec<u8>]) -> Result<Generator<'a>> {
        if frames.is_empty() {
            bail!("no frames to generate");
        }
        let generator = bench_programs::load_generator(frames).map_err(anyhow::Error::msg)?;
        let sink = bench_programs::load_sink().map_err(anyhow::Error::msg)?;
        Ok(Generator { generator, sink, sink_link: None, interface: interface.to_string(), frames })
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
        let before = self.answered()?;
        let start = Instant::now();
        let sent = match rate {
            None => self.flood(ifindex, duration)?,
            Some(rate) => self.paced(ifindex, duration, rate)?,
        };
        let seconds = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(100));
        let answered = self.answered()? - before;
        if answered == 0 {
            bail!("{sent} frames generated on {}, no answer came back", self.interface);
        }
        Ok(Burst { sent, answered, seconds })
    }

    /// Live frames from BPF_PROG_RUN, as fast as they go: the frames sent.
    fn flood(&self, ifindex: u32, duration: Duration) -> Result<u64> {
        let program: &Xdp = self.generator.program("generator").context("no generator program")?.try_into()?;
        // struct xdp_md: data, data_end, data_meta, ingress_ifindex,
        // rx_queue_index, egress_ifindex. Live frames go out of the
        // ingress interface when the program returns XDP_TX.
        let mut ctx = [0u8; 24];
        ctx[4..8].copy_from_slice(&(FRAME_SLOT as u32).to_ne_bytes());
        ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
        let data = [0u8; FRAME_SLOT];
        let mut runs = FIRST_RUNS_PER_CALL;
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < duration {
            let mut options = TestRunOptions::new();
            options.data_in = Some(&data);
            options.ctx_in = Some(&ctx);
            options.repeat = runs;
            options.attrs = TestRunAttrs::new().xdp_live_frames(BATCH);
            // Live-frame mode reports no return value: what went out is
            // known from what came back.
            let call = Instant::now();
            program.test_run(options).context("BPF_PROG_RUN with live frames")?;
            sent += u64::from(runs);
            if call.elapsed() < CALL_TIME / 2 {
                runs = runs.saturating_mul(2);
            }
        }
        Ok(sent)
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
            let first = (sent % self.frames.len() as u64) as usize;
            let burst: Vec<&[u8]> =
                (0..PACED_BURST as usize).map(|i| self.frames[(first + i) % self.frames.len()].as_slice()).collect();
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

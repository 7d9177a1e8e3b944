//! The benchmark's XDP programs, loaded (not attached): the frame
//! generator with its frames in place, and the answer sink. Shared by the
//! bench and the tests that check them through BPF_PROG_TEST_RUN.

use anycast_common::bench::{FRAME_SLOT, GENERATOR_COUNT, GENERATOR_SLOTS, GeneratorFrame, SinkCounter};
use anycast_lab_xdp::{GENERATOR, SINK};
use aya::{
    Ebpf,
    maps::{Array, PerCpuArray},
};

/// The generator, loaded, with `frames` in its slots (each one at most
/// FRAME_SLOT bytes, at most GENERATOR_SLOTS of them).
pub fn load_generator(frames: &[Vec<u8>]) -> Result<Ebpf, String> {
    if frames.is_empty() || frames.len() > GENERATOR_SLOTS as usize {
        return Err(format!("{} frames: the generator takes 1..={GENERATOR_SLOTS}", frames.len()));
    }
    let mut ebpf = load(GENERATOR, "generator")?;
    let map = ebpf.map_mut("FRAMES").ok_or("no FRAMES map")?;
    let mut slots: Array<_, GeneratorFrame> = Array::try_from(map).map_err(|e| e.to_string())?;
    for (i, frame) in frames.iter().enumerate() {
        if frame.len() > FRAME_SLOT {
            return Err(format!("a {}-byte frame does not fit a {FRAME_SLOT}-byte slot", frame.len()));
        }
        let mut slot = GeneratorFrame { len: frame.len() as u32, _pad: 0, data: [0; FRAME_SLOT] };
        slot.data[..frame.len()].copy_from_slice(frame);
        slots.set(i as u32, slot, 0).map_err(|e| format!("writing frame {i}: {e}"))?;
    }
    let map = ebpf.map_mut("GENERATOR").ok_or("no GENERATOR map")?;
    let mut count: Array<_, u32> = Array::try_from(map).map_err(|e| e.to_string())?;
    count.set(GENERATOR_COUNT, frames.len() as u32, 0).map_err(|e| e.to_string())?;
    Ok(ebpf)
}

pub fn load_sink() -> Result<Ebpf, String> {
    load(SINK, "sink")
}

/// The sink's counter `counter`, summed over the CPUs.
pub fn sink_count(sink: &Ebpf, counter: SinkCounter) -> Result<u64, String> {
    let map = sink.map("SINK").ok_or("no SINK map")?;
    let counters: PerCpuArray<_, u64> = PerCpuArray::try_from(map).map_err(|e| e.to_string())?;
    Ok(counters.get(&(counter as u32), 0).map_err(|e| e.to_string())?.iter().sum())
}

fn load(object: &[u8], program: &'static str) -> Result<Ebpf, String> {
    anycast_lab_xdp::load(object, program).map_err(|e| format!("{program}: {e}"))
}

//! The XDP programs the labs, the tests and the benchmarks use beside the
//! fast path, embedded as objects. None of them is part of anycastd.

use aya::{Ebpf, programs::Xdp};

/// Passes everything, for the client end of a lab's veth pair: a veth
/// delivers its peer's XDP_TX frames only to an XDP program.
pub static PASS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/pass"));
/// The XDP echo (addresses and ports swapped, QR set): the ceiling of the
/// XDP_TX path that benchmarks measure the fast path against.
pub static REFLECTOR: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/reflector"));
/// The benchmark's frame generator (BPF_PROG_RUN live frames).
pub static GENERATOR: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/generator"));
/// Counts and drops the answers the generator's frames get back.
pub static SINK: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sink"));

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("loading the XDP object: {0}")]
    Object(#[from] aya::EbpfError),
    #[error("the object has no XDP program `{0}`")]
    MissingProgram(&'static str),
    #[error("XDP program `{name}`: {source}")]
    Program { name: &'static str, source: aya::programs::ProgramError },
}

/// Loads `object` and its XDP program `name` into the kernel, ready to
/// attach or run.
pub fn load(object: &[u8], name: &'static str) -> Result<Ebpf, LoadError> {
    let mut ebpf = Ebpf::load(object)?;
    xdp(&mut ebpf, name)?.load().map_err(|source| LoadError::Program { name, source })?;
    Ok(ebpf)
}

/// The XDP program `name` of `ebpf`.
pub fn xdp<'a>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut Xdp, LoadError> {
    let program = ebpf.program_mut(name).ok_or(LoadError::MissingProgram(name))?;
    program.try_into().map_err(|source| LoadError::Program { name, source })
}

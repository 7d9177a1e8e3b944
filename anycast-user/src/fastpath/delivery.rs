//! Whether the fast path's answers leave the interface: the delivery
//! programs count the XDP_TX frames the driver could not send (a veth
//! whose peer cannot take them, a full TX ring), and the fast path can be
//! turned to pass everything while they do not.

use std::{ffi::CString, path::Path};

use anycast_common::{delivery, map_names};
use aya::programs::TracePoint;

use super::{FastPath, FastPathError};

/// Where tracefs is mounted on a standard system.
const TRACEFS: &str = "/sys/kernel/tracing";

impl FastPath {
    /// Attaches the delivery programs to their tracepoints (mounting
    /// tracefs where it is not).
    pub fn watch_delivery(&mut self) -> Result<(), FastPathError> {
        ensure_tracefs();
        for (program, tracepoint) in [
            (delivery::EXCEPTION_PROGRAM, delivery::EXCEPTION_TRACEPOINT),
            (delivery::BULK_TX_PROGRAM, delivery::BULK_TX_TRACEPOINT),
        ] {
            let tp: &mut TracePoint =
                self.ebpf.program_mut(program).ok_or(FastPathError::MissingProgram(program))?.try_into()?;
            tp.load()?;
            tp.attach(delivery::CATEGORY, tracepoint)?;
        }
        Ok(())
    }

    /// XDP_TX frames the driver could not send since the program was
    /// loaded, summed over the CPUs.
    pub fn tx_errors(&self) -> Result<u64, FastPathError> {
        self.per_cpu_sum(map_names::TX_ERRORS, 0)
    }

    pub fn pass_only(&self) -> bool {
        self.config.pass_only == 1
    }

    /// Turns the fast path to pass everything (or back). The config is
    /// rewritten whole with only this byte changed: a program reading it
    /// meanwhile sees every other field as it was.
    pub fn set_pass_only(&mut self, on: bool) -> Result<(), FastPathError> {
        self.config.pass_only = on as u8;
        self.write_config()
    }
}

/// Mounts tracefs where the kernel made its directory but nothing is
/// mounted (aya looks there once, on the first attach).
fn ensure_tracefs() {
    let path = Path::new(TRACEFS);
    let empty = path.read_dir().is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return;
    }
    let target = CString::new(TRACEFS).expect("no NUL");
    // SAFETY: valid C strings; mount(2) reads them only.
    let mounted =
        unsafe { libc::mount(c"tracefs".as_ptr(), target.as_ptr(), c"tracefs".as_ptr(), 0, std::ptr::null()) };
    if mounted == 0 {
        tracing::info!(at = TRACEFS, "mounted tracefs");
    } else {
        tracing::warn!(at = TRACEFS, error = %std::io::Error::last_os_error(), "mounting tracefs");
    }
}

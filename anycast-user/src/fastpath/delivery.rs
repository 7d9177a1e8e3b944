//! Whether the fast path's answers leave the interface: the delivery
//! programs count the XDP_TX frames the driver could not send (a veth
//! whose peer cannot take them, a full TX ring), and the fast path can be
//! turned to pass everything while they do not.

use std::path::Path;

use anycast_common::{delivery, map_names};
use aya::programs::RawTracePoint;

use super::{
    FastPath, FastPathError,
    btf::{self, VMLINUX},
};

impl FastPath {
    /// Finds where `net_device.ifindex` lies in this kernel, tells the
    /// delivery programs, and attaches them to their raw tracepoints.
    pub fn watch_delivery(&mut self) -> Result<(), FastPathError> {
        let offset = btf::field_offset_in(Path::new(VMLINUX), "net_device", "ifindex")?;
        self.config.netdev_ifindex_offset = offset;
        self.write_config()?;
        for (program, tracepoint) in [
            (delivery::EXCEPTION_PROGRAM, delivery::EXCEPTION_TRACEPOINT),
            (delivery::BULK_TX_PROGRAM, delivery::BULK_TX_TRACEPOINT),
        ] {
            let tp: &mut RawTracePoint =
                self.ebpf.program_mut(program).ok_or(FastPathError::MissingProgram(program))?.try_into()?;
            tp.load()?;
            tp.attach(tracepoint)?;
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

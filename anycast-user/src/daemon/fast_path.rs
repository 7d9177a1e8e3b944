//! The fast path as configured: loaded (over the pinned maps of a
//! previous daemon, if pinned) and attached in the configured mode, or
//! off.

use aya::programs::XdpMode as Attach;

use super::error::DaemonError;
use crate::{
    config::{Config, fastpath::PartialChecksums, service::XdpMode},
    fastpath::{FastPath, FastPathError, Settings, tap_sampling::TapSampling},
    policy::acl::Acl,
};

/// Loads the XDP program, unless the fast path is off; [`attach`] then
/// attaches it.
pub fn load(config: &Config) -> Result<Option<FastPath>, DaemonError> {
    let service = &config.service;
    let Some(interface) = service.fast_path_interface() else {
        tracing::warn!("the fast path is off: every query is answered in userspace");
        return Ok(None);
    };
    let settings = Settings {
        vips: service.vips.clone(),
        acl: Acl::new(config.allow.clone()),
        answer_capacity: config.fast_path.capacity,
        udp_port: service.port,
        edns_udp_size: config.fast_path.edns_udp_size,
        rate_limit: config.rate_limit,
        nsid: service.nsid.clone(),
        cookies: config.cookies.is_some(),
        ifindex: ifindex(interface)?,
        accept_partial_checksums: config.fast_path.partial_checksums == PartialChecksums::Answer,
        tap: config
            .dnstap
            .as_ref()
            .map(|d| TapSampling { every: d.xdp_every, per_second: d.xdp_per_second })
            .unwrap_or_default(),
        rrset_order: config.rrset_order,
    };
    let fast_path = match &config.fast_path.pin_dir {
        Some(dir) => FastPath::load_pinned(&settings, dir, interface)
            .map_err(context(format!("loading the XDP program pinned under {}", dir.display())))?,
        None => FastPath::load(&settings).map_err(context("loading the XDP program".into()))?,
    };
    if fast_path.taken_over() {
        tracing::info!(interface, "the pinned maps are taken over: answers, counters and rate limits carry on");
    }
    Ok(Some(fast_path))
}

/// Attaches the loaded program in the configured mode.
pub fn attach(config: &Config, fast_path: &mut FastPath) -> Result<(), DaemonError> {
    let interface = config.service.interface.as_deref().expect("a loaded fast path has its interface");
    attach_in(fast_path, interface, config.service.xdp_mode)?;
    tracing::info!(interface, "fast path attached");
    if let Err(e) = fast_path.watch_delivery() {
        tracing::warn!(interface, error = %e, "the XDP transmit errors cannot be counted: undelivered answers go unnoticed");
    }
    Ok(())
}

fn attach_in(fast_path: &mut FastPath, interface: &str, mode: XdpMode) -> Result<(), DaemonError> {
    let attach = |fast_path: &mut FastPath, mode: Attach, name: &str| {
        fast_path.attach(interface, mode).map_err(context(format!("attaching XDP to {interface} ({name})")))
    };
    match mode {
        XdpMode::Native => attach(fast_path, Attach::Driver, "native"),
        XdpMode::Generic => {
            tracing::warn!(interface, "XDP in generic mode, as configured: slower than native");
            attach(fast_path, Attach::Skb, "generic")
        }
        XdpMode::Auto => match fast_path.attach(interface, Attach::Driver) {
            Ok(()) => Ok(()),
            Err(native) => {
                tracing::warn!(interface, error = %native, "native XDP unavailable; falling back to generic mode");
                attach(fast_path, Attach::Skb, "generic")
            }
        },
        XdpMode::Off => unreachable!("load returns before attaching when the fast path is off"),
    }
}

/// The interface's index.
fn ifindex(interface: &str) -> Result<u32, DaemonError> {
    let name = std::ffi::CString::new(interface).map_err(|_| DaemonError::NoInterface(interface.to_string()))?;
    // SAFETY: a valid C string.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(DaemonError::NoInterface(interface.to_string())),
        index => Ok(index),
    }
}

pub fn context(context: String) -> impl FnOnce(FastPathError) -> DaemonError {
    move |source| DaemonError::FastPath { context, source: Box::new(source) }
}

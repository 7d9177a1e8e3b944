//! The XDP fast path: answers DNS queries for the VIPs from the answer map
//! and passes everything else up the kernel stack to `anycastd`.
#![no_std]
#![no_main]

mod answer;
mod capture;
mod cookie;
mod delivery;
mod edns;
mod maps;
mod net;
mod query;
mod ratelimit;
mod tap;
mod turn;

anycast_ebpf::program_runtime!();

use anycast_common::Outcome;
use aya_ebpf::{
    bindings::xdp_action,
    macros::{raw_tracepoint, xdp},
    programs::{RawTracePointContext, XdpContext},
};

/// Dispatch and count: every packet gets exactly one outcome.
#[xdp]
pub fn anycast(ctx: XdpContext) -> u32 {
    capture::start(&ctx);
    let outcome = answer::handle(&ctx).unwrap_or_else(|outcome| outcome);
    maps::count(outcome);
    tap::record(&ctx, outcome);
    capture::finish(&ctx, outcome);
    match outcome {
        Outcome::Answered | Outcome::Slipped => xdp_action::XDP_TX,
        Outcome::RateLimited => xdp_action::XDP_DROP,
        _ => xdp_action::XDP_PASS,
    }
}

/// `xdp:xdp_exception`, for frames the driver refused (see `delivery`).
#[raw_tracepoint(tracepoint = "xdp_exception")]
pub fn anycast_xdp_exception(ctx: RawTracePointContext) -> i32 {
    delivery::exception(&ctx);
    0
}

/// `xdp:xdp_bulk_tx`, for frames a bulk send dropped (see `delivery`).
#[raw_tracepoint(tracepoint = "xdp_bulk_tx")]
pub fn anycast_xdp_bulk_tx(ctx: RawTracePointContext) -> i32 {
    delivery::bulk_tx(&ctx);
    0
}

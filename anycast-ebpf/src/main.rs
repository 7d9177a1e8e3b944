//! The XDP fast path: answers DNS queries for the VIPs from the answer map
//! and passes everything else up the kernel stack to `anycastd`.
#![no_std]
#![no_main]

mod answer;
mod maps;
mod net;
mod packet;
mod query;
mod runtime;

use anycast_common::Outcome;
use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

/// Dispatch and count: every packet gets exactly one outcome.
#[xdp]
pub fn anycast(ctx: XdpContext) -> u32 {
    let outcome = match answer::handle(&ctx) {
        Ok(()) => Outcome::Answered,
        Err(outcome) => outcome,
    };
    maps::count(outcome);
    match outcome {
        Outcome::Answered => xdp_action::XDP_TX,
        _ => xdp_action::XDP_PASS,
    }
}

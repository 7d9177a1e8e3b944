//! The DNS service on the VIPs: what answers every query the fast path
//! passes up, over UDP and TCP. It resolves through the resolver it is
//! given and offers what it answers to an [`respond::AnswerSink`]; it
//! knows nothing of the fast path or the announcement.

pub mod admission;
mod batch;
pub mod certificate;
pub mod client_tap;
pub mod connections;
pub mod doh;
pub mod dot;
pub mod edns;
pub mod encrypted;
pub mod hot;
pub mod listener;
#[cfg(test)]
mod order_tests;
pub mod query_view;
pub mod respond;
pub mod stats;
pub mod tcp;
#[cfg(test)]
pub(crate) mod tests;
pub mod transport;
pub mod udp;

//! What the health checks look at on this node: the XDP program anycastd
//! attached is still the one on its interface, and upstream resolution
//! works (the probe question asked of the servers, not the cache). Each
//! check that completes, whatever it found, feeds systemd's watchdog when
//! one watches: a daemon whose runtime or resolver is stuck stops feeding
//! it, is killed, and its unit's `ExecStopPost=` withdraws the VIPs.

use std::{sync::Arc, time::Duration};

use hickory_proto::{
    op::{Query, ResponseCode},
    rr::{Name, RecordType},
};

use crate::{
    fastpath::attachment::{Attachment, Detached},
    notify,
    resolver::{Resolver, upstream::Upstream},
    route::health::Probe,
};

pub struct NodeProbe<U> {
    /// None with the fast path off.
    pub attachment: Option<Attachment>,
    pub resolver: Arc<Resolver<U>>,
    pub question: (Name, RecordType),
    /// How long the probe question may take: the check interval.
    pub timeout: Duration,
    /// Whether systemd's watchdog is to be fed.
    pub watchdog: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeFailure {
    #[error(transparent)]
    Detached(#[from] Detached),
    #[error("probe {name} {rtype}: {rcode}")]
    Answer { name: Name, rtype: RecordType, rcode: ResponseCode },
    #[error("probe {name} {rtype}: no answer within the interval")]
    Timeout { name: Name, rtype: RecordType },
}

impl<U: Upstream> Probe for NodeProbe<U> {
    type Failure = ProbeFailure;

    async fn check(&self) -> Result<(), ProbeFailure> {
        let verdict = self.look().await;
        if self.watchdog {
            notify::notify("WATCHDOG=1");
        }
        verdict
    }
}

impl<U: Upstream> NodeProbe<U> {
    async fn look(&self) -> Result<(), ProbeFailure> {
        if let Some(attachment) = &self.attachment {
            attachment.check().await?;
        }
        let (name, rtype) = self.question.clone();
        let question = Query::query(name.clone(), rtype);
        match tokio::time::timeout(self.timeout, self.resolver.refresh(&question)).await {
            Ok(answer) if matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => Ok(()),
            Ok(answer) => Err(ProbeFailure::Answer { name, rtype, rcode: answer.rcode }),
            Err(_) => Err(ProbeFailure::Timeout { name, rtype }),
        }
    }
}

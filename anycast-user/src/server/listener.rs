//! The accept loop every listening service shares (DNS over TCP, the
//! control socket, metrics): accept until shutdown, hand each connection
//! on, never stop on a failed accept (e.g. out of file descriptors: the
//! next one may work).

use std::future::Future;

use tokio::{
    net::{TcpListener, TcpStream, UnixListener, UnixStream},
    sync::watch,
};

pub trait Listener {
    type Stream;
    fn accept_stream(&self) -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    async fn accept_stream(&self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    async fn accept_stream(&self) -> std::io::Result<UnixStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// Accepts connections on `listener` until `shutdown` turns true, handing
/// each (or the accept error) to `handle`.
pub async fn accept_until<L: Listener>(
    listener: &L,
    mut shutdown: watch::Receiver<bool>,
    mut handle: impl FnMut(std::io::Result<L::Stream>),
) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept_stream() => handle(accepted),
        }
    }
}

/// Serves each connection accepted on `listener` in a task of its own
/// with `serve`, until `shutdown` turns true; `what` names them in logs.
pub async fn serve_each<L, F, S>(listener: &L, shutdown: watch::Receiver<bool>, what: &'static str, serve: F)
where
    L: Listener,
    F: Fn(L::Stream) -> S,
    S: Future<Output = std::io::Result<()>> + Send + 'static,
{
    accept_until(listener, shutdown, |accepted| match accepted {
        Ok(stream) => {
            let session = serve(stream);
            tokio::spawn(async move {
                if let Err(e) = session.await {
                    tracing::debug!(error = %e, "{what}");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "{what}: accept"),
    })
    .await;
}

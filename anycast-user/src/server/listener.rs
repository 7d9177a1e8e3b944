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

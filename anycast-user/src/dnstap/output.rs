//! Where the frames go: a Frame Streams reader on a Unix socket (fstrm's
//! bidirectional handshake), or a file. The writer owns the queue's
//! receiving end; when the output fails it reconnects every second, and
//! meanwhile empties the queue, counting what it drops, so that what it
//! writes once back is recent. A slow or absent collector never makes
//! the senders wait: they drop into the counter when the queue is full.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter},
    net::{UnixStream, unix::OwnedReadHalf},
    sync::{mpsc, watch},
    time::timeout,
};

use super::{
    frames::{self, Control, ControlError},
    message::{Event, Origin},
    stats::TapStats,
};

/// Where dnstap goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A collector listening on a Unix socket (fstrm_capture, dnstap -u,
    /// a log pipeline).
    Socket(PathBuf),
    /// A Frame Streams file; one that is already there is moved aside to
    /// `<path>.<unix seconds>` rather than overwritten (a device or a FIFO
    /// is written to).
    File(PathBuf),
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Socket(path) => write!(f, "socket {}", path.display()),
            Output::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

const RECONNECT_EVERY: Duration = Duration::from_secs(1);
/// How long the reader has for each handshake reply.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Events encoded and written at once.
const BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
enum OutputError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("handshake: {0}")]
    Handshake(#[from] ControlError),
    #[error("handshake: no reply within {HANDSHAKE_TIMEOUT:?}")]
    HandshakeTimeout,
}

/// An output open for data frames.
struct Connection {
    writer: BufWriter<Box<dyn AsyncWrite + Unpin + Send>>,
    /// The reader's side of a socket, for its replies.
    replies: Option<OwnedReadHalf>,
}

/// Sends the queue's events to the output until `stop`.
pub struct Writer {
    pub(super) output: Output,
    pub(super) origin: Origin,
    pub(super) queue: mpsc::Receiver<Event>,
    pub(super) stats: Arc<TapStats>,
}

impl Writer {
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            match self.open().await {
                Ok(mut connection) => {
                    tracing::info!(output = %self.output, "dnstap: writing");
                    failures = 0;
                    self.stats.connected.store(true, std::sync::atomic::Ordering::Relaxed);
                    let outcome = self.write_until(&mut connection, &mut stop).await;
                    self.stats.connected.store(false, std::sync::atomic::Ordering::Relaxed);
                    match outcome {
                        Ok(()) => return finish(connection).await,
                        Err(e) => tracing::warn!(output = %self.output, error = %e, "dnstap: output lost"),
                    }
                }
                // Said once per outage; the retries are quiet.
                Err(e) if failures == 0 => tracing::warn!(output = %self.output, error = %e, "dnstap: cannot open"),
                Err(e) => tracing::debug!(output = %self.output, error = %e, "dnstap: cannot open"),
            }
            failures += 1;
            if self.drop_for(RECONNECT_EVERY, &mut stop).await {
                return;
            }
        }
    }

    async fn open(&self) -> Result<Connection, OutputError> {
        let mut connection = match &self.output {
            Output::Socket(path) => {
                let (replies, writer) = UnixStream::connect(path).await?.into_split();
                let mut connection = Connection { writer: BufWriter::new(Box::new(writer)), replies: Some(replies) };
                connection.writer.write_all(&frames::control(Control::Ready)).await?;
                connection.writer.flush().await?;
                connection.reply(Control::Accept).await?;
                connection
            }
            Output::File(path) => {
                let file = match move_aside(path)? {
                    // A device or a FIFO (/dev/null, a pipe to a reader) is
                    // written as it is.
                    Existing::Special => tokio::fs::OpenOptions::new().write(true).open(path).await?,
                    Existing::None => tokio::fs::File::create_new(path).await?,
                };
                Connection { writer: BufWriter::new(Box::new(file)), replies: None }
            }
        };
        connection.writer.write_all(&frames::control(Control::Start)).await?;
        connection.writer.flush().await?;
        Ok(connection)
    }

    /// Writes events as they come until `stop` (Ok, the queue emptied
    /// first) or an error.
    async fn write_until(
        &mut self,
        connection: &mut Connection,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), OutputError> {
        let mut events = Vec::with_capacity(BATCH);
        let mut frames = Vec::new();
        loop {
            let stopping = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => true,
                count = self.queue.recv_many(&mut events, BATCH) => count == 0,
            };
            if stopping {
                while let Ok(event) = self.queue.try_recv() {
                    events.push(event);
                }
            }
            frames.clear();
            let count = events.len() as u64;
            for event in events.drain(..) {
                frames::data(&event.encode(&self.origin), &mut frames);
            }
            connection.writer.write_all(&frames).await?;
            connection.writer.flush().await?;
            self.stats.written.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
            if stopping {
                return Ok(());
            }
        }
    }

    /// Drops what comes for `wait`; true if told to stop meanwhile.
    async fn drop_for(&mut self, wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return false,
                _ = stop.wait_for(|stop| *stop) => return true,
                event = self.queue.recv() => match event {
                    Some(_) => _ = self.stats.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    None => return true,
                },
            }
        }
    }
}

impl Connection {
    /// Reads the reader's next control frame and checks it is `expected`.
    async fn reply(&mut self, expected: Control) -> Result<(), OutputError> {
        let Some(replies) = self.replies.as_mut() else { return Ok(()) };
        let read = async {
            let escape = replies.read_u32().await?;
            let len = replies.read_u32().await? as usize;
            if escape != 0 {
                return Err(ControlError::Malformed.into());
            }
            if len > frames::MAX_CONTROL_LEN {
                return Err(ControlError::TooLong(len).into());
            }
            let mut body = vec![0u8; len];
            replies.read_exact(&mut body).await?;
            Ok::<_, OutputError>(body)
        };
        let body = timeout(HANDSHAKE_TIMEOUT, read).await.map_err(|_| OutputError::HandshakeTimeout)??;
        Ok(frames::check_reply(&body, expected)?)
    }
}

/// STOP, and over a socket the reader's FINISH.
async fn finish(mut connection: Connection) {
    let stopped = async {
        connection.writer.write_all(&frames::control(Control::Stop)).await?;
        connection.writer.flush().await?;
        connection.reply(Control::Finish).await
    };
    if let Err(e) = stopped.await {
        tracing::debug!(error = %e, "dnstap: closing");
    }
}

/// What was at a file output's path.
enum Existing {
    /// Nothing (any regular file there has been moved aside).
    None,
    /// Not a regular file: a device or a FIFO.
    Special,
}

/// Renames a regular file at `path` to `<path>.<unix seconds>`.
fn move_aside(path: &Path) -> io::Result<Existing> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::None),
        Err(e) => return Err(e),
    };
    if !metadata.is_file() {
        return Ok(Existing::Special);
    }
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{seconds}"));
    std::fs::rename(path, &aside)?;
    tracing::info!(file = %path.display(), moved_to = %Path::new(&aside).display(), "dnstap: earlier file kept");
    Ok(Existing::None)
}

//! dnstap: every DNS message the node sees, as the dnstap schema logs it
//! ([`message`]), in Frame Streams ([`frames`]) to a collector's socket or
//! a file ([`output`]). The server and the resolver hand events to a
//! [`Tap`]; a bounded queue takes them to the writer, and an event that
//! finds it full is counted and dropped: logging never holds up an answer.

pub mod frames;
pub mod message;
pub mod output;
pub mod stats;

use std::sync::{Arc, atomic::Ordering::Relaxed};

use tokio::sync::mpsc;

pub use message::{Event, Kind, Origin, Protocol};
pub use output::{Output, Writer};
pub use stats::TapStats;

/// What `[dnstap]` asks for, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnstapSettings {
    pub output: Output,
    pub origin: Origin,
    /// The message types logged.
    pub kinds: Vec<Kind>,
    /// Events waiting for the writer, at most.
    pub queue: usize,
    /// Every n-th answer of the XDP program (per CPU) is logged; 0: none.
    pub xdp_every: u32,
    /// XDP answers logged a second, at most.
    pub xdp_per_second: u32,
}

/// Where events go: a handle the components share (cheap to clone; off,
/// it takes nothing).
#[derive(Clone, Default)]
pub struct Tap {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// Indexed by [`kind_bit`].
    kinds: u8,
    queue: mpsc::Sender<Event>,
    stats: Arc<TapStats>,
}

fn kind_bit(kind: Kind) -> u8 {
    1 << Kind::ALL.iter().position(|k| *k == kind).expect("every kind is in ALL")
}

impl Tap {
    /// A tap that logs nothing.
    pub fn off() -> Tap {
        Tap::default()
    }

    /// The tap `settings` describe, and the writer that empties its queue
    /// (to be run).
    pub fn start(settings: &DnstapSettings) -> (Tap, Writer) {
        let (queue, receiver) = mpsc::channel(settings.queue.max(1));
        let stats = Arc::new(TapStats::default());
        let kinds = settings.kinds.iter().fold(0, |bits, kind| bits | kind_bit(*kind));
        let writer = Writer {
            output: settings.output.clone(),
            origin: settings.origin.clone(),
            queue: receiver,
            stats: stats.clone(),
        };
        (Tap { inner: Some(Arc::new(Inner { kinds, queue, stats })) }, writer)
    }

    /// Whether messages of `kind` are logged (make the event only then).
    pub fn wants(&self, kind: Kind) -> bool {
        self.inner.as_ref().is_some_and(|inner| inner.kinds & kind_bit(kind) != 0)
    }

    /// Queues `event` for the writer, or counts it dropped.
    pub fn log(&self, event: Event) {
        let Some(inner) = &self.inner else { return };
        if inner.queue.try_send(event).is_err() {
            inner.stats.dropped.fetch_add(1, Relaxed);
        }
    }

    /// None when the tap is off.
    pub fn stats(&self) -> Option<&TapStats> {
        self.inner.as_ref().map(|inner| &*inner.stats)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        path::PathBuf,
        time::{Duration, SystemTime},
    };

    use prost::Message as _;
    use tokio::{io::AsyncReadExt, net::UnixListener, sync::watch};

    use super::{frames::Control, message::Dnstap, *};

    fn settings(output: Output, kinds: Vec<Kind>, queue: usize) -> DnstapSettings {
        DnstapSettings {
            output,
            origin: Origin { identity: Some(b"test".to_vec()), version: None },
            kinds,
            queue,
            xdp_every: 0,
            xdp_per_second: 1,
        }
    }

    fn event(id: u8) -> Event {
        Event {
            kind: Kind::ClientQuery,
            protocol: Protocol::Udp,
            query_addr: "192.0.2.1:5353".parse().unwrap(),
            response_addr: "6.6.6.6:53".parse().unwrap(),
            query_time: SystemTime::now(),
            response_time: None,
            message: vec![0, id, 1, 0],
            extra: None,
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("anycast-dnstap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Reads one frame: Err(control type) for a control frame.
    async fn frame(stream: &mut tokio::net::UnixStream) -> Result<Vec<u8>, u32> {
        let len = stream.read_u32().await.unwrap() as usize;
        if len == 0 {
            let len = stream.read_u32().await.unwrap() as usize;
            let mut body = vec![0; len];
            stream.read_exact(&mut body).await.unwrap();
            return Err(u32::from_be_bytes(body[..4].try_into().unwrap()));
        }
        let mut payload = vec![0; len];
        stream.read_exact(&mut payload).await.unwrap();
        Ok(payload)
    }

    #[test]
    fn only_the_kinds_asked_for_are_wanted() {
        let (tap, _writer) = Tap::start(&settings(Output::File("/nonexistent".into()), vec![Kind::ClientResponse], 4));
        assert!(tap.wants(Kind::ClientResponse) && !tap.wants(Kind::ClientQuery));
        assert!(!Tap::off().wants(Kind::ClientResponse));
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (tap, _writer) = Tap::start(&settings(Output::File("/nonexistent".into()), vec![Kind::ClientQuery], 2));
        for id in 0..5 {
            tap.log(event(id));
        }
        assert_eq!(tap.stats().unwrap().dropped.load(Relaxed), 3);
    }

    #[tokio::test]
    async fn a_socket_reader_gets_the_handshake_the_events_and_stop() {
        let root = dir("socket");
        let path = root.join("tap.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (tap, writer) = Tap::start(&settings(Output::Socket(path), vec![Kind::ClientQuery], 16));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(writer.run(stopped));
        let (mut reader, _) = listener.accept().await.unwrap();
        assert_eq!(frame(&mut reader).await, Err(Control::Ready as u32));
        tokio::io::AsyncWriteExt::write_all(&mut reader, &frames::control(Control::Accept)).await.unwrap();
        assert_eq!(frame(&mut reader).await, Err(Control::Start as u32));
        tap.log(event(1));
        tap.log(event(2));
        for id in 1..=2 {
            let tap = Dnstap::decode(frame(&mut reader).await.unwrap().as_slice()).unwrap();
            assert_eq!(tap.message.unwrap().query_message, Some(vec![0, id, 1, 0]));
        }
        stop.send(true).unwrap();
        assert_eq!(frame(&mut reader).await, Err(Control::Stop as u32));
        tokio::io::AsyncWriteExt::write_all(&mut reader, &frames::control(Control::Finish)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), running).await.expect("the writer ends").unwrap();
        assert_eq!(tap.stats().unwrap().written.load(Relaxed), 2);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn without_a_reader_events_are_dropped_and_the_writer_stops_on_request() {
        let root = dir("absent");
        let path = root.join("nobody.sock");
        let (tap, writer) = Tap::start(&settings(Output::Socket(path), vec![Kind::ClientQuery], 16));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(writer.run(stopped));
        tap.log(event(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(tap.stats().unwrap().dropped.load(Relaxed), 1, "drained while away");
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), running).await.expect("the writer ends").unwrap();
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_file_is_start_data_stop_and_an_old_one_is_kept() {
        let root = dir("file");
        let path = root.join("tap.fstrm");
        std::fs::write(&path, b"older").unwrap();
        let (tap, writer) = Tap::start(&settings(Output::File(path.clone()), vec![Kind::ClientQuery], 16));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(writer.run(stopped));
        tap.log(event(9));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        running.await.unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let start = frames::control(Control::Start);
        let stop = frames::control(Control::Stop);
        assert_eq!(bytes[..start.len()], start[..]);
        assert_eq!(bytes[bytes.len() - stop.len()..], stop[..]);
        let kept = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(kept, 2, "the older file moved aside");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn dev_null_is_written_to_not_moved() {
        let (tap, writer) = Tap::start(&settings(Output::File("/dev/null".into()), vec![Kind::ClientQuery], 16));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(writer.run(stopped));
        tap.log(event(3));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        running.await.unwrap();
        let metadata = std::fs::metadata("/dev/null").unwrap();
        assert!(!metadata.is_file(), "/dev/null is still the device");
        assert_eq!(tap.stats().unwrap().written.load(Relaxed), 1);
    }
}

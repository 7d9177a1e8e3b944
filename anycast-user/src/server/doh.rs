//! DNS over HTTPS (RFC 8484) over HTTP/2 and HTTP/1.1 (ALPN `h2`,
//! `http/1.1`): a GET with the query base64url-encoded in `?dns=`, or a
//! POST of `application/dns-message`, on one path; the answer as
//! `application/dns-message` with a `Cache-Control` max-age no longer
//! than its records' smallest TTL. Anything else gets its HTTP status
//! (404, 405, 413, 415, 400) and is counted. Bounds:
//!
//! - streams of one connection at once (HTTP/2), and h2's own limits on
//!   streams reset before they were answered (the rapid reset attack,
//!   CVE-2023-44487, ends in GOAWAY);
//! - a request body of at most one DNS message (65,535 bytes), in whole
//!   within the idle timeout; HTTP/1.1 headers within it too;
//! - a connection without a request for the idle timeout is shut down
//!   gracefully (what is under way is answered);
//! - TCP's rate limit per client prefix: over it, 429.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use data_encoding::BASE64URL_NOPAD;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use rustls::ServerConfig;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{Instant, timeout},
};
use tokio_rustls::server::TlsStream;

use super::{
    certificate::{Certificate, TlsError},
    client_tap::ClientTap,
    encrypted::{self, Accepting},
    respond::Responder,
    stats::Error,
    tcp,
    transport::Transport,
};
use crate::{answer_entry, resolver::upstream::Upstream};

/// HTTP/2 first, then HTTP/1.1.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];
const MEDIA_TYPE: &str = "application/dns-message";
/// The largest DNS message, the largest body taken.
const MAX_MESSAGE: usize = 65_535;
/// The largest header block (HTTP/2) a request may send.
const MAX_HEADERS: u32 = 16 << 10;
/// Streams reset by the client before they were answered that a
/// connection may have pending; past it, GOAWAY.
const MAX_PENDING_RESETS: usize = 32;
/// How long answers under way get once a connection is shut down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The TLS configuration DNS over HTTPS offers.
pub fn tls_config(certificate: &Arc<Certificate>) -> Result<Arc<ServerConfig>, TlsError> {
    certificate.server_config(&ALPN)
}

/// What a DNS over HTTPS connection is held to.
#[derive(Clone, Debug)]
pub struct DohSettings {
    /// The path queries are answered on.
    pub path: String,
    pub idle: Duration,
    /// Streams of one HTTP/2 connection at once.
    pub max_pipelined: usize,
}

/// Serves DNS over HTTPS on `listener` until `shutdown` turns true.
pub async fn serve<U: Upstream>(
    listener: TcpListener,
    accepting: Accepting,
    responder: Arc<Responder<U>>,
    settings: DohSettings,
    shutdown: watch::Receiver<bool>,
) {
    let (session_responder, settings) = (responder.clone(), Arc::new(settings));
    let session = move |stream, peer: SocketAddr, client_tap| {
        connection(stream, peer.ip(), session_responder.clone(), settings.clone(), client_tap)
    };
    encrypted::serve(listener, Transport::Doh, accepting, responder, shutdown, session).await;
}

/// One HTTP connection, until the client closes it, breaks the protocol
/// or idles.
async fn connection<U: Upstream>(
    stream: TlsStream<TcpStream>,
    peer: IpAddr,
    responder: Arc<Responder<U>>,
    settings: Arc<DohSettings>,
    client_tap: Option<ClientTap>,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let (responder, settings, activity) = (responder.clone(), settings.clone(), activity.clone());
        hyper::service::service_fn(move |request| {
            let (responder, settings, activity, client_tap) =
                (responder.clone(), settings.clone(), activity.clone(), client_tap.clone());
            async move {
                activity.touch();
                let response = answer(request, peer, &responder, &settings, client_tap.as_ref()).await;
                activity.touch();
                Ok::<_, Infallible>(response)
            }
        })
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if h2 {
        builder = builder.http2_only();
    }
    builder.http1().timer(TokioTimer::new()).header_read_timeout(settings.idle);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.max_pipelined as u32)
        .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
        .max_header_list_size(MAX_HEADERS);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if served.is_err() {
                responder.stats.error(Error::DohConnection);
            }
            return;
        }
        _ = activity.idle_for(settings.idle) => connection.as_mut().graceful_shutdown(),
    }
    let _ = timeout(SHUTDOWN_GRACE, connection).await;
}

/// When the connection last began or finished a request.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Relaxed);
    }

    /// Returns once `idle` has passed since the last activity.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline = self.start + Duration::from_millis(self.last_ms.load(Relaxed)) + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The response to one HTTP request.
async fn answer<U: Upstream>(
    request: Request<Incoming>,
    peer: IpAddr,
    responder: &Responder<U>,
    settings: &DohSettings,
    client_tap: Option<&ClientTap>,
) -> Response<Full<Bytes>> {
    let query = match dns_query(request, settings).await {
        Ok(query) => query,
        Err(status) => {
            responder.stats.error(Error::DohBadRequest);
            return status_only(status);
        }
    };
    if !tcp::rate_admits(responder, peer) {
        return status_only(StatusCode::TOO_MANY_REQUESTS);
    }
    let received_at = tcp::logged_query(client_tap, &query);
    let Some(response) = responder.respond_stream(&query, peer, Transport::Doh).await else {
        // No ID to answer, or a response: not a query.
        responder.stats.error(Error::DohBadRequest);
        return status_only(StatusCode::BAD_REQUEST);
    };
    tcp::logged_response(client_tap.zip(received_at), &response);
    let max_age = answer_entry::shortest_ttl_wire(&response).unwrap_or(0);
    let mut http = Response::new(Full::new(Bytes::from(response)));
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    let cache_control = HeaderValue::from_str(&format!("max-age={max_age}")).expect("digits are a header value");
    headers.insert(header::CACHE_CONTROL, cache_control);
    http
}

/// The DNS query a request carries, or the status that says why not.
async fn dns_query(request: Request<Incoming>, settings: &DohSettings) -> Result<Vec<u8>, StatusCode> {
    if request.uri().path() != settings.path {
        return Err(StatusCode::NOT_FOUND);
    }
    match *request.method() {
        Method::GET => {
            let params = request.uri().query().unwrap_or("");
            let encoded = params.split('&').find_map(|p| p.strip_prefix("dns=")).ok_or(StatusCode::BAD_REQUEST)?;
            if encoded.len() > BASE64URL_NOPAD.encode_len(MAX_MESSAGE) {
                return Err(StatusCode::URI_TOO_LONG);
            }
            BASE64URL_NOPAD.decode(encoded.as_bytes()).map_err(|_| StatusCode::BAD_REQUEST)
        }
        Method::POST => {
            let media_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            if media_type.is_none_or(|m| !m.eq_ignore_ascii_case(MEDIA_TYPE)) {
                return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            }
            let body = Limited::new(request.into_body(), MAX_MESSAGE).collect();
            match timeout(settings.idle, body).await {
                Ok(Ok(body)) => Ok(body.to_bytes().to_vec()),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(StatusCode::PAYLOAD_TOO_LARGE),
                Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
                Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
            }
        }
        _ => Err(StatusCode::METHOD_NOT_ALLOWED),
    }
}

fn status_only(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

//! Where a warm start reads its hot names: a file (a peer's `anycastd ctl
//! dump-hot` saved), or a peer's metrics address over HTTP (`/hot`).
//! Bounded in time and size, whatever the other end does.

use std::{path::PathBuf, time::Duration};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::{Body, Bytes};
use hyper_util::rt::TokioIo;
use tokio::{io::AsyncReadExt, net::TcpStream};

/// Where the hot names come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarmSource {
    /// A listing on disk.
    File(PathBuf),
    /// A peer's `/hot` (or another path) over plain HTTP.
    Http(http::Uri),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{what} is over {limit} bytes")]
    TooLarge { what: String, limit: usize },
    #[error("{what} did not answer within {within:?}")]
    Timeout { what: String, within: Duration },
    #[error("connecting to {uri}: {source}")]
    Connect { uri: http::Uri, source: std::io::Error },
    #[error("asking {uri}: {source}")]
    Http { uri: http::Uri, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("{uri} answered {status}")]
    Status { uri: http::Uri, status: http::StatusCode },
    #[error("{what} is not UTF-8 text")]
    NotText { what: String },
}

impl WarmSource {
    /// Reads the source whole: at most `limit` bytes, within `within`.
    pub async fn fetch(&self, limit: usize, within: Duration) -> Result<String, FetchError> {
        let what = self.to_string();
        let bytes = match tokio::time::timeout(within, self.read(limit)).await {
            Ok(read) => read?,
            Err(_) => return Err(FetchError::Timeout { what, within }),
        };
        String::from_utf8(bytes).map_err(|_| FetchError::NotText { what })
    }

    async fn read(&self, limit: usize) -> Result<Vec<u8>, FetchError> {
        match self {
            WarmSource::File(path) => read_file(path, limit).await,
            WarmSource::Http(uri) => get(uri, limit).await,
        }
    }
}

impl std::fmt::Display for WarmSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WarmSource::File(path) => write!(f, "{}", path.display()),
            WarmSource::Http(uri) => write!(f, "{uri}"),
        }
    }
}

async fn read_file(path: &PathBuf, limit: usize) -> Result<Vec<u8>, FetchError> {
    let read = |source| FetchError::Read { path: path.clone(), source };
    let file = tokio::fs::File::open(path).await.map_err(read)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes).await.map_err(read)?;
    if bytes.len() > limit {
        return Err(FetchError::TooLarge { what: path.display().to_string(), limit });
    }
    Ok(bytes)
}

/// `GET uri` over one HTTP/1.1 connection; the body if the status is 200.
async fn get(uri: &http::Uri, limit: usize) -> Result<Vec<u8>, FetchError> {
    let http = |source: Box<dyn std::error::Error + Send + Sync>| FetchError::Http { uri: uri.clone(), source };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let address = if uri.port().is_some() { authority.to_string() } else { format!("{authority}:80") };
    let stream =
        TcpStream::connect(&address).await.map_err(|source| FetchError::Connect { uri: uri.clone(), source })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| http(e.into()))?;
    // The connection is driven here until the body is read, then dropped.
    let drive = tokio::spawn(connection);
    let request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| http(e.into()))?;
    let response = sender.send_request(request).await.map_err(|e| http(e.into()));
    let body = match response {
        // A length over the limit is refused before a byte of the body.
        Ok(response) if response.body().size_hint().lower() > limit as u64 => {
            drive.abort();
            return Err(FetchError::TooLarge { what: uri.to_string(), limit });
        }
        Ok(response) if response.status() == http::StatusCode::OK => {
            Limited::new(response.into_body(), limit).collect().await.map(|b| b.to_bytes().to_vec())
        }
        Ok(response) => {
            drive.abort();
            return Err(FetchError::Status { uri: uri.clone(), status: response.status() });
        }
        Err(e) => {
            drive.abort();
            return Err(e);
        }
    };
    drive.abort();
    body.map_err(|e| match e.downcast::<http_body_util::LengthLimitError>() {
        Ok(_) => FetchError::TooLarge { what: uri.to_string(), limit },
        Err(e) => http(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A peer that answers one request with `response` (raw bytes).
    async fn peer(response: &'static [u8]) -> http::Uri {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head).await;
            let _ = stream.write_all(response).await;
            // Held open: only the length ends the body.
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        format!("http://{address}/hot?n=10").parse().unwrap()
    }

    #[tokio::test]
    async fn a_peer_is_read_over_http_within_bounds() {
        let ok = peer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        assert_eq!(WarmSource::Http(ok).fetch(100, Duration::from_secs(2)).await.unwrap(), "hello");
        let cases: [(&str, &'static [u8], &str); 3] = [
            ("a 404", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "answered 404"),
            ("a body over the limit", b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nxxxx", "over 100 bytes"),
            ("a peer that never answers", b"", "did not answer within"),
        ];
        for (what, response, said) in cases {
            let source = WarmSource::Http(peer(response).await);
            let e = source.fetch(100, Duration::from_millis(500)).await.expect_err(what);
            assert!(e.to_string().contains(said), "{what}: {e}");
        }
        let nobody = WarmSource::Http("http://127.0.0.1:1/hot".parse().unwrap());
        let e = nobody.fetch(100, Duration::from_secs(2)).await.expect_err("nobody listens");
        assert!(matches!(e, FetchError::Connect { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_file_is_read_within_bounds() {
        let dir = std::env::temp_dir().join(format!("anycast-warm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hot.txt");
        std::fs::write(&path, "x".repeat(50)).unwrap();
        let file = WarmSource::File(path.clone());
        assert_eq!(file.fetch(50, Duration::from_secs(1)).await.unwrap().len(), 50);
        let e = file.fetch(49, Duration::from_secs(1)).await.expect_err("over the limit");
        assert!(e.to_string().contains("over 49 bytes"), "{e}");
        let missing = WarmSource::File(dir.join("missing"));
        assert!(matches!(missing.fetch(50, Duration::from_secs(1)).await, Err(FetchError::Read { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

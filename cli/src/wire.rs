//! Sends requests over real HTTP (plain `http://` only) and reads the whole answer.

use std::time::Duration;

use bytes::Bytes;

/// The most of a response body read (16 MiB); a longer answer is an error.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A blocking HTTP/1.1 client that reports every status as a response (4xx and 5xx are
/// answers to compare, not errors). Cheap to clone; keeps connections alive.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// A client whose every exchange (connect, send, read) must finish within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// Sends `request` (its URI must be absolute: `http://host:port/path?query`) and returns
    /// the status, headers and whole body.
    ///
    /// # Errors
    /// A message when the endpoint cannot be reached, the exchange times out, the URL is not
    /// `http://`, or the body exceeds [`MAX_RESPONSE_BYTES`].
    pub fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, String> {
        let uri = request.uri().to_string();
        let (parts, body) = request.into_parts();
        let sent = if body.is_empty() {
            self.agent.run(http::Request::from_parts(parts, ()))
        } else {
            self.agent
                .run(http::Request::from_parts(parts, body.as_ref()))
        };
        let response = sent.map_err(|e| format!("{uri}: {e}"))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| format!("{uri}: reading the answer: {e}"))?;
        Ok(http::Response::from_parts(parts, Bytes::from(bytes)))
    }
}

impl Default for Client {
    /// A client with a 10-second timeout (WeChat itself gives up after 5 seconds).
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

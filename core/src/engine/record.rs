//! Recording live callbacks: each exchange handed, after the answer, to a [`Recorder`] that
//! writes it somewhere off the request path (`wxcb serve` and the examples write fixture files
//! with `wechat_callback_cli::record`).

use std::sync::Arc;

use bytes::Bytes;

use super::{Engine, Received, RequestParts};
use crate::error::Error;
use crate::query::CallbackQuery;

/// One request and its answer, as an adapter saw them: what a [`Recorder`] gets. The body and
/// answer are shared, not copied. Its `Debug` shows neither the query nor the bodies (they
/// carry message content).
#[derive(Clone)]
#[non_exhaustive]
pub struct Exchange {
    /// The engine that answered: [`Engine::inspect`] opens the request again (off the request
    /// path) for the fields; [`Engine::config`] and [`Engine::account_id`] name the account.
    pub engine: Arc<Engine>,
    /// The request method (`GET`, `POST`, …).
    pub method: Box<str>,
    /// The query string as received.
    pub query: CallbackQuery,
    /// The request body as received.
    pub body: Bytes,
    /// The `$APPID$` / `$CORPID$` the callback arrived for (`/wechat/{id}/{on_behalf_of}`).
    pub on_behalf_of: Option<Box<str>>,
    /// The HTTP status answered.
    pub status: u16,
    /// The body answered, as sent (an encrypted reply's envelope).
    pub response_body: Bytes,
    /// The engine's clock when the request was received, Unix seconds.
    pub received_at: u64,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("account", &self.engine.account_id())
            .field("method", &self.method)
            .field("body_bytes", &self.body.len())
            .field("status", &self.status)
            .field("received_at", &self.received_at)
            .finish_non_exhaustive()
    }
}

/// Where an engine hands each exchange ([`Engine::with_recorder`]). Called on the request
/// path after the answer is made, so it must return at once: queue the exchange (bounded) for
/// a thread or task that writes it.
pub trait Recorder: Send + Sync + 'static {
    /// Takes one exchange.
    fn record(&self, exchange: Exchange);
}

/// What an adapter keeps of a request to record it once answered: taken only when the engine
/// has a recorder.
pub(crate) struct Pending {
    method: Box<str>,
    query: CallbackQuery,
    body: Bytes,
    on_behalf_of: Option<Box<str>>,
    received_at: u64,
}

impl Pending {
    pub(crate) fn of_request(engine: &Engine, request: &http::Request<Bytes>) -> Option<Self> {
        engine.recorder.as_ref()?;
        Some(Self {
            method: request.method().as_str().into(),
            query: CallbackQuery::from_uri(request.uri()),
            body: request.body().clone(),
            on_behalf_of: None,
            received_at: engine.now(),
        })
    }

    pub(crate) fn of_parts(engine: &Engine, parts: &RequestParts<'_>) -> Option<Self> {
        engine.recorder.as_ref()?;
        Some(Self {
            method: parts.method.into(),
            query: parts.query.clone(),
            body: parts.body.clone(),
            on_behalf_of: parts.on_behalf_of.map(Into::into),
            received_at: engine.now(),
        })
    }

    /// Hands the exchange to the engine's recorder.
    pub(crate) fn answered(self, engine: &Arc<Engine>, response: &http::Response<Bytes>) {
        let Some(recorder) = &engine.recorder else {
            return;
        };
        recorder.record(Exchange {
            engine: Arc::clone(engine),
            method: self.method,
            query: self.query,
            body: self.body,
            on_behalf_of: self.on_behalf_of,
            status: response.status().as_u16(),
            response_body: response.body().clone(),
            received_at: self.received_at,
        });
    }
}

impl Engine {
    /// Hands every exchange the adapters answer ([`adapter::handle`](crate::adapter::handle),
    /// [`adapter::handle_parts`](crate::adapter::handle_parts)) to `recorder` (see
    /// [`Recorder`]). Without one, nothing is kept and nothing copied.
    #[must_use]
    pub fn with_recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Verifies and opens a request as [`Engine::process`] does, without running handlers,
    /// asking the dedup store or recording a nonce, metrics or spans: what a recorder uses to
    /// describe an exchange after the fact. The timestamp window is checked against the
    /// engine's clock.
    ///
    /// # Errors
    /// Any failed check, as listed on [`crate::ErrorKind`].
    pub fn inspect(&self, parts: RequestParts<'_>) -> Result<Received, Error> {
        self.open_checked(
            parts.method,
            parts.query,
            &parts.body,
            parts.on_behalf_of,
            false,
        )
    }
}

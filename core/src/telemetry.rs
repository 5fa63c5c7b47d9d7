//! What each callback leaves behind: one `tracing` span and its metrics (through the
//! `metrics` facade, so any recorder the application installs gets them; none, and they cost
//! next to nothing).
//!
//! - Span `wechat_callback` (level `DEBUG`, like tower-http's request spans: a formatting
//!   subscriber at `INFO` would format its fields for every callback), fields `account`,
//!   `kind` ([`Kind::label`](crate::message::Kind::label)), `msg_id`, `outcome`, `status`
//!   and `handler_ms`; never content, openids or secrets.
//! - Counter [`CALLBACKS_TOTAL`], labels `account`, `kind` and `outcome`: `ok`, an error class
//!   ([`ErrorKind::class`](crate::ErrorKind::class): `signature`, `xml`, …), `deduplicated`
//!   (a retry answered from the dedup store) or `late` (the deadline answered `success`).
//! - Histogram [`HANDLER_SECONDS`], labels `account` and `kind`: seconds from the callback's
//!   body being read to the handlers' reply, for the callbacks answered in time.
//! - Counter [`DEDUP_STORE_ERRORS`], labels `account` and `op` (`claim`, `check_nonce`,
//!   `wait`, `complete`, `release`): a shared dedup store (Redis) that failed to answer; the
//!   engine went on without deduplication, or refused with 503 when fail-closed.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tracing::field::Empty;

/// The counter of callbacks: `wechat_callbacks_total{account, kind, outcome}`.
pub const CALLBACKS_TOTAL: &str = "wechat_callbacks_total";
/// The histogram of handler time in seconds: `wechat_handler_seconds{account, kind}`.
pub const HANDLER_SECONDS: &str = "wechat_handler_seconds";

/// The counter of shared dedup store failures: `wechat_dedup_store_errors_total{account, op}`.
pub const DEDUP_STORE_ERRORS: &str = "wechat_dedup_store_errors_total";

/// The `kind` label of a request refused before its kind was known.
pub(crate) const KIND_NONE: &str = "none";
/// The `kind` label of URL verification.
pub(crate) const KIND_ECHOSTR: &str = "echostr";

/// The span of one received callback, its outcome to be recorded by [`finish`]. Its fields
/// are read only when a subscriber wants the span (the `MsgId` lookup included).
pub(crate) fn span(account: &str, callback: &crate::Callback) -> tracing::Span {
    tracing::debug_span!(
        "wechat_callback",
        account,
        kind = callback.kind().label(),
        msg_id = callback.fields().child_text("MsgId").unwrap_or(""),
        outcome = Empty,
        status = Empty,
        handler_ms = Empty,
    )
}

/// The span of a request that ended where it began: URL verification, a refusal.
pub(crate) fn short_span(account: &str, kind: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "wechat_callback",
        account,
        kind,
        msg_id = "",
        outcome = Empty,
        status = Empty,
        handler_ms = Empty,
    )
}

/// Counts a failure of a shared dedup store's `op` for `account` ([`DEDUP_STORE_ERRORS`]);
/// for stores that fail in the background (their writes) as well as for the engine.
pub fn store_error(account: &str, op: &'static str) {
    metrics::counter!(
        DEDUP_STORE_ERRORS,
        "account" => account.to_owned(),
        "op" => op,
    )
    .increment(1);
}

/// One engine's metric handles, registered with the installed recorder on first use and
/// reused after: the `metrics` macros build their label set (an allocation) and look the
/// metric up in the recorder on every call, which for a callback costs more than the rest of
/// its bookkeeping. A recorder installed after an engine's first callback does not see that
/// engine's metrics: install it first, as exporters' set-up does.
///
/// The maps hash with `foldhash`, not the standard library's SipHash: their keys are the
/// crate's own label constants, which no sender chooses, and SipHash made up two fifths of
/// a callback's telemetry (callgrind, reference corpus: 920 instructions, 560 with foldhash).
#[derive(Default)]
pub(crate) struct Handles {
    /// [`CALLBACKS_TOTAL`] by `(kind, outcome)`.
    callbacks: RwLock<LabelMap<(&'static str, &'static str), metrics::Counter>>,
    /// [`HANDLER_SECONDS`] by `kind`.
    handler_seconds: RwLock<LabelMap<&'static str, metrics::Histogram>>,
}

/// A map keyed by label constants.
type LabelMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

impl Handles {
    fn count(&self, account: &Arc<str>, kind: &'static str, outcome: &'static str) {
        if let Some(counter) = read(&self.callbacks).get(&(kind, outcome)) {
            counter.increment(1);
            return;
        }
        let counter = metrics::counter!(
            CALLBACKS_TOTAL,
            "account" => Arc::clone(account),
            "kind" => kind,
            "outcome" => outcome,
        );
        counter.increment(1);
        write(&self.callbacks).insert((kind, outcome), counter);
    }

    fn time(&self, account: &Arc<str>, kind: &'static str, seconds: f64) {
        if let Some(histogram) = read(&self.handler_seconds).get(kind) {
            histogram.record(seconds);
            return;
        }
        let histogram = metrics::histogram!(
            HANDLER_SECONDS,
            "account" => Arc::clone(account),
            "kind" => kind,
        );
        histogram.record(seconds);
        write(&self.handler_seconds).insert(kind, histogram);
    }
}

/// A poisoned lock still holds good handles: nothing is left half-written under it.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Records a callback's end: the span's `outcome`, `status` and `handler_ms`, the counter and,
/// when the handlers answered, the histogram.
pub(crate) fn finish(
    span: &tracing::Span,
    handles: &Handles,
    account: &Arc<str>,
    kind: &'static str,
    outcome: &'static str,
    status: http::StatusCode,
    handler: Option<Duration>,
) {
    span.record("outcome", outcome);
    span.record("status", status.as_u16());
    handles.count(account, kind, outcome);
    if let Some(handler) = handler {
        span.record("handler_ms", handler.as_secs_f64() * 1000.0);
        handles.time(account, kind, handler.as_secs_f64());
    }
    let _entered = span.enter();
    tracing::debug!(outcome, status = status.as_u16(), "callback answered");
}

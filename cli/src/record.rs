//! Recording live callbacks as fixture files, and reading them back (`wxcb records`).
//!
//! [`start`] gives a [`Recorder`] for [`Engine::with_recorder`](wechat_callback::Engine::with_recorder):
//! on the request path it only admits the exchange (at most [`RecordOptions::max_per_second`])
//! and queues it (bounded in exchanges and in bytes: a full queue drops it, counted); a thread of its own opens each
//! request again ([`Engine::inspect`](wechat_callback::Engine::inspect)) and writes it as a
//! fixture (`fixture-format.md`) named `rec-{UTC time}-{sequence}-{account}-{kind}.json`,
//! removing the oldest recordings beyond [`RecordOptions::max_files`] or
//! [`RecordOptions::max_bytes`].
//!
//! A recording carries no secret: `config` names the account (`"account": "main"`) instead of
//! its token and EncodingAESKey, which `wxcb replay --config accounts.toml DIR` takes from the
//! accounts file. It does carry what WeChat sent (the query with its signatures, the body,
//! the decrypted fields) and what was answered (`recorded.status`, `recorded.response_body`,
//! `recorded.reply`: the reply decrypted), so treat the folder as you treat message logs.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value, json};
use wechat_callback::adapter::RequestParts;
use wechat_callback::crypto::EncryptedReply;
use wechat_callback::recording::{Exchange, Recorder};
use wechat_callback::{BodyFormat, Received};

use crate::fixture::{Described, Fixture, FixtureConfig, class};

/// How much a recorder keeps, and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordOptions {
    /// The folder the fixtures go to (created if missing).
    pub dir: PathBuf,
    /// Exchanges recorded per second at most (the rest dropped, counted): 50.
    pub max_per_second: u32,
    /// Recordings kept at most; the oldest are removed: 10,000.
    pub max_files: usize,
    /// Bytes of recordings kept at most; the oldest are removed: 256 MiB.
    pub max_bytes: u64,
    /// Exchanges waiting for the writer at most (the rest dropped, counted): 1,024.
    pub queue: usize,
    /// Bytes of request and answer bodies waiting for the writer at most (the rest dropped,
    /// counted): 32 MiB, so a burst of large bodies cannot hold much memory.
    pub queue_bytes: usize,
}

impl RecordOptions {
    /// The defaults, writing to `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_per_second: 50,
            max_files: 10_000,
            max_bytes: 256 << 20,
            queue: 1024,
            queue_bytes: 32 << 20,
        }
    }

    /// With at most `n` recordings a second.
    #[must_use]
    pub fn max_per_second(mut self, n: u32) -> Self {
        self.max_per_second = n;
        self
    }

    /// With at most `n` recordings kept.
    #[must_use]
    pub fn max_files(mut self, n: usize) -> Self {
        self.max_files = n.max(1);
        self
    }

    /// With at most `bytes` of bodies waiting for the writer.
    #[must_use]
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// With at most `bytes` of recordings kept.
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }
}

/// The recorder [`start`] gives: admits, queues, counts what it drops.
#[derive(Debug)]
pub struct FixtureRecorder {
    sender: SyncSender<Exchange>,
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    max_per_second: u32,
    window: Mutex<(u64, u32)>,
    dropped: AtomicU64,
}

impl FixtureRecorder {
    /// Exchanges not recorded: over the rate, or the queue full (in exchanges or bytes).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether one more exchange fits in this second's allowance.
    fn admit(&self) -> bool {
        let second = crate::build::now();
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.0 != second {
            *window = (second, 0);
        }
        window.1 += 1;
        window.1 <= self.max_per_second
    }
}

impl Recorder for FixtureRecorder {
    fn record(&self, exchange: Exchange) {
        let bytes = exchange_bytes(&exchange);
        let fits = || {
            self.queued_bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                    (queued + bytes <= self.max_queued_bytes).then_some(queued + bytes)
                })
                .is_ok()
        };
        let queued = self.admit()
            && fits()
            && match self.sender.try_send(exchange) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                    false
                }
            };
        if !queued
            && self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
        {
            tracing::warn!(
                dropped = self.dropped(),
                "recording: over the rate or the queue full; exchanges not recorded"
            );
        }
    }
}

/// The bytes an exchange holds while queued: its request and answer bodies.
fn exchange_bytes(exchange: &Exchange) -> usize {
    exchange.body.len() + exchange.response_body.len()
}

/// Starts a recorder writing to `options.dir`, with its writer thread.
///
/// # Errors
/// The folder cannot be created or read.
pub fn start(options: RecordOptions) -> std::io::Result<Arc<FixtureRecorder>> {
    std::fs::create_dir_all(&options.dir)?;
    let mut kept: Vec<(PathBuf, u64)> = std::fs::read_dir(&options.dir)?
        .filter_map(Result::ok)
        .filter(|entry| is_recording(&entry.path()))
        .filter_map(|entry| Some((entry.path(), entry.metadata().ok()?.len())))
        .collect();
    kept.sort();
    let (sender, receiver) = std::sync::mpsc::sync_channel(options.queue.max(1));
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let writer = Writer {
        queued_bytes: Arc::clone(&queued_bytes),
        bytes: kept.iter().map(|(_, size)| size).sum(),
        kept: kept.into(),
        sequence: 0,
        options: options.clone(),
    };
    std::thread::Builder::new()
        .name("wxcb-recorder".into())
        .spawn(move || writer.run(&receiver))?;
    Ok(Arc::new(FixtureRecorder {
        sender,
        queued_bytes,
        max_queued_bytes: options.queue_bytes,
        max_per_second: options.max_per_second,
        window: Mutex::new((0, 0)),
        dropped: AtomicU64::new(0),
    }))
}

/// The recorder `WECHAT_RECORD_DIR` asks for (the defaults of [`RecordOptions`]), or `None`
/// when it is unset or empty.
///
/// # Errors
/// The folder cannot be created or read, naming the variable.
pub fn from_env() -> Result<Option<Arc<FixtureRecorder>>, String> {
    let Some(dir) = std::env::var_os("WECHAT_RECORD_DIR").filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let shown = Path::new(&dir).display().to_string();
    start(RecordOptions::new(dir))
        .map(Some)
        .map_err(|e| format!("WECHAT_RECORD_DIR {shown}: {e}"))
}

fn is_recording(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("rec-") && n.ends_with(".json"))
}

struct Writer {
    queued_bytes: Arc<AtomicUsize>,
    kept: VecDeque<(PathBuf, u64)>,
    bytes: u64,
    sequence: u64,
    options: RecordOptions,
}

impl Writer {
    fn run(mut self, receiver: &Receiver<Exchange>) {
        for exchange in receiver {
            self.sequence += 1;
            let fixture = fixture_of(&exchange, self.sequence);
            self.queued_bytes
                .fetch_sub(exchange_bytes(&exchange), Ordering::AcqRel);
            drop(exchange);
            let Some(fixture) = fixture else {
                continue;
            };
            let path = self.options.dir.join(format!("{}.json", fixture.name));
            let text = serde_json::to_string_pretty(&fixture).unwrap_or_default() + "\n";
            // Written aside, then renamed: a reader (`wxcb records`, a replay) never sees a
            // half-written recording. The oldest are removed before the rename, so the
            // directory never holds more than `max_files` finished recordings, not even for
            // a moment.
            let partial = path.with_extension("json.partial");
            let size = text.len() as u64;
            let written = std::fs::write(&partial, &text).and_then(|()| {
                self.make_room(size);
                std::fs::rename(&partial, &path)
            });
            if let Err(error) = written {
                let _ = std::fs::remove_file(&partial);
                tracing::warn!(%error, dir = %self.options.dir.display(), "recording: cannot write");
                continue;
            }
            self.kept.push_back((path, size));
            self.bytes += size;
        }
    }

    /// Removes the oldest recordings until one more of `size` bytes fits under `max_files`
    /// and `max_bytes` (a recording larger than `max_bytes` alone is still kept).
    fn make_room(&mut self, size: u64) {
        while self.kept.len() >= self.options.max_files
            || (self.bytes + size > self.options.max_bytes && !self.kept.is_empty())
        {
            let Some((oldest, oldest_size)) = self.kept.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(oldest_size);
            let _ = std::fs::remove_file(oldest);
        }
    }
}

/// The fixture for one exchange; `None` for a body that is not UTF-8 (the fixture format keeps
/// bodies as text).
pub fn fixture_of(exchange: &Exchange, sequence: u64) -> Option<Fixture> {
    let engine = &exchange.engine;
    let config = engine.config();
    let body = String::from_utf8(exchange.body.to_vec()).ok()?;
    let account = engine
        .account_id()
        .unwrap_or(config.receive_id().as_str())
        .to_owned();
    let on_behalf_of = exchange.on_behalf_of.as_deref();
    let opened = engine.inspect(RequestParts {
        method: &exchange.method,
        query: exchange.query.clone(),
        body: exchange.body.clone(),
        on_behalf_of,
    });
    let mut expect = Map::new();
    let mut label = "error".to_owned();
    match &opened {
        Ok(Received::Echostr(echostr)) => {
            expect.insert("outcome".into(), json!("ok"));
            expect.insert("kind".into(), json!("echostr"));
            expect.insert("response_body".into(), json!(echostr));
            label = "echostr".into();
        }
        Ok(Received::Message(callback)) => {
            let described = Described::new(callback);
            label = described
                .event
                .clone()
                .or_else(|| described.msg_type.clone())
                .unwrap_or_else(|| described.kind.to_owned());
            expect.insert("outcome".into(), json!("ok"));
            expect.insert("kind".into(), json!(described.kind));
            expect.insert("msg_type".into(), json!(described.msg_type));
            expect.insert("event".into(), json!(described.event));
            expect.insert("fields".into(), described.fields);
        }
        Ok(_) => {}
        Err(error) => {
            expect.insert("outcome".into(), json!("error"));
            expect.insert("error".into(), json!(class(error.kind())));
        }
    }
    let response_body = String::from_utf8_lossy(&exchange.response_body).into_owned();
    let mut recorded = json!({
        "at": exchange.received_at,
        "status": exchange.status,
        "response_body": response_body,
    });
    if let Some(reply) = opened_reply(exchange, &opened) {
        recorded["reply"] = json!(reply);
    }
    let name = format!(
        "rec-{}-{sequence:06}-{}-{}",
        compact_utc(exchange.received_at),
        sanitized(&account),
        sanitized(&label.to_lowercase())
    );
    Some(Fixture {
        source: Some(format!("recorded {}", utc(exchange.received_at))),
        name,
        method: exchange.method.to_string(),
        query: Map::new(),
        query_string: Some(exchange.query.as_str().to_owned()),
        body,
        config: FixtureConfig::from_config(config, exchange.received_at, on_behalf_of)
            .without_secrets(&account),
        expect,
        recorded: Some(recorded),
    })
}

/// The reply answered, in plaintext: as sent, or its envelope opened.
fn opened_reply(
    exchange: &Exchange,
    opened: &Result<Received, wechat_callback::Error>,
) -> Option<String> {
    let Ok(Received::Message(callback)) = opened else {
        return None;
    };
    let body = std::str::from_utf8(&exchange.response_body).ok()?;
    if body.is_empty() || body == "success" || exchange.status != 200 {
        return None;
    }
    if !callback.is_encrypted() {
        return Some(body.to_owned());
    }
    let envelope = match callback.format() {
        BodyFormat::Json => EncryptedReply::from_json(body).ok()?,
        _ => EncryptedReply::from_xml(body).ok()?,
    };
    let crypt = wechat_callback::adapter::crypt(&exchange.engine)?;
    envelope.open(crypt, exchange.engine.config().token()).ok()
}

fn sanitized(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

/// Days since 1970-01-01 as (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) as days since 1970-01-01 (`days_from_civil`).
fn days(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `2026-11-21T10:15:00Z`.
pub fn utc(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let (year, month, day) = civil(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Unix seconds as `20261121T101500Z` (for file names).
fn compact_utc(secs: u64) -> String {
    utc(secs).replace(['-', ':'], "")
}

/// A time as `wxcb records` takes it: Unix seconds, or UTC `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`
/// or `YYYY-MM-DDTHH:MM:SS` (a trailing `Z` allowed).
///
/// # Errors
/// Anything else.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?}: a time is Unix seconds or YYYY-MM-DD[THH:MM[:SS]] (UTC)");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| bad());
    }
    let text = text.trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00:00"));
    let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let mut date_parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
    ) else {
        return Err(bad());
    };
    let (year, month, day) = (i64::from(number(y)?), number(m)?, number(d)?);
    let mut clock = time.split(':').map(number);
    let hour = clock.next().transpose()?.unwrap_or(0);
    let minute = clock.next().transpose()?.unwrap_or(0);
    let second = clock.next().transpose()?.unwrap_or(0);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let secs = days(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    u64::try_from(secs).map_err(|_| bad())
}

/// One recording as `wxcb records` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    /// The file.
    pub path: PathBuf,
    /// When it was received, Unix seconds.
    pub at: u64,
    /// The account's id.
    pub account: String,
    /// `message`, `event`, `info`, `echostr`, or empty for a refused request.
    pub kind: String,
    /// `MsgType`.
    pub msg_type: Option<String>,
    /// `Event` (or `InfoType`), lower-cased.
    pub event: Option<String>,
    /// `FromUserName`: the sender's openid (WeCom: userid).
    pub sender: Option<String>,
    /// `ok`, or the error class of a refused request.
    pub outcome: String,
    /// The status answered.
    pub status: Option<u64>,
    /// `Content` of a text message.
    pub content: Option<String>,
}

impl Record {
    /// Reads a fixture as a record; `None` for one that is not a recording.
    pub fn of(path: &Path, fixture: &Fixture) -> Option<Self> {
        let recorded = fixture.recorded.as_ref()?;
        let expect = &fixture.expect;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let fields = expect.get("fields");
        Some(Self {
            path: path.to_owned(),
            at: fixture.config.now,
            account: fixture.config.account.clone().unwrap_or_default(),
            kind: text(expect.get("kind")).unwrap_or_default(),
            msg_type: text(expect.get("msg_type")),
            event: text(expect.get("event")),
            sender: text(fields.and_then(|f| f.get("FromUserName"))),
            outcome: match text(expect.get("outcome")).as_deref() {
                Some("error") => text(expect.get("error")).unwrap_or_else(|| "error".into()),
                _ => "ok".into(),
            },
            status: recorded.get("status").and_then(Value::as_u64),
            content: text(fields.and_then(|f| f.get("Content"))),
        })
    }

    /// Whether `kind` names this record: its kind, `MsgType` or `Event` (any case).
    pub fn is_kind(&self, kind: &str) -> bool {
        [
            Some(&self.kind),
            self.msg_type.as_ref(),
            self.event.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|k| k.eq_ignore_ascii_case(kind))
    }

    /// One line: time, account, kind, sender, outcome and status, text, file name.
    pub fn line(&self) -> String {
        let kind = self
            .event
            .as_deref()
            .or(self.msg_type.as_deref())
            .unwrap_or(&self.kind);
        let mut content = self.content.clone().unwrap_or_default();
        if content.chars().count() > 40 {
            content = content.chars().take(39).collect::<String>() + "…";
        }
        format!(
            "{}  {}  {}  {}  {} {}  {}  {}",
            utc(self.at),
            self.account,
            if kind.is_empty() { "-" } else { kind },
            self.sender.as_deref().unwrap_or("-"),
            self.outcome,
            self.status.map_or_else(|| "-".into(), |s| s.to_string()),
            if content.is_empty() {
                "-".into()
            } else {
                format!("{content:?}")
            },
            self.path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13"), Ok(1_699_999_980));
        assert_eq!(parse_time("2000-02-29"), Ok(951_782_400));
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000));
        assert_eq!(compact_utc(1_700_000_000), "20231114T221320Z");
        for bad in ["yesterday", "2023-13-01", "2023-11-14T25:00", "2023-11", ""] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        for secs in [0, 86_399, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_time(&utc(secs)), Ok(secs));
        }
    }

    #[test]
    fn names_keep_to_safe_characters() {
        assert_eq!(sanitized("main"), "main");
        assert_eq!(sanitized("../etc/passwd"), "___etc_passwd");
        assert!(is_recording(Path::new("/x/rec-1.json")));
        assert!(!is_recording(Path::new("/x/msg_text.json")));
    }
}

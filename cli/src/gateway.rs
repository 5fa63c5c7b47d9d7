//! `wxcb serve`: a ready WeChat callback server for a bot written in any language. The engine
//! verifies, decrypts, deduplicates and answers; each callback is POSTed as JSON to the
//! backend (`--forward URL`), whose JSON answer becomes the reply, within the deadline.
//!
//! Forwarded body (`Content-Type: application/json`):
//!
//! ```json
//! {"account": "main", "platform": "mp", "kind": "message", "msg_type": "text", "event": null,
//!  "fields": {"ToUserName": "gh_…", "FromUserName": "o…", "CreateTime": "…", "MsgType": "text",
//!             "Content": "hello", "MsgId": "…"}}
//! ```
//!
//! `account` is the accounts file's id (one account from `WECHAT_*`: its appid), `platform`
//! the file's name for it (`mp`, `miniprogram`, `wecom`, `open_platform`, `wecom_suite`),
//! `kind`, `msg_type`, `event` and `fields` as in the fixture format (`fixture-format.md`:
//! `fields` is the decrypted message as a JSON tree, every value a string). With a secret, the
//! header [`SIGNATURE_HEADER`] is `sha256=` and the lowercase hex HMAC-SHA256 of the body
//! under the secret (as GitHub signs its webhooks), for the backend to check.
//!
//! Answer: `{"reply": {"type": "text", "content": "…"}}`, or another reply type (see
//! [`reply_from_json`]); `{}`, `{"reply": null}` or a 204 for `success`. A backend that is slow
//! (past the deadline), fails (a status other than 200 or 204, an answer that is not such JSON)
//! or cannot be reached gets the user `success` and a `warn` line; WeChat does not retry then.
//! Retries of a message are answered from the dedup store, so the backend sees each message once.
//!
//! With `WECHAT_RECORD_DIR` set, every callback is also recorded there as a fixture
//! ([`crate::record`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Deserialize;
use serde_json::json;
use wechat_callback::reply::{Article, MusicReply, Reply, VideoReply};
use wechat_callback::{Callback, Platform, Router, blocking};

use crate::fixture::Described;
use crate::wire::Client;

/// The header carrying the body's signature: `sha256=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Wechat-Callback-Signature";

/// How much of the deadline is kept back for the answer to be encrypted and sent: the backend
/// has the deadline less this (at least 100 ms).
pub const MARGIN: Duration = Duration::from_millis(200);

/// Where callbacks go: the backend's URL, the secret that signs them, the time allowed.
/// Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Forward {
    url: Arc<str>,
    secret: Option<Arc<[u8]>>,
    client: Client,
    timeout: Duration,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward")
            .field("url", &self.url)
            .field("signed", &self.secret.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Forward {
    /// Forwards to `url` (`http://` only), signing with `secret` when given, giving the
    /// backend `deadline` less [`MARGIN`] to answer.
    pub fn new(url: &str, secret: Option<&str>, deadline: Duration) -> Self {
        let timeout = deadline
            .saturating_sub(MARGIN)
            .max(Duration::from_millis(100));
        Self {
            url: Arc::from(url),
            secret: secret
                .filter(|s| !s.is_empty())
                .map(|s| Arc::from(s.as_bytes())),
            client: Client::new(timeout),
            timeout,
        }
    }

    /// The handlers of one account: every callback (message, event, `InfoType` push) to the
    /// backend, on the blocking pool (the forward waits for the backend's answer).
    pub fn router(&self, account: &str, platform: Platform) -> Router {
        let (forward, account) = (self.clone(), Arc::<str>::from(account));
        Router::new().fallback(blocking(move |callback: &Callback| {
            forward.call(&account, platform, callback)
        }))
    }

    /// POSTs `callback` to the backend and turns its answer into the reply; `None` (`success`)
    /// when there is no reply or the backend failed (logged at `warn`).
    pub fn call(&self, account: &str, platform: Platform, callback: &Callback) -> Option<Reply> {
        let body = forwarded_body(account, platform, callback);
        let mut request = http::Request::post(&*self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "wxcb-serve");
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, sign(secret, body.as_bytes()));
        }
        let kind = callback.kind().label();
        let request = match request.body(Bytes::from(body)) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(account, kind, %error, "forward URL not usable; answered success");
                return None;
            }
        };
        let started = Instant::now();
        let answered = self.client.send(request);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let problem = match answered {
            Ok(response) if response.status() == http::StatusCode::NO_CONTENT => return None,
            Ok(response) if response.status() == http::StatusCode::OK => {
                match reply_from_json(response.body()) {
                    Ok(reply) => return reply,
                    Err(problem) => problem,
                }
            }
            Ok(response) => format!("status {}", response.status().as_u16()),
            Err(_) if started.elapsed() >= self.timeout => {
                format!("no answer within {} ms", self.timeout.as_millis())
            }
            Err(error) => error,
        };
        tracing::warn!(
            account,
            kind,
            elapsed_ms,
            problem,
            "backend failed; answered success"
        );
        None
    }
}

/// Runs `wxcb serve` until Ctrl-C or SIGTERM: every account of the accounts file at
/// `accounts_file` (`/wechat/{id}`), or the one account of the `WECHAT_*` variables
/// (`/wechat`), on `WECHAT_ADDR`, each callback forwarded as `forward` says. Prints one line
/// when listening (no secrets). The deadline is `WECHAT_DEADLINE_MS` (default 4000).
///
/// # Errors
/// A message naming the variable, file or address that is not usable.
pub fn run(
    accounts_file: Option<&std::path::Path>,
    url: &str,
    secret: Option<&str>,
) -> Result<(), String> {
    use wechat_callback::Engine;
    use wechat_callback::accounts::Accounts;
    use wechat_callback_hyper::{Limits, accounts_service, serve_with, service, shutdown_signal};

    use crate::settings::{PATH, Settings};

    let settings = Settings::from_env()?;
    let deadline = settings.deadline.unwrap_or(Engine::DEFAULT_DEADLINE);
    let forward = Forward::new(url, secret, deadline);
    let recorder = crate::record::from_env()?;
    let recording = move |engine: Engine| match &recorder {
        Some(recorder) => engine.with_recorder(recorder.clone()),
        None => engine,
    };
    let (served, banner) = match accounts_file {
        Some(path) => {
            let shown = path.display();
            let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
            let accounts = Accounts::from_file(
                &text,
                |name| std::env::var(name).ok(),
                |account| forward.router(account.id(), account.config().platform()),
                |_, engine| recording(engine.with_deadline(deadline)),
            )
            .map_err(|e| format!("{shown}: {e}"))?;
            let banner = format!(
                "wxcb serve: WeChat callbacks for {} accounts at http://{}{PATH}/{{id}}: {}; forwarding to {url}",
                accounts.len(),
                settings.addr,
                accounts.ids().collect::<Vec<_>>().join(", ")
            );
            (accounts_service(accounts), banner)
        }
        None => {
            let config = settings.config.clone();
            let account = config.receive_id().as_str().to_owned();
            let router = forward.router(&account, config.platform());
            let engine = Engine::new(config, router)
                .map_err(|e| e.to_string())?
                .with_account_id(account)
                .with_deadline(deadline);
            let engine = recording(engine);
            let banner = format!("{}; forwarding to {url}", settings.banner("wxcb serve"));
            (service(engine), banner)
        }
    };
    let served = served.at(PATH);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(settings.addr)
            .await
            .map_err(|e| format!("WECHAT_ADDR {}: {e}", settings.addr))?;
        println!("{banner}");
        serve_with(listener, served, Limits::default(), shutdown_signal())
            .await
            .map_err(|e| format!("serving: {e}"))
    })
}

/// The JSON POSTed for `callback` of `account` (see the [module docs](self)).
pub fn forwarded_body(account: &str, platform: Platform, callback: &Callback) -> String {
    let Described {
        kind,
        msg_type,
        event,
        fields,
    } = Described::new(callback);
    json!({
        "account": account,
        "platform": platform.name(),
        "kind": kind,
        "msg_type": msg_type,
        "event": event,
        "fields": fields,
    })
    .to_string()
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`: the value of
/// [`SIGNATURE_HEADER`].
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A backend's answer.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    reply: Option<WireReply>,
}

/// A reply as a backend writes it: `type` and the fields of that reply type.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum WireReply {
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        description: String,
    },
    Music {
        #[serde(default)]
        title: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        music_url: String,
        #[serde(default)]
        hq_music_url: String,
        #[serde(default)]
        thumb_media_id: String,
    },
    News {
        articles: Vec<WireArticle>,
    },
    TransferCustomerService {
        #[serde(default)]
        kf_account: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireArticle {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    pic_url: String,
    #[serde(default)]
    url: String,
}

/// A backend's JSON answer as a reply: `None` for `{}`, `{"reply": null}` or an empty body;
/// otherwise `{"reply": {"type": …}}` with the type's fields (the passive-reply fields of 公众号
/// “被动回复用户消息”, snake_case):
///
/// | `type` | fields |
/// |---|---|
/// | `text` | `content` |
/// | `image`, `voice` | `media_id` |
/// | `video` | `media_id`, `title`, `description` |
/// | `music` | `title`, `description`, `music_url`, `hq_music_url`, `thumb_media_id` |
/// | `news` | `articles`: 1 to 8 of `title`, `description`, `pic_url`, `url` |
/// | `transfer_customer_service` | `kf_account` (optional) |
///
/// # Errors
/// A message naming what is wrong (never the content): not JSON, an unknown type or field, a
/// news reply with no or more than 8 articles.
pub fn reply_from_json(body: &[u8]) -> Result<Option<Reply>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("answer is not a reply: {e}"))?;
    let Some(reply) = answer.reply else {
        return Ok(None);
    };
    Ok(Some(match reply {
        WireReply::Text { content } => Reply::text(content),
        WireReply::Image { media_id } => Reply::image(media_id),
        WireReply::Voice { media_id } => Reply::voice(media_id),
        WireReply::Video {
            media_id,
            title,
            description,
        } => Reply::video(VideoReply {
            media_id,
            title,
            description,
        }),
        WireReply::Music {
            title,
            description,
            music_url,
            hq_music_url,
            thumb_media_id,
        } => Reply::music(MusicReply {
            title,
            description,
            music_url,
            hq_music_url,
            thumb_media_id,
        }),
        WireReply::News { articles } => Reply::news(articles.into_iter().map(|a| Article {
            title: a.title,
            description: a.description,
            pic_url: a.pic_url,
            url: a.url,
        }))
        .map_err(|e| format!("news reply: {e}"))?,
        WireReply::TransferCustomerService { kf_account } => {
            Reply::transfer_customer_service(kf_account)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_type_reads() {
        let read = |json: &str| reply_from_json(json.as_bytes()).unwrap();
        assert_eq!(read("{}"), None);
        assert_eq!(read(""), None);
        assert_eq!(read(r#"{"reply": null}"#), None);
        assert_eq!(
            read(r#"{"reply": {"type": "text", "content": "你好"}}"#),
            Some(Reply::text("你好"))
        );
        assert_eq!(
            read(r#"{"reply": {"type": "image", "media_id": "m1"}}"#),
            Some(Reply::image("m1"))
        );
        assert_eq!(
            read(r#"{"reply": {"type": "voice", "media_id": "m2"}}"#),
            Some(Reply::voice("m2"))
        );
        assert!(matches!(
            read(r#"{"reply": {"type": "video", "media_id": "m3", "title": "t"}}"#),
            Some(Reply::Video(VideoReply { ref media_id, ref title, .. })) if media_id == "m3" && title == "t"
        ));
        assert!(matches!(
            read(r#"{"reply": {"type": "music", "music_url": "http://x/m.mp3", "thumb_media_id": "t"}}"#),
            Some(Reply::Music(MusicReply { ref music_url, .. })) if music_url == "http://x/m.mp3"
        ));
        let news = read(
            r#"{"reply": {"type": "news", "articles": [{"title": "a", "url": "http://x/a"}, {"title": "b"}]}}"#,
        )
        .unwrap();
        assert!(matches!(&news, Reply::News(n) if n.articles().len() == 2));
        assert_eq!(
            read(r#"{"reply": {"type": "transfer_customer_service"}}"#),
            Some(Reply::transfer_customer_service(None))
        );
        assert_eq!(
            read(r#"{"reply": {"type": "transfer_customer_service", "kf_account": "kf@x"}}"#),
            Some(Reply::transfer_customer_service(Some("kf@x".into())))
        );
    }

    #[test]
    fn bad_answers_say_what_is_wrong() {
        let error = |json: &str| reply_from_json(json.as_bytes()).unwrap_err();
        assert!(error("not json").contains("not a reply"));
        assert!(error(r#"{"reply": {"type": "sticker"}}"#).contains("not a reply"));
        assert!(error(r#"{"reply": {"type": "text", "text": "typo"}}"#).contains("not a reply"));
        assert!(error(r#"{"reply": {"type": "news", "articles": []}}"#).contains("news"));
    }

    #[test]
    fn the_signature_is_github_style_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let forward = Forward::new(
            "http://127.0.0.1:9/",
            Some("s3cret"),
            Duration::from_secs(4),
        );
        assert!(!format!("{forward:?}").contains("s3cret"));
        assert_eq!(forward.timeout, Duration::from_millis(3800));
    }
}

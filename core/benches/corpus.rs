//! The fixed benchmark corpus: text messages of mixed CJK, emoji, ASCII and `<>&`, generated
//! deterministically (a 64-bit LCG), and the requests WeChat would send for them.

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use wechat_callback::crypto;
use wechat_callback::message::Text;
use wechat_callback::reply::Reply;
use wechat_callback::{Config, EncodingAesKey, Engine, Mode, Router, Token};

pub(crate) const TOKEN: &str = "benchToken";
pub(crate) const APPID: &str = "wx5e7c1d9a0b3f2468";
pub(crate) const KEY: &str = "wxcbDemoEncodingAESKey0123456789abcdefghijk";
pub(crate) const TIMESTAMP: u64 = 1_763_700_000;
pub(crate) const NONCE: &str = "1320562132";

const PIECES: &[&str] = &[
    "hello ",
    "world ",
    "微信",
    "回调",
    "消息",
    "😀",
    "🎉",
    "<",
    ">",
    "&",
    "a&b ",
    "x<y ",
    "the ",
    "quick ",
    "测试",
    "]]>",
    "\u{4e2d}\u{6587}",
    "ok ",
    "12345 ",
    "emoji🙂 ",
];

/// `len_bytes` bytes (or just over) of mixed text, seeded by `seed`.
pub(crate) fn content(seed: u64, len_bytes: usize) -> String {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut out = String::with_capacity(len_bytes + 8);
    while out.len() < len_bytes {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push_str(PIECES[(state >> 33) as usize % PIECES.len()]);
    }
    out
}

/// `n` contents of 10..2000 bytes.
pub(crate) fn corpus(n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|i| content(i, 10 + (i as usize * 997) % 1990))
        .collect()
}

fn cdata(out: &mut String, name: &str, text: &str) {
    wechat_callback::reply::push_cdata_element(out, name, text);
}

/// The plaintext message XML for a text message with `content`.
pub(crate) fn message_xml(content: &str) -> String {
    let mut xml = String::from("<xml>");
    cdata(&mut xml, "ToUserName", "gh_wxcbdemo0001");
    cdata(&mut xml, "FromUserName", "oWxcbDemoUser0000000000000001");
    xml.push_str(&format!("<CreateTime>{TIMESTAMP}</CreateTime>"));
    cdata(&mut xml, "MsgType", "text");
    cdata(&mut xml, "Content", content);
    xml.push_str("<MsgId>23912345678901234</MsgId></xml>");
    xml
}

/// `Encrypt` for `msg`, as WeChat builds it (fixed random bytes).
pub(crate) fn encrypt(msg: &str) -> String {
    let key = STANDARD.decode(format!("{KEY}=")).unwrap();
    let mut buf = vec![7u8; 16];
    buf.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    buf.extend_from_slice(msg.as_bytes());
    buf.extend_from_slice(APPID.as_bytes());
    let pad = 32 - buf.len() % 32;
    buf.resize(buf.len() + pad, pad as u8);
    let len = buf.len();
    let encryptor = cbc::Encryptor::<Aes256>::new_from_slices(&key, &key[..16]).unwrap();
    let ciphertext = encryptor
        .encrypt_padded::<NoPadding>(&mut buf, len)
        .unwrap();
    STANDARD.encode(ciphertext)
}

/// A request ready to hand to `Engine::handle`: method, URI with query, body.
#[derive(Clone)]
pub(crate) struct Wire {
    pub(crate) uri: String,
    pub(crate) body: Bytes,
}

impl Wire {
    /// The request as hyper hands it over: URI and body are views of shared buffers, so
    /// cloning them does not allocate.
    pub(crate) fn request(&self) -> http::Request<Bytes> {
        let shared = bytes::BytesMut::from(self.uri.as_bytes()).split().freeze();
        let uri = http::Uri::from_maybe_shared(shared).unwrap();
        http::Request::post(uri).body(self.body.clone()).unwrap()
    }
}

/// A plaintext-mode request for `content`.
pub(crate) fn plain(content: &str) -> Wire {
    let ts = TIMESTAMP.to_string();
    let signature = crypto::signature(&[TOKEN, &ts, NONCE]);
    Wire {
        uri: format!(
            "/wechat?signature={signature}&timestamp={ts}&nonce={NONCE}&openid=oWxcbDemoUser0000000000000001"
        ),
        body: Bytes::from(message_xml(content)),
    }
}

/// A safe-mode request for `content`: envelope with ToUserName and Encrypt.
pub(crate) fn safe(content: &str) -> Wire {
    let ts = TIMESTAMP.to_string();
    let encrypted = encrypt(&message_xml(content));
    let signature = crypto::signature(&[TOKEN, &ts, NONCE]);
    let msg_signature = crypto::signature(&[TOKEN, &ts, NONCE, &encrypted]);
    let mut body = String::from("<xml>");
    cdata(&mut body, "ToUserName", "gh_wxcbdemo0001");
    cdata(&mut body, "Encrypt", &encrypted);
    body.push_str("</xml>");
    Wire {
        uri: format!(
            "/wechat?signature={signature}&timestamp={ts}&nonce={NONCE}&openid=oWxcbDemoUser0000000000000001&encrypt_type=aes&msg_signature={msg_signature}"
        ),
        body: Bytes::from(body),
    }
}

/// The bench account's engine in `mode`, with an echo handler for text and the clock fixed
/// at [`TIMESTAMP`]. Dedup is off: the benches send one request over and over, which the
/// dedup store would answer from its cache (benched on its own as `dedup/*`).
pub(crate) fn engine(mode: Mode) -> Engine {
    let router = Router::new().on_text(|text: &Text| Reply::text(text.content.clone()));
    engine_with(mode, router)
}

/// [`engine`] with another router.
pub(crate) fn engine_with(mode: Mode, router: Router) -> Engine {
    let mut config = Config::official_account(Token::new(TOKEN).unwrap(), APPID);
    if mode != Mode::Plain {
        config = config
            .with_encoding_aes_key(EncodingAesKey::new(KEY).unwrap())
            .with_mode(mode);
    }
    Engine::new(config, router)
        .unwrap()
        .with_clock(|| TIMESTAMP)
        .without_dedup()
}

/// [`engine`] with the dedup store on. `first`: a store that forgets at once (TTL 0), so every
/// call is a first delivery and pays the whole dedup path (key, claim, cached plaintext,
/// complete); otherwise the default store, so every call after the first is a retry answered
/// from it.
pub(crate) fn engine_with_dedup(mode: Mode, first: bool) -> Engine {
    use wechat_callback::dedup::{DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, Dedup, MemoryDedupStore};
    let dedup = if first {
        Dedup::new(MemoryDedupStore::new(
            0,
            DEFAULT_MAX_ENTRIES,
            DEFAULT_MAX_BYTES,
        ))
    } else {
        Dedup::in_memory()
    };
    engine(mode).with_dedup(dedup)
}

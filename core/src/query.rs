//! The query string WeChat adds to the callback URL: the first stage of the pipeline.
//!
//! Source: 公众平台 “接入概述” (`signature`, `timestamp`, `nonce`, `echostr`), “消息加解密说明”
//! (`encrypt_type`, `msg_signature`), 企业微信 “回调配置” (`msg_signature`, encrypted `echostr`).

/// The query parameters WeChat adds to the callback URL.
///
/// Official account / mini program: `signature`, `timestamp` (Unix seconds), `nonce`, `echostr`
/// (GET), `openid`, and in compatible/safe mode `encrypt_type=aes` and `msg_signature`. WeCom:
/// `msg_signature`, `timestamp`, `nonce`, `echostr` (GET, encrypted).
///
/// Values are read in place from the request's URI (shared, not copied); only a value with a
/// percent escape or `+` is decoded into a buffer of its own. Unknown parameters are ignored;
/// of a repeated one the first counts.
#[derive(Clone, Default)]
pub struct CallbackQuery {
    source: Source,
    decoded: String,
    values: [Option<Value>; KEYS.len()],
}

#[derive(Clone, Default)]
enum Source {
    #[default]
    Empty,
    Uri(http::uri::PathAndQuery),
    Owned(Box<str>),
}

/// Where a value is: a range of the query string, or of the decoded buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Value {
    start: usize,
    len: usize,
    decoded: bool,
}

const KEYS: [&str; 7] = [
    "signature",
    "msg_signature",
    "timestamp",
    "nonce",
    "echostr",
    "openid",
    "encrypt_type",
];

/// The index in [`KEYS`] of a parameter name.
fn key_slot(key: &str) -> Option<usize> {
    Some(match key {
        "signature" => 0,
        "msg_signature" => 1,
        "timestamp" => 2,
        "nonce" => 3,
        "echostr" => 4,
        "openid" => 5,
        "encrypt_type" => 6,
        _ => return None,
    })
}

macro_rules! accessors {
    ($($(#[$doc:meta])* $name:ident = $index:literal;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Option<&str> {
            self.get($index)
        }
    )*};
}

impl CallbackQuery {
    /// The query of a request URI, shared with it (no copy).
    pub fn from_uri(uri: &http::Uri) -> Self {
        match uri.path_and_query() {
            Some(pq) if pq.query().is_some() => Self::index(Source::Uri(pq.clone())),
            _ => Self::default(),
        }
    }

    /// Parses an `application/x-www-form-urlencoded` query string (without the `?`), copying it.
    pub fn from_query(query: &str) -> Self {
        Self::index(Source::Owned(query.into()))
    }

    /// As [`CallbackQuery::from_query`], taking the string over (no copy when it has no
    /// spare capacity).
    pub fn from_query_string(query: String) -> Self {
        if query.is_empty() {
            return Self::default();
        }
        Self::index(Source::Owned(query.into_boxed_str()))
    }

    /// The query string as received (without the `?`).
    pub fn as_str(&self) -> &str {
        self.query_str()
    }

    fn query_str(&self) -> &str {
        match &self.source {
            Source::Empty => "",
            Source::Uri(pq) => pq.query().unwrap_or(""),
            Source::Owned(query) => query,
        }
    }

    fn index(source: Source) -> Self {
        let mut out = Self {
            source,
            ..Self::default()
        };
        let mut values = [None; KEYS.len()];
        let mut decoded = String::new();
        let query = out.query_str();
        let base = query.as_ptr() as usize;
        let escaped = memchr::memchr2(b'%', b'+', query.as_bytes()).is_some();
        for pair in split_pairs(query) {
            if escaped && memchr::memchr2(b'%', b'+', pair.as_bytes()).is_some() {
                let Some((key, value)) = form_urlencoded::parse(pair.as_bytes()).next() else {
                    continue;
                };
                if let Some(slot) = key_slot(&key) {
                    values[slot].get_or_insert_with(|| {
                        let start = decoded.len();
                        decoded.push_str(&value);
                        Value {
                            start,
                            len: value.len(),
                            decoded: true,
                        }
                    });
                }
                continue;
            }
            let (key, value) = match memchr::memchr(b'=', pair.as_bytes()) {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            if let Some(slot) = key_slot(key) {
                values[slot].get_or_insert(Value {
                    start: value.as_ptr() as usize - base,
                    len: value.len(),
                    decoded: false,
                });
            }
        }
        out.values = values;
        out.decoded = decoded;
        out
    }

    fn get(&self, index: usize) -> Option<&str> {
        let value = self.values[index]?;
        let buf = if value.decoded {
            self.decoded.as_str()
        } else {
            self.query_str()
        };
        Some(&buf[value.start..value.start + value.len])
    }

    accessors! {
        /// `signature`: 40 hex digits.
        signature = 0;
        /// `msg_signature`: 40 hex digits.
        msg_signature = 1;
        /// `timestamp`: Unix seconds, as text.
        timestamp = 2;
        /// `nonce`.
        nonce = 3;
        /// `echostr`: URL verification only.
        echostr = 4;
        /// `openid`: the sender (official accounts).
        openid = 5;
        /// `encrypt_type`: `aes` when the body is encrypted (official accounts).
        encrypt_type = 6;
    }

    /// Whether `encrypt_type=aes` (ASCII case-insensitive).
    pub fn is_aes(&self) -> bool {
        self.encrypt_type()
            .is_some_and(|t| t.eq_ignore_ascii_case("aes"))
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        (0..KEYS.len()).filter_map(|i| Some((KEYS[i], self.get(i)?)))
    }
}

/// `query` split at each `&`, by `memchr` (`str::split` with a `char` pattern sets up a
/// searcher per piece, which for a callback's four or five pairs costs more than the rest of
/// the parse).
fn split_pairs(query: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'&', query.as_bytes())
        .chain(std::iter::once(query.len()))
        .map(move |end| {
            let pair = &query[start..end];
            start = end + 1;
            pair
        })
}

impl std::fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

/// Queries are equal when they carry the same known parameters.
impl PartialEq for CallbackQuery {
    fn eq(&self, other: &Self) -> bool {
        self.pairs().eq(other.pairs())
    }
}

impl Eq for CallbackQuery {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_percent_escapes_and_keeps_first() {
        let q = CallbackQuery::from_query(
            "echostr=a%2Bb%2F%3D%3D&timestamp=1&timestamp=2&encrypt_type=AES&x=y",
        );
        assert_eq!(q.echostr(), Some("a+b/=="));
        assert_eq!(q.timestamp(), Some("1"));
        assert!(q.is_aes());
        assert_eq!(q.signature(), None);
        assert_eq!(q.openid(), None);
    }

    #[test]
    fn query_from_a_string_reads_as_from_a_str() {
        let text = "signature=ab&nonce=n%2B1&timestamp=9";
        let q = CallbackQuery::from_query_string(text.to_owned());
        assert_eq!(q.nonce(), Some("n+1"));
        assert_eq!(q, CallbackQuery::from_query(text));
        assert_eq!(
            CallbackQuery::from_query_string(String::new()),
            CallbackQuery::default()
        );
    }

    #[test]
    fn query_from_uri_reads_in_place() {
        let uri: http::Uri = "/wechat?signature=ab&nonce&openid=o%2Bx&signature=cd&timestamp=9"
            .parse()
            .unwrap();
        let q = CallbackQuery::from_uri(&uri);
        assert_eq!(q.signature(), Some("ab"));
        assert_eq!(q.nonce(), Some(""));
        assert_eq!(q.openid(), Some("o+x"));
        assert_eq!(q.timestamp(), Some("9"));
        assert_eq!(
            q,
            CallbackQuery::from_query("timestamp=9&nonce=&signature=ab&openid=o%2bx")
        );
        assert_ne!(q, CallbackQuery::default());
        assert_eq!(
            CallbackQuery::from_uri(&"/wechat".parse().unwrap()),
            CallbackQuery::default()
        );
        assert!(format!("{q:?}").contains("\"openid\": \"o+x\""));
    }
}

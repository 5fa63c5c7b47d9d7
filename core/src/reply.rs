//! Passive replies (被动回复用户消息) and their XML.
//!
//! Source: 公众平台 “基础消息能力 / 被动回复用户消息” and “消息转发到客服”. The reply swaps the
//! request's `ToUserName` / `FromUserName`, carries `CreateTime` in Unix seconds, and puts every
//! text in CDATA (a `]]>` inside is split across two sections). The empty reply is the literal
//! `success`, which tells WeChat not to retry and to show the user nothing.

use bytestring::ByteString;

use crate::error::{Error, ErrorKind};
pub use crate::xml::{push_cdata, push_cdata_element};

/// Most articles a news reply may carry.
pub const MAX_ARTICLES: usize = 8;

/// A passive reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// No reply: the body `success`.
    Empty,
    /// `MsgType` = `text`.
    Text {
        /// `Content`. A [`ByteString`], so echoing a message's text shares it instead of
        /// copying it.
        content: ByteString,
    },
    /// `MsgType` = `image`.
    Image {
        /// `Image/MediaId`, from the media upload API.
        media_id: String,
    },
    /// `MsgType` = `voice`.
    Voice {
        /// `Voice/MediaId`.
        media_id: String,
    },
    /// `MsgType` = `video`.
    Video(VideoReply),
    /// `MsgType` = `music`.
    Music(MusicReply),
    /// `MsgType` = `news`, 1 to [`MAX_ARTICLES`] articles (build with [`Reply::news`]).
    News(NewsReply),
    /// `MsgType` = `transfer_customer_service`: hand the message to customer service.
    TransferCustomerService {
        /// `TransInfo/KfAccount`: a specific agent, or any when `None`.
        kf_account: Option<String>,
    },
}

/// The `Video` element of a video reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VideoReply {
    /// `MediaId`.
    pub media_id: String,
    /// `Title` (optional: empty is left out).
    pub title: String,
    /// `Description` (optional: empty is left out).
    pub description: String,
}

/// The `Music` element of a music reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MusicReply {
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `MusicUrl`.
    pub music_url: String,
    /// `HQMusicUrl`, played on Wi-Fi.
    pub hq_music_url: String,
    /// `ThumbMediaId`.
    pub thumb_media_id: String,
}

/// One `item` of a news reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Article {
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `PicUrl`: JPG or PNG, 360×200 for the first article, 200×200 for the others.
    pub pic_url: String,
    /// `Url` opened on tap.
    pub url: String,
}

/// The articles of a news reply: 1 to [`MAX_ARTICLES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsReply {
    articles: Vec<Article>,
}

impl NewsReply {
    /// The articles, in order.
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }
}

impl Reply {
    /// A text reply: from a `String`, a `&str` (copied) or a message's [`ByteString`] field
    /// (shared, not copied).
    pub fn text(content: impl Into<ByteString>) -> Self {
        Self::Text {
            content: content.into(),
        }
    }

    /// An image reply.
    pub fn image(media_id: impl Into<String>) -> Self {
        Self::Image {
            media_id: media_id.into(),
        }
    }

    /// A voice reply.
    pub fn voice(media_id: impl Into<String>) -> Self {
        Self::Voice {
            media_id: media_id.into(),
        }
    }

    /// A video reply.
    pub fn video(video: VideoReply) -> Self {
        Self::Video(video)
    }

    /// A music reply.
    pub fn music(music: MusicReply) -> Self {
        Self::Music(music)
    }

    /// A news reply.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidReply`] (-40011) with no articles or more than [`MAX_ARTICLES`].
    pub fn news(articles: impl IntoIterator<Item = Article>) -> Result<Self, Error> {
        let articles: Vec<Article> = articles.into_iter().collect();
        if articles.is_empty() || articles.len() > MAX_ARTICLES {
            return Err(Error::with_detail(
                ErrorKind::InvalidReply,
                format!("a news reply takes 1 to 8 articles, not {}", articles.len()),
            ));
        }
        Ok(Self::News(NewsReply { articles }))
    }

    /// Hands the conversation to customer service, optionally to one agent account.
    pub fn transfer_customer_service(kf_account: Option<String>) -> Self {
        Self::TransferCustomerService { kf_account }
    }

    /// Whether this is the empty reply (`success`).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// The reply's `MsgType`, or `None` for the empty reply.
    pub fn msg_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::Empty => return None,
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Voice { .. } => "voice",
            Self::Video(_) => "video",
            Self::Music(_) => "music",
            Self::News(_) => "news",
            Self::TransferCustomerService { .. } => "transfer_customer_service",
        })
    }

    /// Renders the reply as UTF-8 XML; the empty reply renders as `success`.
    ///
    /// `to_user_name` is the request's `FromUserName` and `from_user_name` its `ToUserName`;
    /// `create_time` is Unix seconds.
    pub fn to_xml(&self, to_user_name: &str, from_user_name: &str, create_time: u64) -> String {
        let mut out =
            String::with_capacity(self.xml_len_hint(to_user_name, from_user_name, create_time));
        self.write_xml(&mut out, to_user_name, from_user_name, create_time);
        out
    }

    /// The reply as JSON, for a mini-program whose data format is JSON (小程序 “消息推送”,
    /// 数据格式 JSON): the fields of [`Reply::to_xml`] as members of one object (`CreateTime`
    /// and `ArticleCount` numbers, `Articles` an array, nested elements objects); the empty
    /// reply is `success`.
    pub fn to_json(&self, to_user_name: &str, from_user_name: &str, create_time: u64) -> String {
        use serde_json::{Map, Value, json};
        let Some(msg_type) = self.msg_type() else {
            return "success".to_owned();
        };
        let mut out = Map::new();
        out.insert("ToUserName".into(), to_user_name.into());
        out.insert("FromUserName".into(), from_user_name.into());
        out.insert("CreateTime".into(), create_time.into());
        out.insert("MsgType".into(), msg_type.into());
        let optional = |object: &mut Map<String, Value>, name: &str, value: &str| {
            if !value.is_empty() {
                object.insert(name.into(), value.into());
            }
        };
        match self {
            Self::Empty => {}
            Self::Text { content } => {
                out.insert("Content".into(), (&**content).into());
            }
            Self::Image { media_id } => {
                out.insert("Image".into(), json!({ "MediaId": media_id }));
            }
            Self::Voice { media_id } => {
                out.insert("Voice".into(), json!({ "MediaId": media_id }));
            }
            Self::Video(video) => {
                let mut object = Map::new();
                object.insert("MediaId".into(), video.media_id.as_str().into());
                optional(&mut object, "Title", &video.title);
                optional(&mut object, "Description", &video.description);
                out.insert("Video".into(), Value::Object(object));
            }
            Self::Music(music) => {
                out.insert(
                    "Music".into(),
                    json!({
                        "Title": music.title,
                        "Description": music.description,
                        "MusicUrl": music.music_url,
                        "HQMusicUrl": music.hq_music_url,
                        "ThumbMediaId": music.thumb_media_id,
                    }),
                );
            }
            Self::News(news) => {
                out.insert("ArticleCount".into(), news.articles.len().into());
                let articles = news
                    .articles
                    .iter()
                    .map(|a| {
                        json!({
                            "Title": a.title,
                            "Description": a.description,
                            "PicUrl": a.pic_url,
                            "Url": a.url,
                        })
                    })
                    .collect();
                out.insert("Articles".into(), Value::Array(articles));
            }
            Self::TransferCustomerService { kf_account } => {
                if let Some(account) = kf_account {
                    out.insert("TransInfo".into(), json!({ "KfAccount": account }));
                }
            }
        }
        Value::Object(out).to_string()
    }

    /// The exact length of [`Reply::to_xml`]'s output, to size its buffer once.
    pub(crate) fn xml_len_hint(
        &self,
        to_user_name: &str,
        from_user_name: &str,
        create_time: u64,
    ) -> usize {
        // CDATA and its splits (`]]>`, `\r`), as `push_cdata` writes them.
        self.xml_len_with(
            to_user_name,
            from_user_name,
            create_time,
            crate::xml::cdata_len,
        )
    }

    /// [`Reply::xml_len_hint`] without reading the texts: exact unless a text holds `]]>` or
    /// a character CDATA cannot carry as is, which are rare. For reserving room before writing.
    pub(crate) fn xml_len_estimate(
        &self,
        to_user_name: &str,
        from_user_name: &str,
        create_time: u64,
    ) -> usize {
        let cdata = |text: &str| "<![CDATA[]]>".len() + text.len();
        self.xml_len_with(to_user_name, from_user_name, create_time, cdata)
    }

    fn xml_len_with(
        &self,
        to_user_name: &str,
        from_user_name: &str,
        create_time: u64,
        cdata: impl Fn(&str) -> usize,
    ) -> usize {
        let field = |name: &str, text: &str| 2 * name.len() + 5 + cdata(text);
        let optional = |field: &dyn Fn(&str, &str) -> usize, name: &str, text: &str| {
            if text.is_empty() {
                0
            } else {
                field(name, text)
            }
        };
        let body = match self {
            Self::Empty => return "success".len(),
            Self::Text { content } => field("Content", content),
            Self::Image { media_id } | Self::Voice { media_id } => 15 + field("MediaId", media_id),
            Self::Video(v) => {
                15 + field("MediaId", &v.media_id)
                    + optional(&field, "Title", &v.title)
                    + optional(&field, "Description", &v.description)
            }
            Self::Music(m) => {
                15 + field("Title", &m.title)
                    + field("Description", &m.description)
                    + field("MusicUrl", &m.music_url)
                    + field("HQMusicUrl", &m.hq_music_url)
                    + field("ThumbMediaId", &m.thumb_media_id)
            }
            Self::News(news) => {
                50 + itoa::Buffer::new().format(news.articles.len()).len()
                    + news
                        .articles
                        .iter()
                        .map(|a| {
                            13 + field("Title", &a.title)
                                + field("Description", &a.description)
                                + field("PicUrl", &a.pic_url)
                                + field("Url", &a.url)
                        })
                        .sum::<usize>()
            }
            Self::TransferCustomerService { kf_account } => {
                kf_account.as_ref().map_or(0, |k| 46 + cdata(k))
            }
        };
        let msg_type = self.msg_type().unwrap_or_default();
        11 + field("ToUserName", to_user_name)
            + field("FromUserName", from_user_name)
            + 25
            + itoa::Buffer::new().format(create_time).len()
            + field("MsgType", msg_type)
            + body
    }

    /// Appends the reply XML ([`Reply::to_xml`]) to `out`.
    pub fn write_xml(
        &self,
        out: &mut String,
        to_user_name: &str,
        from_user_name: &str,
        create_time: u64,
    ) {
        let Some(msg_type) = self.msg_type() else {
            out.push_str("success");
            return;
        };
        out.push_str("<xml>");
        push_cdata_element(out, "ToUserName", to_user_name);
        push_cdata_element(out, "FromUserName", from_user_name);
        out.push_str("<CreateTime>");
        out.push_str(itoa::Buffer::new().format(create_time));
        out.push_str("</CreateTime>");
        push_cdata_element(out, "MsgType", msg_type);
        match self {
            Self::Empty => {}
            Self::Text { content } => push_cdata_element(out, "Content", content),
            Self::Image { media_id } => wrap(out, "Image", |out| {
                push_cdata_element(out, "MediaId", media_id);
            }),
            Self::Voice { media_id } => wrap(out, "Voice", |out| {
                push_cdata_element(out, "MediaId", media_id);
            }),
            Self::Video(video) => wrap(out, "Video", |out| {
                push_cdata_element(out, "MediaId", &video.media_id);
                push_optional(out, "Title", &video.title);
                push_optional(out, "Description", &video.description);
            }),
            Self::Music(music) => wrap(out, "Music", |out| {
                push_cdata_element(out, "Title", &music.title);
                push_cdata_element(out, "Description", &music.description);
                push_cdata_element(out, "MusicUrl", &music.music_url);
                push_cdata_element(out, "HQMusicUrl", &music.hq_music_url);
                push_cdata_element(out, "ThumbMediaId", &music.thumb_media_id);
            }),
            Self::News(news) => {
                out.push_str("<ArticleCount>");
                out.push_str(itoa::Buffer::new().format(news.articles.len()));
                out.push_str("</ArticleCount>");
                wrap(out, "Articles", |out| {
                    for article in &news.articles {
                        wrap(out, "item", |out| {
                            push_cdata_element(out, "Title", &article.title);
                            push_cdata_element(out, "Description", &article.description);
                            push_cdata_element(out, "PicUrl", &article.pic_url);
                            push_cdata_element(out, "Url", &article.url);
                        });
                    }
                });
            }
            Self::TransferCustomerService { kf_account } => {
                if let Some(account) = kf_account {
                    wrap(out, "TransInfo", |out| {
                        out.push_str("<KfAccount>");
                        push_cdata(out, account);
                        out.push_str("</KfAccount>");
                    });
                }
            }
        }
        out.push_str("</xml>");
    }
}

fn wrap(out: &mut String, name: &str, body: impl FnOnce(&mut String)) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    body(out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_optional(out: &mut String, name: &str, text: &str) {
    if !text.is_empty() {
        push_cdata_element(out, name, text);
    }
}

/// Anything a handler may return.
///
/// `None` (from an `Option`) means the handler declines and the next handler for the kind runs;
/// every other value is the answer. `()` answers `success`; a `String`, `&'static str` or
/// [`ByteString`] answers a text reply; an `Err` of any error type answers `success` and logs the error's type (not
/// its message) at `error`.
pub trait IntoReply {
    /// The reply, or `None` to decline.
    fn into_reply(self) -> Option<Reply>;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Option<Reply> {
        Some(self)
    }
}

impl<R: IntoReply> IntoReply for Option<R> {
    fn into_reply(self) -> Option<Reply> {
        self.and_then(IntoReply::into_reply)
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Option<Reply> {
        Some(Reply::Empty)
    }
}

impl IntoReply for String {
    fn into_reply(self) -> Option<Reply> {
        Some(Reply::text(self))
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> Option<Reply> {
        Some(Reply::text(ByteString::from_static(self)))
    }
}

impl IntoReply for ByteString {
    fn into_reply(self) -> Option<Reply> {
        Some(Reply::text(self))
    }
}

/// A handler's error of any type answers `success` (WeChat then neither retries nor shows the
/// user an error) and is logged at `error` by its type name only: its message may carry
/// content from the callback, which never reaches the logs.
impl<R: IntoReply, E> IntoReply for Result<R, E> {
    fn into_reply(self) -> Option<Reply> {
        match self {
            Ok(reply) => reply.into_reply(),
            Err(_) => {
                tracing::error!(
                    error_type = std::any::type_name::<E>(),
                    "handler returned an error; answered success"
                );
                Some(Reply::Empty)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Document;

    #[test]
    fn text_reply_golden_bytes() {
        let xml = Reply::text("你好 ]]> <b>&").to_xml("o_user", "gh_acct", 1_700_000_000);
        assert_eq!(
            xml,
            "<xml><ToUserName><![CDATA[o_user]]></ToUserName>\
             <FromUserName><![CDATA[gh_acct]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[你好 ]]]]><![CDATA[> <b>&]]></Content></xml>"
        );
        let root = Document::parse(&xml).unwrap();
        assert_eq!(root.child_text("Content"), Some("你好 ]]> <b>&"));
    }

    #[test]
    fn length_hint_is_exact() {
        let article = Article {
            title: "t".into(),
            description: "描述".into(),
            pic_url: "p".into(),
            url: "u".into(),
        };
        let replies = [
            Reply::Empty,
            Reply::text("你好 <b>&"),
            Reply::text("a]]>b]]>]]>"),
            Reply::image("m1"),
            Reply::voice("m22"),
            Reply::video(VideoReply {
                media_id: "v".into(),
                description: "d".into(),
                ..VideoReply::default()
            }),
            Reply::music(MusicReply {
                title: "a".into(),
                hq_music_url: "h".into(),
                ..MusicReply::default()
            }),
            Reply::news(vec![article; 3]).unwrap(),
            Reply::transfer_customer_service(Some("kf@x]]>".into())),
            Reply::transfer_customer_service(None),
        ];
        for reply in replies {
            let xml = reply.to_xml("o_user", "gh_acct", 1_700_000_000);
            assert_eq!(
                xml.len(),
                reply.xml_len_hint("o_user", "gh_acct", 1_700_000_000),
                "{xml}"
            );
            // The estimate, which reads no text, is exact without `]]>` and short by the
            // splits with it.
            let estimate = reply.xml_len_estimate("o_user", "gh_acct", 1_700_000_000);
            let splits = xml.matches("]]]]><![CDATA[>").count();
            assert_eq!(estimate + splits * "]]><![CDATA[".len(), xml.len(), "{xml}");
        }
    }

    #[test]
    fn news_takes_one_to_eight_articles() {
        assert_eq!(Reply::news([]).unwrap_err().code(), Some(-40011));
        assert!(Reply::news(vec![Article::default(); 9]).is_err());
        let news = Reply::news(vec![Article::default(); 2]).unwrap();
        let root = Document::parse(&news.to_xml("a", "b", 1)).unwrap();
        assert_eq!(root.child_text("ArticleCount"), Some("2"));
        assert_eq!(root.find_all("Articles/item").len(), 2);
    }

    #[test]
    fn empty_is_success_and_options_decline() {
        assert_eq!(Reply::Empty.to_xml("a", "b", 1), "success");
        assert_eq!(None::<Reply>.into_reply(), None);
        assert_eq!(().into_reply(), Some(Reply::Empty));
        assert_eq!("hi".into_reply(), Some(Reply::text("hi")));
    }

    #[test]
    fn transfer_and_media_replies_render() {
        let xml = Reply::transfer_customer_service(Some("kf1@test".into())).to_xml("a", "b", 1);
        let root = Document::parse(&xml).unwrap();
        assert_eq!(
            root.child_text("MsgType"),
            Some("transfer_customer_service")
        );
        assert_eq!(root.find("TransInfo/KfAccount").unwrap().text(), "kf1@test");
        let xml = Reply::video(VideoReply {
            media_id: "m".into(),
            ..VideoReply::default()
        })
        .to_xml("a", "b", 1);
        let root = Document::parse(&xml).unwrap();
        assert_eq!(root.find("Video/MediaId").unwrap().text(), "m");
        assert!(root.find("Video/Title").is_none());
    }
}

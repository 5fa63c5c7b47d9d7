//! Typed callback messages and events, and the field tree they are read from.
//!
//! Every body first yields a [`Head`] (`ToUserName`, `FromUserName`, `CreateTime`, `MsgType`,
//! `Event`, `AgentID`); the `MsgType` (and for events the `Event`, matched ASCII
//! case-insensitively since WeChat mixes `SCAN` and `click`) then picks the struct from the
//! kinds table. A type or event not in the table becomes [`Message::Unknown`] /
//! [`Event::Unknown`] keeping the whole field tree: never an error.
//!
//! Field types: [`ByteString`] is the element's text (empty when absent), sharing the
//! decrypted body's storage instead of copying it (it derefs to `&str`, compares with `&str`,
//! and converts `Into<String>`); `Option<ByteString>` tells absent from empty; numbers are
//! `Option<u64>` / `Option<i64>` / `Option<u32>` / `Option<f64>`, `None` when absent or empty,
//! and a number that does not parse is an [`ErrorKind::Xml`](crate::ErrorKind::Xml) error (-40002); `Vec<_>` collects
//! every repeat of a path.

mod kinds;

use bytestring::ByteString;

use crate::error::Error;
pub use crate::xml::{Children, Document, Element};

pub(crate) use kinds::for_each_kind;

/// Reads one typed field from an element at a `/`-separated path.
trait Field: Sized {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error>;
}

trait Record: Sized {
    fn from_element(element: Element<'_>) -> Result<Self, Error>;
}

trait Scalar: Sized {
    fn parse(element: Element<'_>, path: &'static str) -> Result<Option<Self>, Error>;
}

/// The first element at `path`, where `path` may list alternatives separated by `|` (the
/// XML path first, then the JSON one, e.g. `SubscribeMsgPopupEvent/List|List`).
fn find<'a>(parent: Element<'a>, path: &'static str) -> Option<Element<'a>> {
    match memchr::memchr(b'|', path.as_bytes()) {
        None => parent.find(path),
        Some(_) => path.split('|').find_map(|path| parent.find(path)),
    }
}

impl Field for ByteString {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        Ok(find(parent, path)
            .map(|el| el.shared_text())
            .unwrap_or_default())
    }
}

impl<T: Scalar> Field for Option<T> {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        match find(parent, path) {
            Some(el) => T::parse(el, path),
            None => Ok(None),
        }
    }
}

impl<T: Record> Field for Vec<T> {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        let elements = path
            .split('|')
            .map(|path| parent.find_all(path))
            .find(|found| !found.is_empty())
            .unwrap_or_default();
        elements.into_iter().map(T::from_element).collect()
    }
}

impl Record for ByteString {
    fn from_element(element: Element<'_>) -> Result<Self, Error> {
        Ok(element.shared_text())
    }
}

impl Scalar for ByteString {
    fn parse(element: Element<'_>, _: &'static str) -> Result<Option<Self>, Error> {
        Ok(Some(element.shared_text()))
    }
}

macro_rules! numeric_scalar {
    ($($ty:ty),*) => {$(
        impl Scalar for $ty {
            fn parse(element: Element<'_>, path: &'static str) -> Result<Option<Self>, Error> {
                let text = element.text().trim();
                if text.is_empty() {
                    return Ok(None);
                }
                text.parse().map(Some).map_err(|error| {
                    Error::xml(format!("{path} is not a valid {}", stringify!($ty)))
                        .with_source(error)
                })
            }
        }
    )*};
}
numeric_scalar!(u64, i64, u32, f64);

/// Defines a plain record struct read field by field from one element.
macro_rules! record_struct {
    (
        $(#[$doc:meta])*
        $Name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty = $xml:literal ),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        #[non_exhaustive]
        pub struct $Name {
            $(
                #[doc = concat!("XML `", $xml, "`.")]
                $(#[$fdoc])*
                pub $field: $ty,
            )*
        }

        impl Record for $Name {
            #[allow(unused_variables)]
            fn from_element(element: Element<'_>) -> Result<Self, Error> {
                Ok(Self { $( $field: Field::extract(element, $xml)?, )* })
            }
        }
    };
}

/// Writes every struct, the [`Message`], [`Event`] and [`Kind`] enums, their [`Payload`]
/// impls and the parse match from the kinds table ([`for_each_kind!`]).
macro_rules! define_kinds {
    (
        messages {$(
            $(#[$mdoc:meta])*
            $MVar:ident($MTy:ident) = $mtype:literal, $mkind:ident, $mon:ident {
                $( $(#[$mfdoc:meta])* $mf:ident : $mft:ty = $mxml:literal ),* $(,)?
            }
        )*}
        events {$(
            $(#[$edoc:meta])*
            $EVar:ident($ETy:ident) = $etype:literal, $ekind:ident, $eon:ident {
                $( $(#[$efdoc:meta])* $ef:ident : $eft:ty = $exml:literal ),* $(,)?
            }
        )*}
        infos {$(
            $(#[$idoc:meta])*
            $IVar:ident($ITy:ident) = $itype:literal, $ikind:ident, $ion:ident {
                $( $(#[$ifdoc:meta])* $if:ident : $ift:ty = $ixml:literal ),* $(,)?
            }
        )*}
    ) => {
        $(
            record_struct! {
                $(#[$idoc])*
                #[doc = concat!("\n\n`InfoType` = `", $itype, "` (no `MsgType`).")]
                $ITy { $( $(#[$ifdoc])* $if : $ift = $ixml ),* }
            }
            impl sealed::Sealed for $ITy {}
            impl Payload for $ITy {
                const KIND: Kind = Kind::$ikind;
                fn from_message(message: &Message) -> Option<&Self> {
                    match message {
                        Message::Info(Info::$IVar(payload)) => Some(payload),
                        _ => None,
                    }
                }
            }
        )*

        /// A push the open platform (第三方平台) or a WeCom suite (第三方应用) sends about
        /// itself, by `InfoType` (its body has no `MsgType`).
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // The unknown variant keeps the body's `Document`, its first elements inline: the
        // enum lives once per callback, inside its `Arc`, so its size is not copied on a hot
        // path, while boxing it would cost every unknown kind an allocation.
        #[allow(clippy::large_enum_variant)]
        pub enum Info {
            $(
                #[doc = concat!("`InfoType` = `", $itype, "`.")]
                $IVar($ITy),
            )*
            /// Any other `InfoType`.
            Unknown(UnknownInfo),
        }

        impl Info {
            /// This push's kind.
            pub const fn kind(&self) -> Kind {
                match self {
                    $(Info::$IVar(_) => Kind::$ikind,)*
                    Info::Unknown(_) => Kind::InfoUnknown,
                }
            }
        }

        fn parse_info(doc: &Document, info_type: &str) -> Result<Info, Error> {
            let root = doc.root();
            $(
                if info_type.eq_ignore_ascii_case($itype) {
                    return Ok(Info::$IVar($ITy::from_element(root)?));
                }
            )*
            Ok(Info::Unknown(UnknownInfo {
                info_type: ByteString::from(info_type),
                fields: doc.clone(),
            }))
        }

        $(
            record_struct! {
                $(#[$mdoc])*
                #[doc = concat!("\n\n`MsgType` = `", $mtype, "`.")]
                $MTy { $( $(#[$mfdoc])* $mf : $mft = $mxml ),* }
            }
            impl sealed::Sealed for $MTy {}
            impl Payload for $MTy {
                const KIND: Kind = Kind::$mkind;
                fn from_message(message: &Message) -> Option<&Self> {
                    match message {
                        Message::$MVar(payload) => Some(payload),
                        _ => None,
                    }
                }
            }
        )*
        $(
            record_struct! {
                $(#[$edoc])*
                #[doc = concat!("\n\n`MsgType` = `event`, `Event` = `", $etype, "`.")]
                $ETy { $( $(#[$efdoc])* $ef : $eft = $exml ),* }
            }
            impl sealed::Sealed for $ETy {}
            impl Payload for $ETy {
                const KIND: Kind = Kind::$ekind;
                fn from_message(message: &Message) -> Option<&Self> {
                    match message {
                        Message::Event(Event::$EVar(payload)) => Some(payload),
                        _ => None,
                    }
                }
            }
        )*

        /// A callback message, by `MsgType`.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // The unknown variant keeps the body's `Document`, its first elements inline: the
        // enum lives once per callback, inside its `Arc`, so its size is not copied on a hot
        // path, while boxing it would cost every unknown kind an allocation.
        #[allow(clippy::large_enum_variant)]
        pub enum Message {
            $(
                #[doc = concat!("`MsgType` = `", $mtype, "`.")]
                $MVar($MTy),
            )*
            /// `MsgType` = `event`.
            Event(Event),
            /// No `MsgType` but an `InfoType`: the open platform's or a WeCom suite's own pushes.
            Info(Info),
            /// Any other `MsgType`, or none at all.
            Unknown(UnknownMessage),
        }

        /// An event push (`MsgType` = `event`), by `Event`.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // The unknown variant keeps the body's `Document`, its first elements inline: the
        // enum lives once per callback, inside its `Arc`, so its size is not copied on a hot
        // path, while boxing it would cost every unknown kind an allocation.
        #[allow(clippy::large_enum_variant)]
        pub enum Event {
            $(
                #[doc = concat!("`Event` = `", $etype, "`.")]
                $EVar($ETy),
            )*
            /// Any other `Event`.
            Unknown(UnknownEvent),
        }

        /// The kind of a message or event: the key handlers are registered under.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Kind {
            $(
                #[doc = concat!("`MsgType` = `", $mtype, "`.")]
                $mkind,
            )*
            /// A `MsgType` not in the table.
            UnknownMessage,
            $(
                #[doc = concat!("`Event` = `", $etype, "`.")]
                $ekind,
            )*
            /// An `Event` not in the table.
            EventUnknown,
            $(
                #[doc = concat!("`InfoType` = `", $itype, "`.")]
                $ikind,
            )*
            /// An `InfoType` not in the table.
            InfoUnknown,
        }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[
                $(Kind::$mkind,)* Kind::UnknownMessage, $(Kind::$ekind,)* Kind::EventUnknown,
                $(Kind::$ikind,)* Kind::InfoUnknown,
            ];

            /// A short name for this kind, one of a bounded set (metrics labels, span
            /// fields): the `MsgType` of a message (`text`), `event:` and the `Event` of an
            /// event (`event:CLICK`), `info:` and the `InfoType` of an `InfoType` push, and
            /// `unknown`, `event:unknown`, `info:unknown` for kinds not in the table.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Kind::$mkind => $mtype,)*
                    Kind::UnknownMessage => "unknown",
                    $(Kind::$ekind => concat!("event:", $etype),)*
                    Kind::EventUnknown => "event:unknown",
                    $(Kind::$ikind => concat!("info:", $itype),)*
                    Kind::InfoUnknown => "info:unknown",
                }
            }

            /// The `MsgType` of this kind (`event` for events, empty for unknown messages).
            pub const fn msg_type(self) -> &'static str {
                match self {
                    $(Kind::$mkind => $mtype,)*
                    Kind::UnknownMessage => "",
                    $(Kind::$ikind)|* | Kind::InfoUnknown => "",
                    _ => "event",
                }
            }

            /// The `InfoType` of this kind, for info kinds other than unknown.
            pub const fn info_type(self) -> Option<&'static str> {
                match self {
                    $(Kind::$ikind => Some($itype),)*
                    _ => None,
                }
            }

            /// Whether this is an `InfoType` kind (open platform, WeCom suite).
            pub const fn is_info(self) -> bool {
                matches!(self, $(Kind::$ikind)|* | Kind::InfoUnknown)
            }

            /// The `Event` name as WeChat spells it, for event kinds other than unknown.
            pub const fn event(self) -> Option<&'static str> {
                match self {
                    $(Kind::$ekind => Some($etype),)*
                    _ => None,
                }
            }

            /// Whether this is an event kind.
            pub const fn is_event(self) -> bool {
                matches!(self, $(Kind::$ekind)|* | Kind::EventUnknown)
            }
        }

        impl Message {
            /// This message's kind.
            pub const fn kind(&self) -> Kind {
                match self {
                    $(Message::$MVar(_) => Kind::$mkind,)*
                    Message::Event(event) => event.kind(),
                    Message::Info(info) => info.kind(),
                    Message::Unknown(_) => Kind::UnknownMessage,
                }
            }
        }

        impl Event {
            /// This event's kind.
            pub const fn kind(&self) -> Kind {
                match self {
                    $(Event::$EVar(_) => Kind::$ekind,)*
                    Event::Unknown(_) => Kind::EventUnknown,
                }
            }
        }

        /// Picks and reads the typed message for `head` from the body's root element.
        fn parse_message(doc: &Document, head: &Head) -> Result<Message, Error> {
            let root = doc.root();
            let msg_type = &*head.msg_type;
            if msg_type.eq_ignore_ascii_case("event") {
                return parse_event(doc, head).map(Message::Event);
            }
            if let Some(info_type) = head.info_type.as_deref().filter(|_| msg_type.is_empty()) {
                return parse_info(doc, info_type).map(Message::Info);
            }
            $(
                if msg_type.eq_ignore_ascii_case($mtype) {
                    return Ok(Message::$MVar($MTy::from_element(root)?));
                }
            )*
            Ok(Message::Unknown(UnknownMessage {
                msg_type: head.msg_type.clone(),
                fields: doc.clone(),
            }))
        }

        fn parse_event(doc: &Document, head: &Head) -> Result<Event, Error> {
            let root = doc.root();
            let event = head.event.as_deref().unwrap_or_default();
            $(
                if event.eq_ignore_ascii_case($etype) {
                    return Ok(Event::$EVar($ETy::from_element(root)?));
                }
            )*
            Ok(Event::Unknown(UnknownEvent {
                event: head.event.clone().unwrap_or_default(),
                fields: doc.clone(),
            }))
        }
    };
}

/// A payload a handler can be registered for: a message or event struct of the kinds table,
/// [`UnknownMessage`] or [`UnknownEvent`]. Sealed: the kinds table is the one list.
pub trait Payload: sealed::Sealed + Sized + 'static {
    /// The kind this payload is registered under.
    const KIND: Kind;
    /// This payload, if `message` carries one.
    fn from_message(message: &Message) -> Option<&Self>;
}

mod sealed {
    /// Implemented by the kinds table's payloads only.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

record_struct! {
    /// One `List` entry of the subscription-notification events (订阅通知).
    SubscribeMsgItem {
        template_id: ByteString = "TemplateId",
        /// `accept` or `reject`.
        subscribe_status: Option<ByteString> = "SubscribeStatusString",
        /// 1: on a web page (H5), 2: in a mini program (popup event only).
        popup_scene: Option<ByteString> = "PopupScene",
        /// Sent event only.
        msg_id: Option<ByteString> = "MsgID",
        /// Sent event only: 0 on success.
        error_code: Option<ByteString> = "ErrorCode",
        /// Sent event only: `success`, `fail:user refuse`, `fail:system error`.
        error_status: Option<ByteString> = "ErrorStatus",
    }
}

record_struct! {
    /// One strategy's verdict in a `wxa_media_check` (version 2) `detail`.
    MediaCheckDetail {
        strategy: ByteString = "strategy",
        errcode: Option<i64> = "errcode",
        /// `pass`, `review` or `risky`.
        suggest: Option<ByteString> = "suggest",
        label: Option<ByteString> = "label",
        /// Confidence, 0 to 100.
        prob: Option<f64> = "prob",
    }
}

record_struct! {
    /// One step of an `add_express_path` event's `Actions`.
    ExpressAction {
        /// Unix seconds.
        action_time: Option<u64> = "ActionTime",
        /// The step's code (100001 picked up, 200001 in transit, 300003 signed for, …).
        action_type: Option<u32> = "ActionType",
        action_msg: ByteString = "ActionMsg",
    }
}

record_struct! {
    /// One published article of a `PUBLISHJOBFINISH` event.
    PublishedArticle {
        /// Position, from 1.
        idx: Option<u32> = "idx",
        article_url: ByteString = "article_url",
    }
}

for_each_kind!(define_kinds);

impl Subscribe {
    /// The QR-code scene (`EventKey` without its `qrscene_` prefix), when the user followed
    /// through a parametric QR code.
    pub fn scene(&self) -> Option<&str> {
        self.event_key.as_deref()?.strip_prefix("qrscene_")
    }
}

/// A message whose `MsgType` is not in the table, with every field kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownMessage {
    /// `MsgType` as sent; empty when the body has none.
    pub msg_type: ByteString,
    /// The whole body as a field tree.
    pub fields: Document,
}

/// An event whose `Event` is not in the table, with every field kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// `Event` as sent.
    pub event: ByteString,
    /// The whole body as a field tree.
    pub fields: Document,
}

/// An `InfoType` push whose `InfoType` is not in the table, with every field kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownInfo {
    /// `InfoType` as sent.
    pub info_type: ByteString,
    /// The whole body as a field tree.
    pub fields: Document,
}

impl sealed::Sealed for UnknownInfo {}
impl Payload for UnknownInfo {
    const KIND: Kind = Kind::InfoUnknown;
    fn from_message(message: &Message) -> Option<&Self> {
        match message {
            Message::Info(Info::Unknown(payload)) => Some(payload),
            _ => None,
        }
    }
}

impl sealed::Sealed for UnknownMessage {}
impl Payload for UnknownMessage {
    const KIND: Kind = Kind::UnknownMessage;
    fn from_message(message: &Message) -> Option<&Self> {
        match message {
            Message::Unknown(payload) => Some(payload),
            _ => None,
        }
    }
}

impl sealed::Sealed for UnknownEvent {}
impl Payload for UnknownEvent {
    const KIND: Kind = Kind::EventUnknown;
    fn from_message(message: &Message) -> Option<&Self> {
        match message {
            Message::Event(Event::Unknown(payload)) => Some(payload),
            _ => None,
        }
    }
}

/// [`Kind::label`].
impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The fields every callback shares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Head {
    /// `ToUserName`: the account (`gh_…`), or the corpid for WeCom.
    pub to_user_name: ByteString,
    /// `FromUserName`: the sender's openid (WeCom: userid).
    pub from_user_name: ByteString,
    /// `CreateTime`: Unix seconds, as sent; 0 when absent.
    pub create_time: u64,
    /// `MsgType` as sent; empty when absent.
    pub msg_type: ByteString,
    /// `Event` as sent, for events.
    pub event: Option<ByteString>,
    /// `AgentID` (WeCom application id), when present.
    pub agent_id: Option<ByteString>,
    /// `InfoType`, for the open platform's and WeCom suites' own pushes (no `MsgType`).
    pub info_type: Option<ByteString>,
}

impl Head {
    /// Reads the head fields from a body's root element.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] when `CreateTime` is present but not a number.
    pub(crate) fn from_document(doc: &Document) -> Result<Self, Error> {
        let root = doc.root();
        // One pass over the root's children; of a repeated name the first counts, as in
        // `Element::child`.
        let mut slots: [Option<Element<'_>>; 7] = [None; 7];
        for child in root.children() {
            let slot = match child.name() {
                "ToUserName" => 0,
                "FromUserName" => 1,
                "CreateTime" => 2,
                "MsgType" => 3,
                "Event" => 4,
                "AgentID" => 5,
                "InfoType" => 6,
                _ => continue,
            };
            slots[slot].get_or_insert(child);
        }
        let text = |slot: usize| slots[slot].map(|el| el.shared_text());
        let create_time = match slots[2] {
            Some(el) => u64::parse(el, "CreateTime")?,
            None => None,
        };
        Ok(Self {
            to_user_name: text(0).unwrap_or_default(),
            from_user_name: text(1).unwrap_or_default(),
            create_time: create_time.unwrap_or(0),
            msg_type: text(3).unwrap_or_default(),
            event: text(4),
            agent_id: text(5).map(|s| s.slice_ref(s.trim())),
            info_type: text(6),
        })
    }
}

impl Message {
    /// Reads the typed message from a body's root element and its [`Head`].
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] when a numeric field of a known kind does not parse.
    pub(crate) fn from_document(doc: &Document, head: &Head) -> Result<Self, Error> {
        parse_message(doc, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn parse(body: &str) -> (Head, Message) {
        let doc = Document::parse(body).unwrap();
        let head = Head::from_document(&doc).unwrap();
        let message = Message::from_document(&doc, &head).unwrap();
        (head, message)
    }

    #[test]
    fn text_with_exact_msg_id() {
        let (head, message) = parse(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
             <CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[this is a test]]></Content><MsgId>18446744073709551615</MsgId></xml>",
        );
        assert_eq!(head.create_time, 1_348_831_860);
        let Message::Text(text) = &message else {
            panic!("{message:?}")
        };
        assert_eq!(text.content, "this is a test");
        assert_eq!(text.msg_id, Some(u64::MAX));
        assert_eq!(message.kind(), Kind::Text);
    }

    #[test]
    fn events_match_case_insensitively() {
        let (_, message) =
            parse("<xml><MsgType>event</MsgType><Event>scan</Event><EventKey>42</EventKey></xml>");
        assert_eq!(message.kind(), Kind::EventScan);
        let (_, message) = parse(
            "<xml><MsgType>event</MsgType><Event>subscribe</Event>\
             <EventKey>qrscene_123</EventKey><Ticket>T</Ticket></xml>",
        );
        let Message::Event(Event::Subscribe(sub)) = &message else {
            panic!()
        };
        assert_eq!(sub.scene(), Some("123"));
    }

    #[test]
    fn nested_and_repeated_fields() {
        let (_, message) = parse(
            "<xml><MsgType>event</MsgType><Event>pic_photo_or_album</Event><EventKey>6</EventKey>\
             <SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item>\
             <item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo></xml>",
        );
        let Message::Event(Event::PicPhotoOrAlbum(pics)) = &message else {
            panic!()
        };
        assert_eq!(pics.count, Some(2));
        assert_eq!(pics.pic_md5_sums, ["a", "b"]);
    }

    #[test]
    fn unknown_kinds_keep_every_field() {
        let (_, message) = parse("<xml><Anything>kept</Anything></xml>");
        let Message::Unknown(unknown) = &message else {
            panic!()
        };
        assert_eq!(unknown.msg_type, "");
        assert_eq!(unknown.fields.child_text("Anything"), Some("kept"));
        let (_, message) = parse("<xml><InfoType>notify_future_thing</InfoType><Y>2</Y></xml>");
        let Message::Info(Info::Unknown(unknown)) = &message else {
            panic!("{message:?}")
        };
        assert_eq!(unknown.info_type, "notify_future_thing");
        assert_eq!(unknown.fields.child_text("Y"), Some("2"));
        assert_eq!(message.kind(), Kind::InfoUnknown);
        let (_, message) = parse(
            "<xml><AppId>wxc</AppId><InfoType>Component_Verify_Ticket</InfoType>\
             <ComponentVerifyTicket>t@@@1</ComponentVerifyTicket></xml>",
        );
        let Message::Info(Info::ComponentVerifyTicket(ticket)) = &message else {
            panic!("{message:?}")
        };
        assert_eq!(ticket.component_verify_ticket, "t@@@1");
        assert_eq!(message.kind().to_string(), "info:component_verify_ticket");
        let (_, message) =
            parse("<xml><MsgType>event</MsgType><Event>brand_new</Event><X>1</X></xml>");
        let Message::Event(Event::Unknown(unknown)) = &message else {
            panic!()
        };
        assert_eq!(unknown.event, "brand_new");
        assert_eq!(unknown.fields.child_text("X"), Some("1"));
        assert_eq!(message.kind(), Kind::EventUnknown);
    }

    #[test]
    fn bad_numbers_are_xml_errors_and_empty_numbers_are_absent() {
        let root = Document::parse("<xml><MsgType>text</MsgType><MsgId>12x</MsgId></xml>").unwrap();
        let head = Head::from_document(&root).unwrap();
        let err = Message::from_document(&root, &head).unwrap_err();
        assert_eq!(err.code(), Some(-40002));
        let (_, message) = parse("<xml><MsgType>text</MsgType><MsgId></MsgId></xml>");
        let Message::Text(text) = message else {
            panic!()
        };
        assert_eq!(text.msg_id, None);
        let root = Document::parse("<xml><CreateTime>soon</CreateTime></xml>").unwrap();
        assert_eq!(
            Head::from_document(&root).unwrap_err().kind(),
            ErrorKind::Xml
        );
    }

    #[test]
    fn wecom_external_contact_events_are_typed() {
        let (_, message) = parse(
            "<xml><MsgType>event</MsgType><Event>change_external_contact</Event>\
             <ChangeType>transfer_fail</ChangeType><UserID>u</UserID>\
             <ExternalUserID>wm1</ExternalUserID><FailReason>customer_refused</FailReason></xml>",
        );
        let Message::Event(Event::ChangeExternalContact(change)) = &message else {
            panic!("{message:?}")
        };
        assert_eq!(change.change_type, "transfer_fail");
        assert_eq!(change.fail_reason.as_deref(), Some("customer_refused"));
        let (_, message) = parse(
            "<xml><MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c</ChatId>\
             <ChangeType>update</ChangeType><UpdateDetail>add_member</UpdateDetail>\
             <JoinScene>1</JoinScene><MemChangeCnt>3</MemChangeCnt></xml>",
        );
        let Message::Event(Event::ChangeExternalChat(chat)) = &message else {
            panic!("{message:?}")
        };
        assert_eq!((chat.join_scene, chat.mem_change_cnt), (Some(1), Some(3)));
    }

    #[test]
    fn kind_table_is_consistent() {
        for kind in Kind::ALL {
            assert_eq!(kind.is_event(), kind.msg_type() == "event", "{kind:?}");
        }
        assert_eq!(Kind::ALL.len(), 9 + 1 + 44 + 1 + 12 + 1);
        for kind in Kind::ALL {
            assert_eq!(
                kind.is_info(),
                kind.info_type().is_some() || *kind == Kind::InfoUnknown
            );
        }
    }
}

//! Typed callback messages and events, generated from one table.
//!
//! Sources: 公众平台 “基础消息能力 / 接收普通消息” and “接收事件推送”, “自定义菜单事件推送”,
//! “模板消息 / 事件推送”, “群发接口 / 事件推送群发结果”, “发布能力 / 发布状态轮询与事件推送”,
//! “订阅通知 / 事件推送”, “客服消息 / 会话状态通知事件”, “用户信息变更事件”, “卡券事件推送”;
//! 企业微信 “接收消息与事件” (`enter_agent`, `change_contact`, `batch_job_result`);
//! 小程序 “消息推送 / 客服消息” (`miniprogrampage`).
//!
//! Every body first yields a [`Head`] (`ToUserName`, `FromUserName`, `CreateTime`, `MsgType`,
//! `Event`, `AgentID`); the `MsgType` (and for events the `Event`, matched ASCII
//! case-insensitively since WeChat mixes `SCAN` and `click`) then picks the struct. A type or event
//! not in the table becomes [`Message::Unknown`] / [`Event::Unknown`] keeping the whole field tree:
//! never an error.
//!
//! Field types: [`ByteString`] is the element's text (empty when absent), sharing the
//! decrypted body's storage instead of copying it (it derefs to `&str`, compares with `&str`,
//! and converts `Into<String>`); `Option<ByteString>` tells absent from empty; numbers are `Option<u64>` / `Option<i64>` / `Option<u32>` / `Option<f64>`,
//! `None` when absent or empty, and a number that does not parse is an [`ErrorKind::Xml`] error
//! (-40002); `Vec<_>` collects every repeat of a path.

use crate::error::{Error, ErrorKind};
use crate::router::{Handler, Router};
use bytestring::ByteString;

use crate::xml::{Document, Element};

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

impl Field for ByteString {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        Ok(parent
            .find(path)
            .map(|el| el.shared_text())
            .unwrap_or_default())
    }
}

impl<T: Scalar> Field for Option<T> {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        match parent.find(path) {
            Some(el) => T::parse(el, path),
            None => Ok(None),
        }
    }
}

impl<T: Record> Field for Vec<T> {
    fn extract(parent: Element<'_>, path: &'static str) -> Result<Self, Error> {
        parent
            .find_all(path)
            .into_iter()
            .map(T::from_element)
            .collect()
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
                text.parse().map(Some).map_err(|_| {
                    Error::with_detail(
                        ErrorKind::Xml,
                        format!("{path} is not a valid {}", stringify!($ty)),
                    )
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

/// The table: writes every struct, the [`Message`], [`Event`] and [`Kind`] enums, the parse
/// match and the typed `Router::on_*` registration methods from one list.
macro_rules! callback_kinds {
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
    ) => {
        $(
            record_struct! {
                $(#[$mdoc])*
                #[doc = concat!("\n\n`MsgType` = `", $mtype, "`.")]
                $MTy { $( $(#[$mfdoc])* $mf : $mft = $mxml ),* }
            }
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
        pub enum Message {
            $(
                #[doc = concat!("`MsgType` = `", $mtype, "`.")]
                $MVar($MTy),
            )*
            /// `MsgType` = `event`.
            Event(Event),
            /// Any other `MsgType`, or none at all (e.g. open-platform `InfoType` envelopes).
            Unknown(UnknownMessage),
        }

        /// An event push (`MsgType` = `event`), by `Event`.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
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
        }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[
                $(Kind::$mkind,)* Kind::UnknownMessage, $(Kind::$ekind,)* Kind::EventUnknown,
            ];

            /// The `MsgType` of this kind (`event` for events, empty for unknown messages).
            pub const fn msg_type(self) -> &'static str {
                match self {
                    $(Kind::$mkind => $mtype,)*
                    Kind::UnknownMessage => "",
                    _ => "event",
                }
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

        impl<S: 'static> Router<S> {
            $(
                #[doc = concat!("Registers a handler for `", $mtype, "` messages ([`",
                    stringify!($MTy), "`]); same as [`Router::on`].")]
                #[must_use]
                pub fn $mon<H, M>(self, handler: H) -> Self
                where
                    H: Handler<$MTy, S, M>,
                {
                    self.on(handler)
                }
            )*
            $(
                #[doc = concat!("Registers a handler for `", $etype, "` events ([`",
                    stringify!($ETy), "`]); same as [`Router::on`].")]
                #[must_use]
                pub fn $eon<H, M>(self, handler: H) -> Self
                where
                    H: Handler<$ETy, S, M>,
                {
                    self.on(handler)
                }
            )*
        }
    };
}

/// A payload a handler can be registered for: a message or event struct (or
/// [`crate::Request`] itself, for fallbacks).
pub trait Payload: Sized + 'static {
    /// The kind this payload is registered under.
    const KIND: Kind;
    /// This payload, if `message` carries one.
    fn from_message(message: &Message) -> Option<&Self>;
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
    /// One published article of a `PUBLISHJOBFINISH` event.
    PublishedArticle {
        /// Position, from 1.
        idx: Option<u32> = "idx",
        article_url: ByteString = "article_url",
    }
}

callback_kinds! {
    messages {
        /// A text message.
        Text(Text) = "text", Text, on_text {
            content: ByteString = "Content",
            /// 64-bit message id, exact.
            msg_id: Option<u64> = "MsgId",
            /// Set when the message comes from an article (图文) comment.
            msg_data_id: Option<ByteString> = "MsgDataId",
            /// Article index for `MsgDataId`.
            idx: Option<ByteString> = "Idx",
        }
        /// An image message.
        Image(Image) = "image", Image, on_image {
            pic_url: ByteString = "PicUrl",
            media_id: ByteString = "MediaId",
            msg_id: Option<u64> = "MsgId",
        }
        /// A voice message; `Recognition` is present when speech recognition is on.
        Voice(Voice) = "voice", Voice, on_voice {
            media_id: ByteString = "MediaId",
            /// `amr`, `speex`, …
            format: ByteString = "Format",
            recognition: Option<ByteString> = "Recognition",
            media_id_16k: Option<ByteString> = "MediaId16K",
            msg_id: Option<u64> = "MsgId",
        }
        /// A video message.
        Video(Video) = "video", Video, on_video {
            media_id: ByteString = "MediaId",
            thumb_media_id: ByteString = "ThumbMediaId",
            msg_id: Option<u64> = "MsgId",
        }
        /// A short video message.
        ShortVideo(ShortVideo) = "shortvideo", ShortVideo, on_short_video {
            media_id: ByteString = "MediaId",
            thumb_media_id: ByteString = "ThumbMediaId",
            msg_id: Option<u64> = "MsgId",
        }
        /// A location message.
        Location(Location) = "location", Location, on_location {
            /// Latitude, degrees.
            location_x: Option<f64> = "Location_X",
            /// Longitude, degrees.
            location_y: Option<f64> = "Location_Y",
            /// Map zoom level.
            scale: Option<u32> = "Scale",
            label: ByteString = "Label",
            msg_id: Option<u64> = "MsgId",
        }
        /// A link message.
        Link(Link) = "link", Link, on_link {
            title: ByteString = "Title",
            description: ByteString = "Description",
            url: ByteString = "Url",
            msg_id: Option<u64> = "MsgId",
        }
        /// A file message.
        File(File) = "file", File, on_file {
            title: ByteString = "Title",
            description: ByteString = "Description",
            file_key: Option<ByteString> = "FileKey",
            file_md5: Option<ByteString> = "FileMd5",
            /// Size in bytes.
            file_total_len: Option<u64> = "FileTotalLen",
            msg_id: Option<u64> = "MsgId",
        }
        /// A mini-program card sent to customer service (小程序客服消息).
        MiniProgramPage(MiniProgramPage) = "miniprogrampage", MiniProgramPage, on_mini_program_page {
            title: ByteString = "Title",
            app_id: ByteString = "AppId",
            page_path: ByteString = "PagePath",
            thumb_url: Option<ByteString> = "ThumbUrl",
            thumb_media_id: Option<ByteString> = "ThumbMediaId",
            msg_id: Option<u64> = "MsgId",
        }
    }
    events {
        /// A user followed the account, possibly by scanning a parametric QR code.
        Subscribe(Subscribe) = "subscribe", EventSubscribe, on_event_subscribe {
            /// `qrscene_<scene>` when followed through a parametric QR code; see
            /// [`Subscribe::scene`].
            event_key: Option<ByteString> = "EventKey",
            /// QR code ticket, with a parametric QR code.
            ticket: Option<ByteString> = "Ticket",
        }
        /// A user unfollowed the account.
        Unsubscribe(Unsubscribe) = "unsubscribe", EventUnsubscribe, on_event_unsubscribe {}
        /// A follower scanned a parametric QR code.
        Scan(Scan) = "SCAN", EventScan, on_event_scan {
            /// The scene value (`scene_id` or `scene_str`).
            event_key: ByteString = "EventKey",
            ticket: Option<ByteString> = "Ticket",
        }
        /// Periodic location report (上报地理位置).
        Location(LocationEvent) = "LOCATION", EventLocation, on_event_location {
            /// Degrees.
            latitude: Option<f64> = "Latitude",
            /// Degrees.
            longitude: Option<f64> = "Longitude",
            /// Accuracy.
            precision: Option<f64> = "Precision",
        }
        /// A click on a menu button of type `click`.
        Click(Click) = "CLICK", EventClick, on_event_click {
            /// The button's `key`.
            event_key: ByteString = "EventKey",
        }
        /// A click on a menu button of type `view`.
        View(View) = "VIEW", EventView, on_event_view {
            /// The URL opened.
            event_key: ByteString = "EventKey",
            menu_id: Option<ByteString> = "MenuId",
        }
        /// A click on a menu button that opens a mini program.
        ViewMiniprogram(ViewMiniprogram) = "view_miniprogram", EventViewMiniprogram, on_event_view_miniprogram {
            /// The mini-program page path.
            event_key: ByteString = "EventKey",
            menu_id: Option<ByteString> = "MenuId",
        }
        /// Menu scan, result pushed to the account.
        ScancodePush(ScancodePush) = "scancode_push", EventScancodePush, on_event_scancode_push {
            event_key: ByteString = "EventKey",
            /// `qrcode`, `barcode`, …
            scan_type: Option<ByteString> = "ScanCodeInfo/ScanType",
            scan_result: Option<ByteString> = "ScanCodeInfo/ScanResult",
        }
        /// Menu scan, with a “receiving” prompt while the account answers.
        ScancodeWaitmsg(ScancodeWaitmsg) = "scancode_waitmsg", EventScancodeWaitmsg, on_event_scancode_waitmsg {
            event_key: ByteString = "EventKey",
            scan_type: Option<ByteString> = "ScanCodeInfo/ScanType",
            scan_result: Option<ByteString> = "ScanCodeInfo/ScanResult",
        }
        /// Menu button: take a photo with the system camera.
        PicSysphoto(PicSysphoto) = "pic_sysphoto", EventPicSysphoto, on_event_pic_sysphoto {
            event_key: ByteString = "EventKey",
            count: Option<u32> = "SendPicsInfo/Count",
            /// Each picture's MD5, `SendPicsInfo/PicList/item/PicMd5Sum`.
            pic_md5_sums: Vec<ByteString> = "SendPicsInfo/PicList/item/PicMd5Sum",
        }
        /// Menu button: take a photo or pick from the album.
        PicPhotoOrAlbum(PicPhotoOrAlbum) = "pic_photo_or_album", EventPicPhotoOrAlbum, on_event_pic_photo_or_album {
            event_key: ByteString = "EventKey",
            count: Option<u32> = "SendPicsInfo/Count",
            pic_md5_sums: Vec<ByteString> = "SendPicsInfo/PicList/item/PicMd5Sum",
        }
        /// Menu button: pick from the WeChat album.
        PicWeixin(PicWeixin) = "pic_weixin", EventPicWeixin, on_event_pic_weixin {
            event_key: ByteString = "EventKey",
            count: Option<u32> = "SendPicsInfo/Count",
            pic_md5_sums: Vec<ByteString> = "SendPicsInfo/PicList/item/PicMd5Sum",
        }
        /// Menu button: send a location.
        LocationSelect(LocationSelect) = "location_select", EventLocationSelect, on_event_location_select {
            event_key: ByteString = "EventKey",
            /// Latitude, degrees.
            location_x: Option<f64> = "SendLocationInfo/Location_X",
            /// Longitude, degrees.
            location_y: Option<f64> = "SendLocationInfo/Location_Y",
            scale: Option<u32> = "SendLocationInfo/Scale",
            label: Option<ByteString> = "SendLocationInfo/Label",
            poiname: Option<ByteString> = "SendLocationInfo/Poiname",
        }
        /// A template message was delivered (or not).
        TemplateSendJobFinish(TemplateSendJobFinish) = "TEMPLATESENDJOBFINISH", EventTemplateSendJobFinish, on_event_template_send_job_finish {
            msg_id: Option<u64> = "MsgID",
            /// `success`, `failed:user block`, `failed: system failed`.
            status: ByteString = "Status",
        }
        /// A mass send (群发) finished.
        MassSendJobFinish(MassSendJobFinish) = "MASSSENDJOBFINISH", EventMassSendJobFinish, on_event_mass_send_job_finish {
            msg_id: Option<u64> = "MsgID",
            /// `send success`, `send fail`, `err(num)`.
            status: ByteString = "Status",
            total_count: Option<u64> = "TotalCount",
            filter_count: Option<u64> = "FilterCount",
            sent_count: Option<u64> = "SentCount",
            error_count: Option<u64> = "ErrorCount",
        }
        /// A publish job (发布) finished.
        PublishJobFinish(PublishJobFinish) = "PUBLISHJOBFINISH", EventPublishJobFinish, on_event_publish_job_finish {
            publish_id: Option<ByteString> = "PublishEventInfo/publish_id",
            /// 0 success, 1 publishing, 2 original-content check failed, …
            publish_status: Option<i64> = "PublishEventInfo/publish_status",
            article_id: Option<ByteString> = "PublishEventInfo/article_id",
            articles: Vec<PublishedArticle> = "PublishEventInfo/article_detail/item",
            /// Indexes of the articles that failed.
            fail_idx: Vec<ByteString> = "PublishEventInfo/fail_idx",
        }
        /// A user answered a subscription-notification popup.
        SubscribeMsgPopup(SubscribeMsgPopup) = "subscribe_msg_popup_event", EventSubscribeMsgPopup, on_event_subscribe_msg_popup {
            items: Vec<SubscribeMsgItem> = "SubscribeMsgPopupEvent/List",
        }
        /// A user changed subscription-notification settings.
        SubscribeMsgChange(SubscribeMsgChange) = "subscribe_msg_change_event", EventSubscribeMsgChange, on_event_subscribe_msg_change {
            items: Vec<SubscribeMsgItem> = "SubscribeMsgChangeEvent/List",
        }
        /// A subscription notification was sent.
        SubscribeMsgSent(SubscribeMsgSent) = "subscribe_msg_sent_event", EventSubscribeMsgSent, on_event_subscribe_msg_sent {
            items: Vec<SubscribeMsgItem> = "SubscribeMsgSentEvent/List",
        }
        /// A customer-service session was opened.
        KfCreateSession(KfCreateSession) = "kf_create_session", EventKfCreateSession, on_event_kf_create_session {
            kf_account: ByteString = "KfAccount",
        }
        /// A customer-service session was closed.
        KfCloseSession(KfCloseSession) = "kf_close_session", EventKfCloseSession, on_event_kf_close_session {
            kf_account: ByteString = "KfAccount",
        }
        /// A customer-service session was handed over.
        KfSwitchSession(KfSwitchSession) = "kf_switch_session", EventKfSwitchSession, on_event_kf_switch_session {
            from_kf_account: ByteString = "FromKfAccount",
            to_kf_account: ByteString = "ToKfAccount",
        }
        /// A user changed the profile information granted to the account.
        UserInfoModified(UserInfoModified) = "user_info_modified", EventUserInfoModified, on_event_user_info_modified {
            open_id: Option<ByteString> = "OpenID",
            app_id: Option<ByteString> = "AppID",
            revoke_info: Option<ByteString> = "RevokeInfo",
        }
        /// A user revoked an authorization.
        UserAuthorizationRevoke(UserAuthorizationRevoke) = "user_authorization_revoke", EventUserAuthorizationRevoke, on_event_user_authorization_revoke {
            open_id: Option<ByteString> = "OpenID",
            app_id: Option<ByteString> = "AppID",
            /// Which authorizations were revoked, e.g. `1` (user info).
            revoke_info: Option<ByteString> = "RevokeInfo",
        }
        /// A card passed review.
        CardPassCheck(CardPassCheck) = "card_pass_check", EventCardPassCheck, on_event_card_pass_check {
            card_id: ByteString = "CardId",
            refuse_reason: Option<ByteString> = "RefuseReason",
        }
        /// A card failed review.
        CardNotPassCheck(CardNotPassCheck) = "card_not_pass_check", EventCardNotPassCheck, on_event_card_not_pass_check {
            card_id: ByteString = "CardId",
            refuse_reason: Option<ByteString> = "RefuseReason",
        }
        /// A user received a card.
        UserGetCard(UserGetCard) = "user_get_card", EventUserGetCard, on_event_user_get_card {
            card_id: ByteString = "CardId",
            /// 1 when given by a friend.
            is_give_by_friend: Option<u32> = "IsGiveByFriend",
            user_card_code: Option<ByteString> = "UserCardCode",
            friend_user_name: Option<ByteString> = "FriendUserName",
            outer_id: Option<ByteString> = "OuterId",
            old_user_card_code: Option<ByteString> = "OldUserCardCode",
            outer_str: Option<ByteString> = "OuterStr",
            is_restore_member_card: Option<u32> = "IsRestoreMemberCard",
            union_id: Option<ByteString> = "UnionId",
        }
        /// A user deleted a card.
        UserDelCard(UserDelCard) = "user_del_card", EventUserDelCard, on_event_user_del_card {
            card_id: ByteString = "CardId",
            user_card_code: Option<ByteString> = "UserCardCode",
        }
        /// A card was redeemed (核销).
        UserConsumeCard(UserConsumeCard) = "user_consume_card", EventUserConsumeCard, on_event_user_consume_card {
            card_id: ByteString = "CardId",
            user_card_code: Option<ByteString> = "UserCardCode",
            /// `FROM_API`, `FROM_MOBILE_HELPER`, …
            consume_source: Option<ByteString> = "ConsumeSource",
            location_name: Option<ByteString> = "LocationName",
            staff_open_id: Option<ByteString> = "StaffOpenId",
            verify_code: Option<ByteString> = "VerifyCode",
            remark_amount: Option<ByteString> = "RemarkAmount",
            outer_str: Option<ByteString> = "OuterStr",
        }
        /// A user opened a member card.
        UserViewCard(UserViewCard) = "user_view_card", EventUserViewCard, on_event_user_view_card {
            card_id: ByteString = "CardId",
            user_card_code: Option<ByteString> = "UserCardCode",
            outer_str: Option<ByteString> = "OuterStr",
        }
        /// WeCom: a member entered the application (the id is in [`Head::agent_id`]).
        EnterAgent(EnterAgent) = "enter_agent", EventEnterAgent, on_event_enter_agent {
            event_key: ByteString = "EventKey",
        }
        /// WeCom: the address book changed (`ChangeType` says how); every other field is in
        /// [`crate::Request::fields`].
        ChangeContact(ChangeContact) = "change_contact", EventChangeContact, on_event_change_contact {
            /// `create_user`, `update_user`, `delete_user`, `create_party`, `update_party`,
            /// `delete_party`, `update_tag`.
            change_type: ByteString = "ChangeType",
            user_id: Option<ByteString> = "UserID",
            new_user_id: Option<ByteString> = "NewUserID",
            name: Option<ByteString> = "Name",
            /// Comma-separated department ids.
            department: Option<ByteString> = "Department",
            /// Department id (party events).
            id: Option<ByteString> = "Id",
            parent_id: Option<ByteString> = "ParentId",
            tag_id: Option<ByteString> = "TagId",
        }
        /// WeCom: an asynchronous batch job finished.
        BatchJobResult(BatchJobResult) = "batch_job_result", EventBatchJobResult, on_event_batch_job_result {
            job_id: ByteString = "BatchJob/JobId",
            /// `sync_user`, `replace_user`, `invite_user`, `replace_party`.
            job_type: ByteString = "BatchJob/JobType",
            err_code: Option<i64> = "BatchJob/ErrCode",
            err_msg: Option<ByteString> = "BatchJob/ErrMsg",
        }
    }
}

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

impl Payload for UnknownMessage {
    const KIND: Kind = Kind::UnknownMessage;
    fn from_message(message: &Message) -> Option<&Self> {
        match message {
            Message::Unknown(payload) => Some(payload),
            _ => None,
        }
    }
}

impl Payload for UnknownEvent {
    const KIND: Kind = Kind::EventUnknown;
    fn from_message(message: &Message) -> Option<&Self> {
        match message {
            Message::Event(Event::Unknown(payload)) => Some(payload),
            _ => None,
        }
    }
}

impl<S: 'static> Router<S> {
    /// Registers a handler for messages whose `MsgType` is not in the table.
    #[must_use]
    pub fn on_unknown_message<H, M>(self, handler: H) -> Self
    where
        H: Handler<UnknownMessage, S, M>,
    {
        self.on(handler)
    }

    /// Registers a handler for events whose `Event` is not in the table.
    #[must_use]
    pub fn on_unknown_event<H, M>(self, handler: H) -> Self
    where
        H: Handler<UnknownEvent, S, M>,
    {
        self.on(handler)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.event(), self) {
            (Some(event), _) => write!(f, "event:{event}"),
            (None, Kind::UnknownMessage) => f.write_str("unknown"),
            (None, Kind::EventUnknown) => f.write_str("event:unknown"),
            (None, kind) => f.write_str(kind.msg_type()),
        }
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
}

impl Head {
    /// Reads the head fields from a body's root element.
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] when `CreateTime` is present but not a number.
    pub fn from_element(root: Element<'_>) -> Result<Self, Error> {
        // One pass over the root's children; of a repeated name the first counts, as in
        // `Element::child`.
        let mut slots: [Option<Element<'_>>; 6] = [None; 6];
        for child in root.children() {
            let slot = match child.name() {
                "ToUserName" => 0,
                "FromUserName" => 1,
                "CreateTime" => 2,
                "MsgType" => 3,
                "Event" => 4,
                "AgentID" => 5,
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
        })
    }
}

impl Message {
    /// Reads the typed message from a body's root element and its [`Head`].
    ///
    /// # Errors
    /// [`ErrorKind::Xml`] when a numeric field of a known kind does not parse.
    pub fn from_document(doc: &Document, head: &Head) -> Result<Self, Error> {
        parse_message(doc, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    fn parse(body: &str) -> (Head, Message) {
        let doc = xml::parse(body).unwrap();
        let head = Head::from_element(doc.root()).unwrap();
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
        let (_, message) = parse("<xml><InfoType>component_verify_ticket</InfoType></xml>");
        let Message::Unknown(unknown) = &message else {
            panic!()
        };
        assert_eq!(unknown.msg_type, "");
        assert_eq!(
            unknown.fields.child_text("InfoType"),
            Some("component_verify_ticket")
        );
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
        let root = xml::parse("<xml><MsgType>text</MsgType><MsgId>12x</MsgId></xml>").unwrap();
        let head = Head::from_element(root.root()).unwrap();
        let err = Message::from_document(&root, &head).unwrap_err();
        assert_eq!(err.code(), Some(-40002));
        let (_, message) = parse("<xml><MsgType>text</MsgType><MsgId></MsgId></xml>");
        let Message::Text(text) = message else {
            panic!()
        };
        assert_eq!(text.msg_id, None);
        let root = xml::parse("<xml><CreateTime>soon</CreateTime></xml>").unwrap();
        assert_eq!(
            Head::from_element(root.root()).unwrap_err().kind(),
            ErrorKind::Xml
        );
    }

    #[test]
    fn kind_table_is_consistent() {
        for kind in Kind::ALL {
            assert_eq!(kind.is_event(), kind.msg_type() == "event", "{kind:?}");
        }
        assert_eq!(Kind::ALL.len(), 9 + 1 + 33 + 1);
    }
}

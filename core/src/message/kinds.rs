//! The one list of callback kinds: data only.
//!
//! Each entry is `Variant(Struct) = "MsgType, Event or InfoType", KindVariant, on_method { field: Type =
//! "XML path", … }`. [`for_each_kind!`] hands the whole list to a macro: `message` builds the
//! structs, [`Message`](super::Message), [`Event`](super::Event), [`Kind`](super::Kind) and the
//! parser from it; `router` builds its `on_*` methods from it. Adding a kind here adds it
//! everywhere.
//!
//! Sources: 公众平台 “基础消息能力 / 接收普通消息” and “接收事件推送”, “自定义菜单事件推送”,
//! “模板消息 / 事件推送”, “群发接口 / 事件推送群发结果”, “发布能力 / 发布状态轮询与事件推送”,
//! “订阅通知 / 事件推送”, “客服消息 / 会话状态通知事件”, “用户信息变更事件”, “卡券事件推送”;
//! 企业微信 “接收消息与事件” (`enter_agent`, `change_contact`, `batch_job_result`), “客户联系 /
//! 变更回调” (`change_external_contact`, `change_external_chat`, `change_external_tag`);
//! 小程序 “消息推送 / 客服消息” (`miniprogrampage`, `user_enter_tempsession`), “内容安全”
//! (`wxa_media_check`), “发货信息管理” (`trade_manage_*`), “物流助手” (`add_express_path`),
//! 小游戏 “虚拟支付” (`xpay_*`); field names as the peers' structs carry them
//! (`../shared/callback-formats.md` §1.8).

/// Calls `$callback! { messages { … } events { … } }` with the table below.
macro_rules! for_each_kind {
    ($callback:ident) => {
        $callback! {
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
                    appid: ByteString = "AppId",
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
                    items: Vec<SubscribeMsgItem> = "SubscribeMsgPopupEvent/List|List",
                }
                /// A user changed subscription-notification settings.
                SubscribeMsgChange(SubscribeMsgChange) = "subscribe_msg_change_event", EventSubscribeMsgChange, on_event_subscribe_msg_change {
                    items: Vec<SubscribeMsgItem> = "SubscribeMsgChangeEvent/List|List",
                }
                /// A subscription notification was sent.
                SubscribeMsgSent(SubscribeMsgSent) = "subscribe_msg_sent_event", EventSubscribeMsgSent, on_event_subscribe_msg_sent {
                    items: Vec<SubscribeMsgItem> = "SubscribeMsgSentEvent/List|List",
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
                    openid: Option<ByteString> = "OpenID",
                    appid: Option<ByteString> = "AppID",
                    revoke_info: Option<ByteString> = "RevokeInfo",
                }
                /// A user revoked an authorization.
                UserAuthorizationRevoke(UserAuthorizationRevoke) = "user_authorization_revoke", EventUserAuthorizationRevoke, on_event_user_authorization_revoke {
                    openid: Option<ByteString> = "OpenID",
                    appid: Option<ByteString> = "AppID",
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
                    unionid: Option<ByteString> = "UnionId",
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
                    staff_openid: Option<ByteString> = "StaffOpenId",
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
                /// [`Callback::fields`](crate::Callback::fields).
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
                /// WeCom: an external contact (客户) changed (客户联系 “变更回调”): added, edited,
                /// deleted by either side, or a transfer failed.
                ChangeExternalContact(ChangeExternalContact) = "change_external_contact", EventChangeExternalContact, on_event_change_external_contact {
                    /// `add_external_contact`, `edit_external_contact`, `add_half_external_contact`,
                    /// `del_external_contact`, `del_follow_user`, `transfer_fail`.
                    change_type: ByteString = "ChangeType",
                    user_id: Option<ByteString> = "UserID",
                    external_user_id: Option<ByteString> = "ExternalUserID",
                    state: Option<ByteString> = "State",
                    welcome_code: Option<ByteString> = "WelcomeCode",
                    /// `del_external_contact`: `DELETE_BY_TRANSFER` when removed by a transfer.
                    source: Option<ByteString> = "Source",
                    /// `transfer_fail`: `customer_refused` or `customer_limit_exceed`.
                    fail_reason: Option<ByteString> = "FailReason",
                }
                /// WeCom: a customer group (客户群) was created, changed or dismissed.
                ChangeExternalChat(ChangeExternalChat) = "change_external_chat", EventChangeExternalChat, on_event_change_external_chat {
                    chat_id: ByteString = "ChatId",
                    /// `create`, `update`, `dismiss`.
                    change_type: ByteString = "ChangeType",
                    /// `update`: `add_member`, `del_member`, `change_owner`, `change_name`, …
                    update_detail: Option<ByteString> = "UpdateDetail",
                    join_scene: Option<u32> = "JoinScene",
                    quit_scene: Option<u32> = "QuitScene",
                    mem_change_cnt: Option<u32> = "MemChangeCnt",
                }
                /// WeCom: a customer tag (客户标签) or tag group changed.
                ChangeExternalTag(ChangeExternalTag) = "change_external_tag", EventChangeExternalTag, on_event_change_external_tag {
                    id: ByteString = "Id",
                    /// `tag` or `tag_group`.
                    tag_type: Option<ByteString> = "TagType",
                    /// `create`, `update`, `delete`, `shuffle`.
                    change_type: ByteString = "ChangeType",
                    strategy_id: Option<ByteString> = "StrategyId",
                }
                /// Mini-program: a user entered the customer-service chat (客服会话).
                UserEnterTempsession(UserEnterTempsession) = "user_enter_tempsession", EventUserEnterTempsession, on_event_user_enter_tempsession {
                    /// The `session-from` of the contact button.
                    session_from: ByteString = "SessionFrom",
                }
                /// Mini-program: the result of an asynchronous media check (内容安全), version 2
                /// (`result`, `detail`) or version 1 (`isrisky`, `status_code`). Match it to the
                /// request by `trace_id`.
                WxaMediaCheck(WxaMediaCheck) = "wxa_media_check", EventWxaMediaCheck, on_event_wxa_media_check {
                    appid: ByteString = "appid",
                    trace_id: ByteString = "trace_id",
                    /// 2 for the version-2 result; absent in version 1.
                    version: Option<u32> = "version",
                    /// Version 2: `pass`, `review` or `risky`.
                    suggest: Option<ByteString> = "result/suggest",
                    /// Version 2: the label (a number, sent as a number or a string).
                    label: Option<ByteString> = "result/label",
                    /// Version 2: each strategy's verdict.
                    details: Vec<MediaCheckDetail> = "detail",
                    /// Version 1: 1 when risky.
                    isrisky: Option<u32> = "isrisky",
                    /// Version 1.
                    status_code: Option<i64> = "status_code",
                    errcode: Option<i64> = "errcode",
                }
                /// Mini-program order management (发货信息管理): remind to call the API.
                TradeManageRemindAccessApi(TradeManageRemindAccessApi) = "trade_manage_remind_access_api", EventTradeManageRemindAccessApi, on_event_trade_manage_remind_access_api {
                    msg: ByteString = "msg",
                }
                /// Mini-program order management: remind to upload shipping information.
                TradeManageRemindShipping(TradeManageRemindShipping) = "trade_manage_remind_shipping", EventTradeManageRemindShipping, on_event_trade_manage_remind_shipping {
                    transaction_id: ByteString = "transaction_id",
                    merchant_id: ByteString = "merchant_id",
                    sub_merchant_id: Option<ByteString> = "sub_merchant_id",
                    merchant_trade_no: ByteString = "merchant_trade_no",
                    /// Unix seconds.
                    pay_time: Option<u64> = "pay_time",
                    msg: ByteString = "msg",
                }
                /// Mini-program order management: an order was shipped or settled.
                TradeManageOrderSettlement(TradeManageOrderSettlement) = "trade_manage_order_settlement", EventTradeManageOrderSettlement, on_event_trade_manage_order_settlement {
                    transaction_id: ByteString = "transaction_id",
                    merchant_id: ByteString = "merchant_id",
                    sub_merchant_id: Option<ByteString> = "sub_merchant_id",
                    merchant_trade_no: ByteString = "merchant_trade_no",
                    /// Unix seconds, as every time below.
                    pay_time: Option<u64> = "pay_time",
                    shipped_time: Option<u64> = "shipped_time",
                    estimated_settlement_time: Option<u64> = "estimated_settlement_time",
                    /// 1: confirmed automatically, 2: by the user.
                    confirm_receive_method: Option<u32> = "confirm_receive_method",
                    confirm_receive_time: Option<u64> = "confirm_receive_time",
                    settlement_time: Option<u64> = "settlement_time",
                }
                /// Mini-program logistics (物流助手): a new step on a waybill's path.
                AddExpressPath(AddExpressPath) = "add_express_path", EventAddExpressPath, on_event_add_express_path {
                    delivery_id: ByteString = "DeliveryID",
                    waybill_id: ByteString = "WaybillId",
                    order_id: ByteString = "OrderId",
                    version: Option<u64> = "Version",
                    count: Option<u32> = "Count",
                    actions: Vec<ExpressAction> = "Actions",
                }
                /// Mini-game virtual payment (虚拟支付): goods to deliver.
                XpayGoodsDeliverNotify(XpayGoodsDeliverNotify) = "xpay_goods_deliver_notify", EventXpayGoodsDeliverNotify, on_event_xpay_goods_deliver_notify {
                    openid: ByteString = "OpenId",
                    out_trade_no: ByteString = "OutTradeNo",
                    /// 0: live, 1: sandbox.
                    env: Option<u32> = "Env",
                    mch_order_no: Option<ByteString> = "WeChatPayInfo/MchOrderNo",
                    transaction_id: Option<ByteString> = "WeChatPayInfo/TransactionId",
                    /// Unix seconds.
                    paid_time: Option<u64> = "WeChatPayInfo/PaidTime",
                    product_id: Option<ByteString> = "GoodsInfo/ProductId",
                    quantity: Option<u64> = "GoodsInfo/Quantity",
                    /// In cents (分), as the prices below.
                    orig_price: Option<u64> = "GoodsInfo/OrigPrice",
                    actual_price: Option<u64> = "GoodsInfo/ActualPrice",
                    attach: Option<ByteString> = "GoodsInfo/Attach",
                }
                /// Mini-game virtual payment: tokens (代币) paid for.
                XpayCoinPayNotify(XpayCoinPayNotify) = "xpay_coin_pay_notify", EventXpayCoinPayNotify, on_event_xpay_coin_pay_notify {
                    openid: ByteString = "OpenId",
                    out_trade_no: ByteString = "OutTradeNo",
                    /// 0: live, 1: sandbox.
                    env: Option<u32> = "Env",
                    mch_order_no: Option<ByteString> = "WeChatPayInfo/MchOrderNo",
                    transaction_id: Option<ByteString> = "WeChatPayInfo/TransactionId",
                    /// Unix seconds.
                    paid_time: Option<u64> = "WeChatPayInfo/PaidTime",
                    quantity: Option<u64> = "CoinInfo/Quantity",
                    /// In cents (分), as the price below.
                    orig_price: Option<u64> = "CoinInfo/OrigPrice",
                    actual_price: Option<u64> = "CoinInfo/ActualPrice",
                    attach: Option<ByteString> = "CoinInfo/Attach",
                }
            }
            infos {
                /// Open platform: the ticket pushed every 10 minutes to the authorization-event
                /// URL (valid 12 h; keep the latest).
                ComponentVerifyTicket(ComponentVerifyTicket) = "component_verify_ticket", InfoComponentVerifyTicket, on_info_component_verify_ticket {
                    /// The component (third-party platform) appid.
                    appid: ByteString = "AppId",
                    component_verify_ticket: ByteString = "ComponentVerifyTicket",
                }
                /// Open platform: an account authorized the platform.
                Authorized(Authorized) = "authorized", InfoAuthorized, on_info_authorized {
                    appid: ByteString = "AppId",
                    authorizer_appid: ByteString = "AuthorizerAppid",
                    authorization_code: ByteString = "AuthorizationCode",
                    /// Unix seconds.
                    authorization_code_expired_time: Option<u64> = "AuthorizationCodeExpiredTime",
                    pre_auth_code: Option<ByteString> = "PreAuthCode",
                }
                /// Open platform: an account changed its authorization.
                UpdateAuthorized(UpdateAuthorized) = "updateauthorized", InfoUpdateAuthorized, on_info_updateauthorized {
                    appid: ByteString = "AppId",
                    authorizer_appid: ByteString = "AuthorizerAppid",
                    authorization_code: ByteString = "AuthorizationCode",
                    /// Unix seconds.
                    authorization_code_expired_time: Option<u64> = "AuthorizationCodeExpiredTime",
                    pre_auth_code: Option<ByteString> = "PreAuthCode",
                }
                /// Open platform: an account withdrew its authorization.
                Unauthorized(Unauthorized) = "unauthorized", InfoUnauthorized, on_info_unauthorized {
                    appid: ByteString = "AppId",
                    authorizer_appid: ByteString = "AuthorizerAppid",
                }
                /// Open platform: a fast-registered mini-program was created (快速注册).
                NotifyThirdFasteregister(NotifyThirdFasteregister) = "notify_third_fasteregister", InfoNotifyThirdFasteregister, on_info_notify_third_fasteregister {
                    appid: ByteString = "AppId",
                    /// The new mini-program's appid (lower-case `appid`).
                    registered_appid: Option<ByteString> = "appid",
                    /// 0 on success.
                    status: Option<i64> = "status",
                    auth_code: Option<ByteString> = "auth_code",
                    msg: Option<ByteString> = "msg",
                    /// The enterprise's name (enterprise variant).
                    name: Option<ByteString> = "info/name",
                    code: Option<ByteString> = "info/code",
                    code_type: Option<u32> = "info/code_type",
                    legal_persona_wechat: Option<ByteString> = "info/legal_persona_wechat",
                    legal_persona_name: Option<ByteString> = "info/legal_persona_name",
                    component_phone: Option<ByteString> = "info/component_phone",
                }
                /// WeCom suite: the ticket pushed every 10 minutes (valid 30 min).
                SuiteTicket(SuiteTicket) = "suite_ticket", InfoSuiteTicket, on_info_suite_ticket {
                    suite_id: ByteString = "SuiteId",
                    suite_ticket: ByteString = "SuiteTicket",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
                /// WeCom suite: a corp installed the app; answer within 1000 ms, keep `AuthCode`
                /// (valid 10 min).
                CreateAuth(CreateAuth) = "create_auth", InfoCreateAuth, on_info_create_auth {
                    suite_id: ByteString = "SuiteId",
                    auth_code: ByteString = "AuthCode",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                    state: Option<ByteString> = "State",
                }
                /// WeCom suite: a corp changed the app's authorization.
                ChangeAuth(ChangeAuth) = "change_auth", InfoChangeAuth, on_info_change_auth {
                    suite_id: ByteString = "SuiteId",
                    auth_corp_id: ByteString = "AuthCorpId",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
                /// WeCom suite: a corp removed the app (delete its data).
                CancelAuth(CancelAuth) = "cancel_auth", InfoCancelAuth, on_info_cancel_auth {
                    suite_id: ByteString = "SuiteId",
                    auth_corp_id: ByteString = "AuthCorpId",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
                /// WeCom suite: a corp's permanent code was reset.
                ResetPermanentCode(ResetPermanentCode) = "reset_permanent_code", InfoResetPermanentCode, on_info_reset_permanent_code {
                    suite_id: ByteString = "SuiteId",
                    auth_code: ByteString = "AuthCode",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
                /// WeCom suite: an authorizing corp's address book changed (suite form of
                /// `change_contact`); every other field is in
                /// [`Callback::fields`](crate::Callback::fields).
                ChangeContact(SuiteChangeContact) = "change_contact", InfoChangeContact, on_info_change_contact {
                    suite_id: ByteString = "SuiteId",
                    auth_corp_id: ByteString = "AuthCorpId",
                    /// `create_user`, `update_user`, `delete_user`, `create_party`,
                    /// `update_party`, `delete_party`, `update_tag`.
                    change_type: ByteString = "ChangeType",
                    user_id: Option<ByteString> = "UserID",
                    open_user_id: Option<ByteString> = "OpenUserID",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
                /// WeCom suite: an external contact changed (客户联系).
                ChangeExternalContact(SuiteChangeExternalContact) = "change_external_contact", InfoChangeExternalContact, on_info_change_external_contact {
                    suite_id: ByteString = "SuiteId",
                    auth_corp_id: ByteString = "AuthCorpId",
                    /// `add_external_contact`, `edit_external_contact`, `del_external_contact`, …
                    change_type: ByteString = "ChangeType",
                    user_id: Option<ByteString> = "UserID",
                    external_user_id: Option<ByteString> = "ExternalUserID",
                    state: Option<ByteString> = "State",
                    welcome_code: Option<ByteString> = "WelcomeCode",
                    /// Unix seconds.
                    timestamp: Option<u64> = "TimeStamp",
                }
            }
        }
    };
}

pub(crate) use for_each_kind;

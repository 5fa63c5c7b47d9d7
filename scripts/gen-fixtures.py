#!/usr/bin/env python3
"""Regenerates fixtures/*.json (except the hand-kept ones) from the message table below.

Requests are signed and encrypted by `wxcb sign` / `wxcb encrypt` (deterministic random bytes
and nonces derived from the case name); the *expected* fields are computed here, independently,
with Python's ElementTree, and the expected plain-mode reply bytes are written out by hand.
Official vectors (Tencent's samples, wechatpy, EasyWeChat) are turned into fixtures as published.

Usage: cargo build -p wechat-callback-cli && python3 scripts/gen-fixtures.py [vectors.json]
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WXCB = os.path.join(ROOT, "target", "debug", "wxcb")
OUT = os.path.join(ROOT, "fixtures")
VECTORS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fixtures", "crypto", "_vectors.json")

TOKEN = "wxcbFixtureToken"
AES_KEY = base64.b64encode(hashlib.sha256(b"wechat-callback fixtures").digest()).decode()[:43]
APPID = "wx5f1c0d2a9b3e7a01"
ACCOUNT = "gh_3f1c0d2a9b3e"
OPENID = "oWxcb-User0001abcdEFGH12345"
CORPID = "ww5f1c0d2a9b3e7a01"
AGENT = "1000002"
NOW = 1763700000
TS = NOW - 3
TOLERANCE = 300

def cdata(name, text):
    return f"<{name}><![CDATA[{text}]]></{name}>"

def plain(name, text):
    return f"<{name}>{text}</{name}>"

MESSAGES = {
    "text": [cdata("Content", "你好, WeChat 👋 <b>&amp; co</b>"), plain("MsgId", "9223372036854775809")],
    "image": [cdata("PicUrl", "http://mmbiz.qpic.cn/pic/1"), cdata("MediaId", "media_img_1"), plain("MsgId", "6054768590064713729")],
    "voice": [cdata("MediaId", "media_voice_1"), cdata("Format", "amr"), cdata("Recognition", "腾讯微信团队"), plain("MsgId", "6054768590064713730")],
    "video": [cdata("MediaId", "media_video_1"), cdata("ThumbMediaId", "thumb_1"), plain("MsgId", "6054768590064713731")],
    "shortvideo": [cdata("MediaId", "media_sv_1"), cdata("ThumbMediaId", "thumb_2"), plain("MsgId", "6054768590064713732")],
    "location": [plain("Location_X", "23.134521"), plain("Location_Y", "113.358803"), plain("Scale", "20"), cdata("Label", "广州市天河区"), plain("MsgId", "6054768590064713733")],
    "link": [cdata("Title", "公众平台官网链接"), cdata("Description", "公众平台官网链接"), cdata("Url", "https://mp.weixin.qq.com"), plain("MsgId", "6054768590064713734")],
    "file": [cdata("Title", "report.pdf"), cdata("Description", "季度报告"), cdata("FileKey", "fk_1"), cdata("FileMd5", "5a0b1c"), plain("FileTotalLen", "102400"), plain("MsgId", "6054768590064713735")],
    "miniprogrampage": [cdata("Title", "小程序卡片"), cdata("AppId", "wxapp0000000001"), cdata("PagePath", "pages/index/index?x=1"), cdata("ThumbUrl", "http://mmbiz.qpic.cn/thumb"), cdata("ThumbMediaId", "thumb_3"), plain("MsgId", "6054768590064713736")],
}

EVENTS = {
    "subscribe": [cdata("EventKey", "qrscene_123123"), cdata("Ticket", "TICKET_abc")],
    "unsubscribe": [cdata("EventKey", "")],
    "SCAN": [cdata("EventKey", "123123"), cdata("Ticket", "TICKET_abc")],
    "LOCATION": [plain("Latitude", "23.137466"), plain("Longitude", "113.352425"), plain("Precision", "119.385040")],
    "CLICK": [cdata("EventKey", "V1001_TODAY_MUSIC")],
    "VIEW": [cdata("EventKey", "https://www.qq.com/"), plain("MenuId", "208396938")],
    "view_miniprogram": [cdata("EventKey", "pages/index/index"), cdata("MenuId", "MENUID")],
    "scancode_push": [cdata("EventKey", "6"), "<ScanCodeInfo>" + cdata("ScanType", "qrcode") + cdata("ScanResult", "1") + "</ScanCodeInfo>"],
    "scancode_waitmsg": [cdata("EventKey", "6"), "<ScanCodeInfo>" + cdata("ScanType", "qrcode") + cdata("ScanResult", "2") + "</ScanCodeInfo>"],
    "pic_sysphoto": [cdata("EventKey", "6"), "<SendPicsInfo><Count>1</Count><PicList><item>" + cdata("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185") + "</item></PicList></SendPicsInfo>"],
    "pic_photo_or_album": [cdata("EventKey", "6"), "<SendPicsInfo><Count>2</Count><PicList><item>" + cdata("PicMd5Sum", "5a75aaca956d97be686719218f275c6b") + "</item><item>" + cdata("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185") + "</item></PicList></SendPicsInfo>"],
    "pic_weixin": [cdata("EventKey", "6"), "<SendPicsInfo><Count>1</Count><PicList><item>" + cdata("PicMd5Sum", "5a75aaca956d97be686719218f275c6b") + "</item></PicList></SendPicsInfo>"],
    "location_select": [cdata("EventKey", "6"), "<SendLocationInfo>" + plain("Location_X", "23") + plain("Location_Y", "113") + plain("Scale", "15") + cdata("Label", " 广州市海珠区客村艺苑路 106号") + cdata("Poiname", "") + "</SendLocationInfo>"],
    "TEMPLATESENDJOBFINISH": [plain("MsgID", "200163836"), cdata("Status", "success")],
    "MASSSENDJOBFINISH": [plain("MsgID", "1000001625"), cdata("Status", "err(30003)"), plain("TotalCount", "0"), plain("FilterCount", "0"), plain("SentCount", "0"), plain("ErrorCount", "0")],
    "PUBLISHJOBFINISH": ["<PublishEventInfo>" + plain("publish_id", "2247503051") + plain("publish_status", "0") + cdata("article_id", "b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy") + "<article_detail>" + plain("count", "1") + "<item>" + plain("idx", "1") + cdata("article_url", "ARTICLE_URL") + "</item></article_detail></PublishEventInfo>"],
    "subscribe_msg_popup_event": ["<SubscribeMsgPopupEvent><List>" + cdata("TemplateId", "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc") + cdata("SubscribeStatusString", "accept") + plain("PopupScene", "2") + "</List><List>" + cdata("TemplateId", "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI") + cdata("SubscribeStatusString", "reject") + plain("PopupScene", "2") + "</List></SubscribeMsgPopupEvent>"],
    "subscribe_msg_change_event": ["<SubscribeMsgChangeEvent><List>" + cdata("TemplateId", "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc") + cdata("SubscribeStatusString", "reject") + "</List></SubscribeMsgChangeEvent>"],
    "subscribe_msg_sent_event": ["<SubscribeMsgSentEvent><List>" + cdata("TemplateId", "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc") + plain("MsgID", "1700827132819554304") + plain("ErrorCode", "0") + cdata("ErrorStatus", "success") + "</List></SubscribeMsgSentEvent>"],
    "kf_create_session": [cdata("KfAccount", "test1@test")],
    "kf_close_session": [cdata("KfAccount", "test1@test")],
    "kf_switch_session": [cdata("FromKfAccount", "test1@test"), cdata("ToKfAccount", "test2@test")],
    "user_info_modified": [cdata("OpenID", OPENID), cdata("AppID", APPID), cdata("RevokeInfo", "301")],
    "user_authorization_revoke": [cdata("OpenID", OPENID), cdata("AppID", APPID), cdata("RevokeInfo", "1")],
    "card_pass_check": [cdata("CardId", "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"), cdata("RefuseReason", "")],
    "card_not_pass_check": [cdata("CardId", "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"), cdata("RefuseReason", "非法代制")],
    "user_get_card": [cdata("CardId", "po2VNuCuRo-8sxxxxxxxxxxx"), plain("IsGiveByFriend", "0"), cdata("UserCardCode", "226009850808"), cdata("FriendUserName", ""), plain("OuterId", "0"), cdata("OldUserCardCode", ""), plain("IsRestoreMemberCard", "0"), cdata("UnionId", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")],
    "user_del_card": [cdata("CardId", "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"), cdata("UserCardCode", "12312312")],
    "user_consume_card": [cdata("CardId", "pMOEZt-mbVOYq3m4QtE5GO8r-QDs"), cdata("UserCardCode", "534186236124"), cdata("ConsumeSource", "FROM_API"), cdata("LocationName", ""), cdata("StaffOpenId", "oZI8Fj040-be6rlDohc6gkoPOQTQ"), cdata("VerifyCode", ""), cdata("RemarkAmount", ""), cdata("OuterStr", "")],
    "user_view_card": [cdata("CardId", "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"), cdata("UserCardCode", "12312312"), cdata("OuterStr", "12b")],
    # Mini-program events in the XML format (callback-formats.md §1.8).
    "user_enter_tempsession": [cdata("SessionFrom", "sessionFrom")],
    "wxa_media_check": [cdata("appid", "wxb04d1be1ede56d47"), cdata("trace_id", "690b03d2-301f6111-35ffbd44"), plain("version", "2"), "<result>" + cdata("suggest", "pass") + plain("label", "100") + "</result>", "<detail>" + cdata("strategy", "content_model") + plain("errcode", "0") + cdata("suggest", "pass") + plain("label", "100") + plain("prob", "90") + "</detail>"],
    "trade_manage_remind_access_api": [cdata("msg", "请尽快接入发货信息管理")],
    "trade_manage_remind_shipping": [cdata("transaction_id", "4200001234202311210000000001"), cdata("merchant_id", "1230000109"), cdata("sub_merchant_id", ""), cdata("merchant_trade_no", "T20231121001"), plain("pay_time", "1700500000"), cdata("msg", "请尽快发货")],
    "trade_manage_order_settlement": [cdata("transaction_id", "4200001234202311210000000001"), cdata("merchant_id", "1230000109"), cdata("merchant_trade_no", "T20231121001"), plain("pay_time", "1700500000"), plain("shipped_time", "1700600000"), plain("estimated_settlement_time", "1701200000")],
    "add_express_path": [cdata("DeliveryID", "SF"), cdata("WaybillId", "SF1234567890"), plain("Version", "3"), plain("Count", "2"), "<Actions>" + plain("ActionTime", "1700500000") + plain("ActionType", "100001") + cdata("ActionMsg", "揽件阶段") + "</Actions>", "<Actions>" + plain("ActionTime", "1700510000") + plain("ActionType", "200001") + cdata("ActionMsg", "运输阶段") + "</Actions>", cdata("OrderId", "order_1")],
    "xpay_goods_deliver_notify": [cdata("OpenId", OPENID), cdata("OutTradeNo", "xpay_1"), plain("Env", "0"), "<WeChatPayInfo>" + cdata("MchOrderNo", "mch_1") + cdata("TransactionId", "4200000001") + plain("PaidTime", "1700500000") + "</WeChatPayInfo>", "<GoodsInfo>" + cdata("ProductId", "gem_60") + plain("Quantity", "1") + plain("OrigPrice", "600") + plain("ActualPrice", "600") + cdata("Attach", "") + "</GoodsInfo>"],
    "xpay_coin_pay_notify": [cdata("OpenId", OPENID), cdata("OutTradeNo", "xpay_2"), plain("Env", "1"), "<WeChatPayInfo>" + cdata("MchOrderNo", "mch_2") + cdata("TransactionId", "4200000002") + plain("PaidTime", "1700500001") + "</WeChatPayInfo>", "<CoinInfo>" + plain("Quantity", "60") + plain("OrigPrice", "600") + plain("ActualPrice", "600") + cdata("Attach", "") + "</CoinInfo>"],
}

WECOM_EVENTS = {
    "enter_agent": [cdata("EventKey", "")],
    "change_contact": [cdata("ChangeType", "create_user"), cdata("UserID", "zhangsan"), cdata("Name", "张三"), cdata("Department", "1,2,3"), plain("Mobile", "13800000000")],
    "batch_job_result": ["<BatchJob>" + cdata("JobId", "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4") + cdata("JobType", "sync_user") + plain("ErrCode", "0") + cdata("ErrMsg", "ok") + "</BatchJob>"],
    "change_external_contact": [cdata("ChangeType", "add_external_contact"), cdata("UserID", "zhangsan"), cdata("ExternalUserID", "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"), cdata("State", "teststate"), cdata("WelcomeCode", "WELCOMECODE")],
    "change_external_chat": [cdata("ChatId", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"), cdata("ChangeType", "update"), cdata("UpdateDetail", "add_member"), plain("JoinScene", "1"), plain("MemChangeCnt", "10")],
    "change_external_tag": [cdata("Id", "etm7wjCgAA5ZrTxjGDHNVB10UB3YWkQA"), cdata("TagType", "tag"), cdata("ChangeType", "create")],
}


def message_xml(msg_type, inner, to=ACCOUNT, sender=OPENID, event=None, extra=""):
    parts = [cdata("ToUserName", to), cdata("FromUserName", sender), plain("CreateTime", str(TS - 10)), cdata("MsgType", msg_type)]
    if event is not None:
        parts.append(cdata("Event", event))
    return "<xml>" + "".join(parts) + "".join(inner) + extra + "</xml>"


def fields_of(xml_text):
    def conv(el):
        children = list(el)
        if not children:
            return el.text or ""
        out = {}
        for c in children:
            v = conv(c)
            if c.tag in out:
                if isinstance(out[c.tag], list):
                    out[c.tag].append(v)
                else:
                    out[c.tag] = [out[c.tag], v]
            else:
                out[c.tag] = v
        return out
    return conv(ET.fromstring(xml_text))


def seed(name, n):
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def wxcb(args, stdin):
    out = subprocess.run([WXCB] + args, input=stdin, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


COMPONENT = "wx9c1d0a2b3e4f5061"   # an open-platform component appid
SUITE = "ww9c1d0a2b3e4f5062"       # a WeCom suite id

# Open-platform authorization events (callback-formats.md §2.3) and WeCom suite command
# callbacks (§3.3): InfoType bodies, always encrypted.
OPEN_PLATFORM_INFOS = {
    "component_verify_ticket": [cdata("ComponentVerifyTicket", "ticket@@@T3ZmTz2xkq")],
    "authorized": [cdata("AuthorizerAppid", APPID), cdata("AuthorizationCode", "queryauthcode@@@abc"), plain("AuthorizationCodeExpiredTime", str(TS + 3600)), cdata("PreAuthCode", "preauthcode@@@xyz")],
    "updateauthorized": [cdata("AuthorizerAppid", APPID), cdata("AuthorizationCode", "queryauthcode@@@def"), plain("AuthorizationCodeExpiredTime", str(TS + 3600)), cdata("PreAuthCode", "preauthcode@@@uvw")],
    "unauthorized": [cdata("AuthorizerAppid", APPID)],
    "notify_third_fasteregister": [plain("appid", "wxnew0000000000001"), plain("status", "0"), plain("auth_code", "authcode_1"), plain("msg", "OK"), "<info>" + cdata("name", "企业名称") + cdata("code", "91440300000000000X") + plain("code_type", "1") + cdata("legal_persona_wechat", "legal_wx") + cdata("legal_persona_name", "张三") + cdata("component_phone", "13800000000") + "</info>"],
}
SUITE_INFOS = {
    "suite_ticket": [cdata("SuiteTicket", "suite_ticket_value")],
    "create_auth": [cdata("AuthCode", "AUTHCODE"), cdata("State", "123"), "<ExtraInfo></ExtraInfo>"],
    "change_auth": [cdata("AuthCorpId", CORPID)],
    "cancel_auth": [cdata("AuthCorpId", CORPID)],
    "reset_permanent_code": [cdata("AuthCode", "AUTHCODE2")],
    "change_contact": [cdata("AuthCorpId", CORPID), cdata("ChangeType", "create_user"), cdata("UserID", "zhangsan"), cdata("OpenUserID", "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"), cdata("Name", "张三"), cdata("Department", "1,2,3")],
    "change_external_contact": [cdata("AuthCorpId", CORPID), cdata("ChangeType", "add_external_contact"), cdata("UserID", "zhangsan"), cdata("ExternalUserID", "woAJ2GCAAAd1NPGHKSD4wKmE8Aabj9AAA"), cdata("State", "teststate"), cdata("WelcomeCode", "WELCOMECODE")],
}


def info_xml(info_type, inner, platform):
    if platform == "open_platform":
        head = [cdata("AppId", COMPONENT), plain("CreateTime", str(TS - 10)), cdata("InfoType", info_type)]
    else:
        head = [cdata("SuiteId", SUITE), cdata("InfoType", info_type), plain("TimeStamp", str(TS - 10))]
    return "<xml>" + "".join(head) + "".join(inner) + "</xml>"


# Mini-program pushes in the JSON format (callback-formats.md §1.7, §1.8): as WeChat sends them,
# numbers as numbers (CreateTime as a string once: WeChat sends both), List an object for one
# item and an array for several.
MINI_JSON = {
    "msg_text": {"MsgType": "text", "Content": "小程序 hello 👋 <&>", "MsgId": 23993307130407686},
    "msg_image": {"MsgType": "image", "PicUrl": "http://mmbiz.qpic.cn/pic/2", "MediaId": "media_img_2", "MsgId": 23993307130407687},
    "msg_miniprogrampage": {"MsgType": "miniprogrampage", "MsgId": 23993307130407688, "Title": "title", "AppId": "wxapp0000000002", "PagePath": "pages/a/a", "ThumbUrl": "", "ThumbMediaId": ""},
    "event_user_enter_tempsession": {"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "sessionFrom"},
    "event_wxa_media_check": {"MsgType": "event", "Event": "wxa_media_check", "appid": "wxb04d1be1ede56d47", "trace_id": "690b03d2-301f6111-35ffbd44", "version": 2, "result": {"suggest": "pass", "label": "100"}, "detail": [{"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": "100", "prob": 90}]},
    "event_subscribe_msg_popup_event": {"MsgType": "event", "Event": "subscribe_msg_popup_event", "List": {"TemplateId": "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc", "SubscribeStatusString": "accept", "PopupScene": "0"}},
    "event_subscribe_msg_change_event": {"MsgType": "event", "Event": "subscribe_msg_change_event", "List": [{"TemplateId": "t1", "SubscribeStatusString": "reject"}, {"TemplateId": "t2", "SubscribeStatusString": "accept"}]},
    "event_subscribe_msg_sent_event": {"MsgType": "event", "Event": "subscribe_msg_sent_event", "List": {"TemplateId": "t1", "MsgID": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"}},
    "event_trade_manage_remind_access_api": {"MsgType": "event", "Event": "trade_manage_remind_access_api", "msg": "请尽快接入"},
    "event_trade_manage_remind_shipping": {"MsgType": "event", "Event": "trade_manage_remind_shipping", "transaction_id": "4200001", "merchant_id": "1230000109", "sub_merchant_id": "", "merchant_trade_no": "T1", "pay_time": 1700500000, "msg": "请尽快发货"},
    "event_trade_manage_order_settlement": {"MsgType": "event", "Event": "trade_manage_order_settlement", "transaction_id": "4200001", "merchant_id": "1230000109", "merchant_trade_no": "T1", "pay_time": 1700500000, "shipped_time": 1700600000, "estimated_settlement_time": 1701200000},
    "event_add_express_path": {"MsgType": "event", "Event": "add_express_path", "DeliveryID": "SF", "WaybillId": "SF1", "Version": 3, "Count": 2, "Actions": [{"ActionTime": 1700500000, "ActionType": 100001, "ActionMsg": "揽件"}, {"ActionTime": 1700510000, "ActionType": 200001, "ActionMsg": "运输"}], "OrderId": "o1"},
    "event_xpay_goods_deliver_notify": {"MsgType": "event", "Event": "xpay_goods_deliver_notify", "OpenId": OPENID, "OutTradeNo": "x1", "Env": 0, "WeChatPayInfo": {"MchOrderNo": "m1", "TransactionId": "42", "PaidTime": 1700500000}, "GoodsInfo": {"ProductId": "gem", "Quantity": 1, "OrigPrice": 600, "ActualPrice": 600, "Attach": ""}},
    "event_xpay_coin_pay_notify": {"MsgType": "event", "Event": "xpay_coin_pay_notify", "OpenId": OPENID, "OutTradeNo": "x2", "Env": 1, "WeChatPayInfo": {"MchOrderNo": "m2", "TransactionId": "43", "PaidTime": 1700500001}, "CoinInfo": {"Quantity": 60, "OrigPrice": 600, "ActualPrice": 600, "Attach": ""}},
}


def json_tree(value):
    """The fixture format's field tree of a JSON value: every scalar a string."""
    if isinstance(value, dict):
        return {k: json_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_tree(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def mini_json_case(stem, inner, mode):
    name = f"miniprogram_json_{stem}__{ {'plain': 'plain', 'safe': 'safe', 'compatible': 'compat'}[mode] }"
    create_time = str(TS - 10) if stem.endswith("popup_event") else TS - 10
    message = {"ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": create_time, **inner}
    text = json.dumps(message, ensure_ascii=False)
    req = build(name, text, "plain" if mode == "plain" else mode)
    body = text
    if mode != "plain":
        encrypt = req["body"].split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        envelope = {"ToUserName": ACCOUNT, "Encrypt": encrypt}
        if mode == "compatible":
            envelope = {**message, "Encrypt": encrypt}
        body = json.dumps(envelope, ensure_ascii=False)
    is_event = inner["MsgType"] == "event"
    cfg = config("safe" if mode == "safe" else mode, "miniprogram", format="json")
    write({"name": name, "source": "generated by scripts/gen-fixtures.py: a mini-program push in JSON", "method": "POST",
           "query": req["query"], "query_string": req["query_string"], "body": body, "config": cfg,
           "expect": {"outcome": "ok", "kind": "event" if is_event else "message", "msg_type": inner["MsgType"],
                      "event": inner["Event"].lower() if is_event else None, "fields": json_tree(message),
                      "response_body": "success"}})


def build(name, xml_text, mode, platform="mp", timestamp=None, extra_args=()):
    nonce = str(int(seed(name + "nonce", 8), 16) % 9000000000 + 1000000000)
    ts = str(TS if timestamp is None else timestamp)
    common = ["--token", TOKEN, "--timestamp", ts, "--nonce", nonce, "--xml", "-"]
    if platform == "mp" or (platform == "open_platform" and "<InfoType>" not in xml_text):
        common += ["--openid", OPENID]
    if mode == "plain":
        return wxcb(["sign"] + common + list(extra_args), xml_text)
    args = ["encrypt"] + common + ["--aes-key", AES_KEY, "--random", seed(name, 32)]
    if platform == "wecom":
        args += ["--appid", CORPID, "--wecom", "--agent-id", AGENT]
    elif platform == "wecom_suite":
        args += ["--appid", SUITE, "--platform", "wecom_suite"]
    elif platform == "open_platform":
        args += ["--appid", COMPONENT, "--platform", "open_platform"]
    else:
        args += ["--appid", APPID] + (["--compat"] if mode == "compatible" else [])
    return wxcb(args + list(extra_args), xml_text)


def config(mode, platform="mp", **over):
    appid = {"wecom": CORPID, "wecom_suite": SUITE, "open_platform": COMPONENT}.get(platform, APPID)
    c = {"platform": platform, "token": TOKEN, "appid": appid,
         "now": NOW, "timestamp_tolerance_s": TOLERANCE, "max_body_bytes": 524288}
    if platform == "wecom":
        c["encoding_aes_key"] = AES_KEY
        c["agent_id"] = AGENT
    elif platform in ("wecom_suite", "open_platform"):
        c["encoding_aes_key"] = AES_KEY
    elif mode != "plain":
        c["encoding_aes_key"] = AES_KEY
        c["mode"] = mode
    else:
        c["mode"] = "plain"
    if platform == "miniprogram" and "format" not in over:
        c["format"] = "xml"
    c.update(over)
    return c


def text_reply(content, to=OPENID, frm=ACCOUNT):
    c = content.replace("]]>", "]]]]><![CDATA[>")
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{frm}]]></FromUserName>"
            f"<CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{c}]]></Content></xml>")


# Recorded cases copied from ../shared/fixture-examples: never overwritten here.
KEEP = {"msg_text__safe", "event_pic_weixin__compat", "bad_wrong_appid__safe", "echostr_wecom_encrypted"}


def write(fx):
    if fx["name"] in KEEP:
        return
    with open(os.path.join(OUT, fx["name"] + ".json"), "w", encoding="utf-8") as f:
        json.dump(fx, f, ensure_ascii=False, indent=1)
        f.write("\n")


def ok_case(name, xml_text, mode, platform="mp", source="generated by scripts/gen-fixtures.py", expect_plain_xml=None, authorizer=None):
    # wxcb writes the platform's envelope: <AppId> + <Encrypt> for an open platform's
    # authorization event, <ToUserName>suite_id + <Encrypt> + <AgentID> for a suite's command.
    req = build(name, xml_text, mode, platform, extra_args=["--on-behalf-of", authorizer] if authorizer else ())
    if platform == "open_platform" and "<InfoType>" in xml_text:
        assert req["body"].startswith(f"<xml><AppId><![CDATA[{COMPONENT}]]></AppId><Encrypt>"), req["body"]
    fields = fields_of(expect_plain_xml or xml_text)
    is_event = fields.get("MsgType") == "event"
    is_info = "MsgType" not in fields and "InfoType" in fields
    expect = {"outcome": "ok", "kind": "info" if is_info else "event" if is_event else "message",
              "msg_type": None if is_info else fields.get("MsgType", ""),
              "event": fields["InfoType"].lower() if is_info else fields["Event"].lower() if is_event else None,
              "fields": fields,
              "reply": {"encrypted": mode != "plain", "to": fields.get("FromUserName"), "from": fields.get("ToUserName")}}
    if mode == "plain":
        expect["response_body"] = text_reply(fields["Content"], fields["FromUserName"], fields["ToUserName"]) if fields.get("MsgType") == "text" else "success"
    cfg = config(mode, platform, **({"authorizer_appid": authorizer} if authorizer else {}))
    write({"name": name, "source": source, "method": req["method"], "query": req["query"],
           "query_string": req["query_string"], "body": req["body"], "config": cfg, "expect": expect})
    return req


def err_case(name, req, cfg, error, source="generated by scripts/gen-fixtures.py", method=None, query_string=None, body=None):
    fx = {"name": name, "source": source, "method": method or req["method"], "query": req["query"],
          "query_string": query_string if query_string is not None else req["query_string"],
          "body": req["body"] if body is None else body, "config": cfg,
          "expect": {"outcome": "error", "error": error}}
    write(fx)


def qs(query):
    from urllib.parse import urlencode
    return urlencode(query)


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def main():
    os.makedirs(OUT, exist_ok=True)
    modes = {"plain": "plain", "safe": "safe", "compat": "compatible"}
    # One case per message kind and event kind, in every mode.
    for msg_type, inner in MESSAGES.items():
        for suffix, mode in modes.items():
            ok_case(f"msg_{msg_type}__{suffix}", message_xml(msg_type, inner), mode)
    for event, inner in EVENTS.items():
        for suffix, mode in modes.items():
            ok_case(f"event_{event.lower()}__{suffix}", message_xml("event", inner, event=event), mode)
    # WeCom: messages and its own events, always encrypted; AgentID inside the plaintext.
    agent = plain("AgentID", AGENT)
    ok_case("wecom_msg_text__safe", message_xml("text", [cdata("Content", "企业微信 hello"), plain("MsgId", "4561255354251345929")], to=CORPID, sender="zhangsan", extra=agent), "safe", "wecom")
    ok_case("wecom_msg_image__safe", message_xml("image", [cdata("PicUrl", "http://p.qpic.cn/1"), cdata("MediaId", "m1"), plain("MsgId", "4561255354251345930")], to=CORPID, sender="zhangsan", extra=agent), "safe", "wecom")
    # WeCom: a message for another application of the corp (AgentID not the configured one).
    other_agent = build("bad_wecom_other_agent__safe", message_xml("text", [cdata("Content", "for app 1000003"), plain("MsgId", "4561255354251345931")], to=CORPID, sender="zhangsan", extra=plain("AgentID", "1000003")), "safe", "wecom")
    err_case("bad_wecom_other_agent__safe", other_agent, config("safe", "wecom"), "appid", source="generated: AgentID 1000003 to the account of AgentID 1000002")
    for event, inner in WECOM_EVENTS.items():
        ok_case(f"wecom_event_{event}__safe", message_xml("event", inner, to=CORPID, sender="sys" if event != "enter_agent" else "zhangsan", event=event, extra=agent), "safe", "wecom")
    # Mini-program pushes in JSON, every mini-program kind in every mode.
    for stem, inner in MINI_JSON.items():
        for mode in ("plain", "safe", "compatible"):
            mini_json_case(stem, inner, mode)
    # InfoType pushes: the open platform's authorization events, a WeCom suite's commands.
    for info_type, inner in OPEN_PLATFORM_INFOS.items():
        ok_case(f"info_{info_type}__safe", info_xml(info_type, inner, "open_platform"), "safe", "open_platform")
    for info_type, inner in SUITE_INFOS.items():
        ok_case(f"info_suite_{info_type}__safe", info_xml(info_type, inner, "wecom_suite"), "safe", "wecom_suite")
    # An open platform's authorizers: their messages at /{component}/{authorizer appid},
    # decrypted with the component's crypto; text echoed, events answered success.
    authorizer_text = message_xml("text", [cdata("Content", "代收消息 hello"), plain("MsgId", "24012345678901234")])
    ok_case("open_platform_authorizer_msg_text__safe", authorizer_text, "safe", "open_platform", authorizer=APPID)
    ok_case("open_platform_authorizer_event_subscribe__safe", message_xml("event", [cdata("EventKey", "")], event="subscribe"), "safe", "open_platform", authorizer=APPID)
    # Bad input on the new surfaces.
    ticket = info_xml("component_verify_ticket", OPEN_PLATFORM_INFOS["component_verify_ticket"], "open_platform")
    wrong = build("bad_open_platform_wrong_component__safe", ticket, "safe", "open_platform", extra_args=["--encrypt-for", "wx0000000000000bad"])
    err_case("bad_open_platform_wrong_component__safe", wrong, config("safe", "open_platform"), "appid", source="generated: an authorization event encrypted for another component appid")
    op_good = build("bad_open_platform_plaintext__safe", ticket, "safe", "open_platform")
    q = dict(op_good["query"]); q["msg_signature"] = sha1_sorted(TOKEN, q["timestamp"], q["nonce"], "")
    err_case("bad_open_platform_plaintext__safe", op_good, config("safe", "open_platform"), "xml", query_string=qs(q), body=ticket, source="generated: a plaintext authorization event (the open platform is safe mode only)")
    wrong = build("bad_open_platform_authorizer_other_key__safe", authorizer_text, "safe", "open_platform", extra_args=["--on-behalf-of", APPID, "--encrypt-for", APPID])
    err_case("bad_open_platform_authorizer_other_key__safe", wrong, config("safe", "open_platform", authorizer_appid=APPID), "appid", source="generated: an authorizer's message encrypted for the authorizer's appid instead of the component's")
    suite_ticket = info_xml("suite_ticket", SUITE_INFOS["suite_ticket"], "wecom_suite")
    wrong = build("bad_suite_wrong_suite_id__safe", suite_ticket, "safe", "wecom_suite", extra_args=["--encrypt-for", "ww0000000000000bad"])
    err_case("bad_suite_wrong_suite_id__safe", wrong, config("safe", "wecom_suite"), "appid", source="generated: a suite_ticket encrypted for another suite id")
    suite_good = build("bad_suite_msg_signature__safe", suite_ticket, "safe", "wecom_suite")
    q = dict(suite_good["query"]); q["msg_signature"] = q["msg_signature"][::-1]
    err_case("bad_suite_msg_signature__safe", suite_good, config("safe", "wecom_suite"), "signature", query_string=qs(q))
    # Unknown kinds are kept, never errors.
    ok_case("msg_unknown_type__plain", message_xml("brand_new_type", [cdata("Anything", "kept"), "<Nested><A>1</A><A>2</A></Nested>"]), "plain")
    ok_case("event_unknown__safe", message_xml("event", [cdata("EventKey", "k"), cdata("Future", "field")], event="some_future_event"), "safe")
    info = "<xml>" + cdata("AppId", "wxcomponent0001") + plain("CreateTime", str(TS)) + cdata("InfoType", "component_verify_ticket") + cdata("ComponentVerifyTicket", "ticket@@@xyz") + "</xml>"
    ok_case("open_platform_info__safe", info, "safe")
    # Compatible mode: the decrypted copy wins over the plaintext beside it.
    secret = message_xml("text", [cdata("Content", "the encrypted copy"), plain("MsgId", "1")])
    decoy = message_xml("text", [cdata("Content", "the plaintext copy"), plain("MsgId", "1")])
    req = build("msg_text_decrypted_copy_wins__compat", secret, "compatible")
    body = req["body"].replace("the encrypted copy", "the plaintext copy")
    assert "the plaintext copy" in body
    fields = fields_of(secret)
    write({"name": "msg_text_decrypted_copy_wins__compat", "source": "generated: plaintext fields differ from Encrypt",
           "method": "POST", "query": req["query"], "query_string": req["query_string"], "body": body,
           "config": config("compatible"),
           "expect": {"outcome": "ok", "kind": "message", "msg_type": "text", "event": None, "fields": fields,
                      "reply": {"encrypted": True, "to": OPENID, "from": ACCOUNT}}})
    # Compatible mode without encrypt_type: plaintext in, plaintext out.
    req = build("msg_text_compat_unencrypted", decoy, "plain")
    write({"name": "msg_text_compat_unencrypted__compat", "source": "generated: compatible account, plaintext request",
           "method": "POST", "query": req["query"], "query_string": req["query_string"], "body": req["body"],
           "config": config("compatible"),
           "expect": {"outcome": "ok", "kind": "message", "msg_type": "text", "fields": fields_of(decoy),
                      "response_body": text_reply("the plaintext copy"), "reply": {"encrypted": False, "to": OPENID, "from": ACCOUNT}}})
    # A reply whose content holds a CDATA terminator.
    ok_case("msg_text_cdata_terminator__plain", message_xml("text", [plain("Content", "a ]]&gt; b &lt;/xml&gt;"), plain("MsgId", "18446744073709551615")]), "plain")

    # URL verification.
    echo = wxcb(["sign", "--token", TOKEN, "--timestamp", str(TS), "--nonce", "1234567890", "--echostr", "7396104893226583046"], "")
    write({"name": "echostr_plain", "source": "generated", "method": "GET", "query": echo["query"], "query_string": echo["query_string"],
           "body": "", "config": config("plain"), "expect": {"outcome": "ok", "kind": "echostr", "response_body": "7396104893226583046"}})
    write({"name": "echostr_safe_account", "source": "generated: official accounts verify with a plain echostr in every mode", "method": "GET",
           "query": echo["query"], "query_string": echo["query_string"], "body": "", "config": config("safe"),
           "expect": {"outcome": "ok", "kind": "echostr", "response_body": "7396104893226583046"}})
    werr = wxcb(["encrypt", "--token", TOKEN, "--timestamp", str(TS), "--nonce", "1234567890", "--echostr", "5927782489442352469",
                 "--aes-key", AES_KEY, "--appid", CORPID, "--wecom", "--random", seed("echo", 32)], "")
    write({"name": "echostr_wecom", "source": "generated", "method": "GET", "query": werr["query"], "query_string": werr["query_string"],
           "body": "", "config": config("safe", "wecom"), "expect": {"outcome": "ok", "kind": "echostr", "response_body": "5927782489442352469"}})

    # Bad input: one case per error class, and then some.
    text = message_xml("text", MESSAGES["text"])
    good_plain = build("bad_base_plain", text, "plain")
    good_safe = build("bad_base_safe", text, "safe")
    q = dict(good_plain["query"]); q["signature"] = "0" * 40
    err_case("bad_signature__plain", good_plain, config("plain"), "signature", query_string=qs(q))
    q = dict(good_plain["query"]); del q["signature"]
    err_case("bad_missing_signature__plain", good_plain, config("plain"), "signature", query_string=qs(q))
    q = dict(good_safe["query"]); q["msg_signature"] = q["msg_signature"][::-1]
    err_case("bad_msg_signature__safe", good_safe, config("safe"), "signature", query_string=qs(q))
    q = dict(good_safe["query"]); del q["msg_signature"]
    err_case("bad_missing_msg_signature__safe", good_safe, config("safe"), "signature", query_string=qs(q))
    stale = build("bad_stale_timestamp__plain", text, "plain", timestamp=NOW - 1000)
    err_case("bad_stale_timestamp__plain", stale, config("plain"), "timestamp")
    future = build("bad_future_timestamp__safe", text, "safe", timestamp=NOW + 1000)
    err_case("bad_future_timestamp__safe", future, config("safe"), "timestamp")
    nan = build("bad_timestamp_not_number__plain", text, "plain", timestamp="17637x")
    err_case("bad_timestamp_not_number__plain", nan, config("plain"), "timestamp")

    def with_encrypt(name, encrypt, error, cfg=None, base=good_safe):
        q = dict(base["query"])
        q["msg_signature"] = sha1_sorted(TOKEN, q["timestamp"], q["nonce"], encrypt)
        body = "<xml>" + cdata("ToUserName", ACCOUNT) + cdata("Encrypt", encrypt) + "</xml>"
        err_case(name, base, cfg or config("safe"), error, query_string=qs(q), body=body)

    with_encrypt("bad_base64__safe", "@@not*base64@@", "decrypt")
    with_encrypt("bad_not_whole_blocks__safe", base64.b64encode(b"0123456789abcdefghij").decode(), "decrypt")
    raw = base64.b64decode(ET.fromstring(good_safe["body"]).find("Encrypt").text)
    with_encrypt("bad_padding__safe", base64.b64encode(raw[:-16]).decode(), "decrypt")
    wrong = build("bad_wrong_receive_id__safe", text, "safe", extra_args=["--encrypt-for", "wx0000000000000bad"])
    err_case("bad_wrong_receive_id__safe", wrong, config("safe"), "appid")
    wecom_text = message_xml("text", [cdata("Content", "hi")], to=CORPID, sender="zhangsan")
    wrong = build("bad_wrong_corpid__wecom", wecom_text, "safe", "wecom", extra_args=["--encrypt-for", "ww0000000000000bad"])
    err_case("bad_wrong_corpid__wecom", wrong, config("safe", "wecom"), "appid")
    err_case("bad_malformed_xml__plain", good_plain, config("plain"), "xml", body=good_plain["body"][:-9])
    broken = build("bad_malformed_xml_inside__safe", "<xml><ToUserName>gh</ToUserName><MsgType>text</Msg", "safe")
    err_case("bad_malformed_xml_inside__safe", broken, config("safe"), "xml")
    lol = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>'
    bomb = build("bad_doctype_entities__plain", lol, "plain")
    err_case("bad_doctype_entities__plain", bomb, config("plain"), "xml")
    xxe = '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh</ToUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>'
    xxe_req = build("bad_external_entity_inside__safe", xxe, "safe")
    err_case("bad_external_entity_inside__safe", xxe_req, config("safe"), "xml")
    pi = build("bad_processing_instruction__plain", "<xml><?php system('id'); ?><MsgType>text</MsgType></xml>", "plain")
    err_case("bad_processing_instruction__plain", pi, config("plain"), "xml")
    deep = build("bad_nesting_depth__plain", "<xml>" + "<a>" * 100 + "</a>" * 100 + "</xml>", "plain")
    err_case("bad_nesting_depth__plain", deep, config("plain"), "xml")
    ct = build("bad_create_time__plain", text.replace(f"<CreateTime>{TS - 10}</CreateTime>", "<CreateTime>yesterday</CreateTime>"), "plain")
    err_case("bad_create_time__plain", ct, config("plain"), "xml")
    q = dict(good_safe["query"]); q["msg_signature"] = sha1_sorted(TOKEN, q["timestamp"], q["nonce"], "")
    err_case("bad_no_encrypt__safe", good_safe, config("safe"), "xml", query_string=qs(q), body=text)
    err_case("bad_empty_body__plain", good_plain, config("plain"), "xml", body="")
    big = message_xml("text", [cdata("Content", "x" * 2000)])
    big_req = build("bad_too_large__plain", big, "plain")
    err_case("bad_too_large__plain", big_req, config("plain", max_body_bytes=1024), "too_large")
    err_case("bad_method_put__plain", good_plain, config("plain"), "bad_request", method="PUT")
    err_case("bad_encrypted_to_plain_account", good_safe, config("plain"), "bad_request")
    q = dict(echo["query"]); q["signature"] = "f" * 40
    err_case("bad_echostr_signature", echo, config("plain"), "signature", query_string=qs(q))
    q = dict(werr["query"]); q["msg_signature"] = "0" + q["msg_signature"][1:]
    err_case("bad_echostr_wecom_signature", werr, config("safe", "wecom"), "signature", query_string=qs(q))
    q = dict(echo["query"]); del q["echostr"]
    err_case("bad_get_without_echostr", echo, config("plain"), "bad_request", query_string=qs(q))

    official(json.load(open(VECTORS, encoding="utf-8")))


def official(vectors):
    """Published vectors, as published, turned into fixtures."""
    by_id = {v["id"]: v for v in vectors["vectors"]}

    def src(v):
        s = v["source"]
        return f"{v['id']}: {s.get('doc') or s.get('repo')} ({s.get('repo', '')} {s.get('path', '')})".strip()

    for vid, name, platform, mode in [
        ("tencent_mp_sample_decrypt", "official_tencent_mp_sample__compat", "mp", "compatible"),
        ("tencent_wecom_2014_decrypt_msg", "official_tencent_wecom_2014_msg_text__safe", "wecom", None),
        ("tencent_wecom_2016_decrypt_msg", "official_tencent_wecom_2016_msg_text__safe", "wecom", None),
        ("wechatpy_work_decrypt_message", "official_wechatpy_work_msg_text__safe", "wecom", None),
        ("easywechat_encryptor_decrypt", "official_easywechat_msg_text__safe", "mp", "safe"),
    ]:
        v = by_id[vid]
        i = v["input"]
        query = {"timestamp": i["timestamp"], "nonce": i["nonce"], "msg_signature": i["msg_signature"]}
        if platform == "mp":
            query["encrypt_type"] = "aes"
        cfg = {"platform": platform, "token": i["token"], "encoding_aes_key": i["encoding_aes_key"],
               "appid": i["appid"], "now": int(i["timestamp"]), "timestamp_tolerance_s": TOLERANCE}
        if mode:
            cfg["mode"] = mode
        fields = fields_of(v["expect"]["plaintext"])
        for k, val in v["expect"]["plaintext_fields"].items():
            assert fields.get(k) == val, (vid, k)
        write({"name": name, "source": src(v), "method": "POST", "query": query, "body": i["body"], "config": cfg,
               "expect": {"outcome": "ok", "kind": "message", "msg_type": fields.get("MsgType"), "fields": fields,
                          "reply": {"encrypted": True, "to": fields.get("FromUserName"), "from": fields.get("ToUserName")}}})
    for vid, name in [
        ("tencent_wecom_2014_verify_url", "official_tencent_wecom_2014_echostr"),
        ("tencent_wecom_2016_verify_url", "official_tencent_wecom_2016_echostr"),
        ("wechatpy_work_check_signature_ok", "official_wechatpy_work_echostr"),
        ("wechatpy_work_check_signature_fail", "official_wechatpy_work_echostr_bad_signature"),
    ]:
        v = by_id[vid]
        i = v["input"]
        query = {"msg_signature": i["msg_signature"], "timestamp": i["timestamp"], "nonce": i["nonce"], "echostr": i["echostr"]}
        cfg = {"platform": "wecom", "token": i["token"], "encoding_aes_key": i["encoding_aes_key"], "appid": i["receive_id"],
               "now": int(i["timestamp"])}
        expect = ({"outcome": "error", "error": v["expect"]["error"]} if "error" in v["expect"]
                  else {"outcome": "ok", "kind": "echostr", "response_body": v["expect"]["echostr_plain"]})
        write({"name": name, "source": src(v), "method": "GET", "query": query, "body": "", "config": cfg, "expect": expect})
    base = by_id["easywechat_encryptor_decrypt"]["input"]
    for vid, name in [("easywechat_encryptor_wrong_appid", "official_easywechat_wrong_appid__safe"),
                      ("easywechat_encryptor_wrong_signature", "official_easywechat_wrong_signature__safe")]:
        v = by_id[vid]
        i = v["input"]
        query = {"timestamp": i["timestamp"], "nonce": i["nonce"], "msg_signature": i["msg_signature"], "encrypt_type": "aes"}
        cfg = {"platform": "mp", "token": i["token"], "encoding_aes_key": i["encoding_aes_key"], "appid": i["appid"],
               "mode": "safe", "now": int(i["timestamp"])}
        write({"name": name, "source": src(v), "method": "POST", "query": query, "body": base["body"], "config": cfg,
               "expect": {"outcome": "error", "error": v["expect"]["error"]}})


if __name__ == "__main__":
    main()

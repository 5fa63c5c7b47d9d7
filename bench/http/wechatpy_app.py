"""The peer side of bench/http/run.sh: wechatpy's callback pipeline as a WSGI app.

The same demo account and behaviour as our echo server, wired the way wechatpy's
documentation wires a callback view: GET checks the signature and echoes `echostr`; POST
checks the signature, decrypts (safe mode: `msg_signature`), parses, answers a text with the
same text, anything else with `success`, and encrypts the reply. Bad requests get 403 (bad
signature) or 400. Run under granian: `granian --interface wsgi bench.http.wechatpy_app:app`.
"""

from urllib.parse import parse_qsl

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

# The demo account of examples/echo-support (DEMO_TOKEN, DEMO_AES_KEY, DEMO_APPID).
TOKEN = "wxcbDemoToken"
KEY = "wxcbDemoEncodingAESKey0123456789abcdefghijk"
APPID = "wx5e7c1d9a0b3f2468"
PATH = "/wechat"
MAX_BODY = 1 << 20

crypto = WeChatCrypto(TOKEN, KEY, APPID)


def answer(start_response, status, body, content_type="text/plain; charset=utf-8"):
    data = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    if environ.get("PATH_INFO") != PATH:
        return answer(start_response, "404 Not Found", "")
    q = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    try:
        check_signature(TOKEN, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except InvalidSignatureException:
        return answer(start_response, "403 Forbidden", "bad signature")
    method = environ["REQUEST_METHOD"]
    if method == "GET":
        return answer(start_response, "200 OK", q.get("echostr", ""))
    if method != "POST":
        return answer(start_response, "405 Method Not Allowed", "")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return answer(start_response, "400 Bad Request", "bad Content-Length")
    if length > MAX_BODY:
        return answer(start_response, "413 Payload Too Large", "")
    body = environ["wsgi.input"].read(length)
    encrypted = q.get("encrypt_type") == "aes"
    try:
        if encrypted:
            body = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        msg = parse_message(body)
    except (InvalidSignatureException, InvalidAppIdException):
        return answer(start_response, "403 Forbidden", "bad msg_signature")
    except Exception:  # noqa: BLE001 - any parse failure of a hostile body is a 400
        return answer(start_response, "400 Bad Request", "bad body")
    if msg.type != "text":
        return answer(start_response, "200 OK", "success")
    reply = create_reply(msg.content, msg).render()
    if encrypted:
        reply = crypto.encrypt_message(reply, q["nonce"], q["timestamp"])
    return answer(start_response, "200 OK", reply, "application/xml; charset=utf-8")

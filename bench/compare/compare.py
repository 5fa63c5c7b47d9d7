#!/usr/bin/env python3
"""Our engine against wechatpy, side by side, on one deterministic corpus.

Builds plaintext and safe-mode (AES) text-message callbacks for a corpus of mixed contents
(CJK, emoji, `<>&`, `]]>`, 10..2000 bytes; the generator is the one in
core/benches/corpus.rs), signed and encrypted with wechatpy's own code. Then:

1. runs our engine (`wxcb-bench`, a release binary) once over every request and checks each
   reply with wechatpy and ElementTree: MsgSignature, decryption, appid, addressing and the
   exact content. Nothing is timed until every reply has passed;
2. times both in turns (ours, wechatpy, ours, wechatpy, ...), each doing the same pipeline:
   query parsing, signature check, (msg_signature, base64, AES decrypt, appid check), XML
   parse, a handler that echoes the text, reply XML, (AES encrypt, base64, MsgSignature,
   envelope);
3. prints the median nanoseconds per message of each side and the ratio, and writes them as
   JSON (--json).

Run through bench/compare/run.sh, which makes the virtualenv and builds the binary.
"""

import argparse
import gc
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import wechatpy
import xmltodict
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

TOKEN = "benchToken"
APPID = "wx5e7c1d9a0b3f2468"
KEY = "wxcbDemoEncodingAESKey0123456789abcdefghijk"
TIMESTAMP = 1763700000
OPENID = "oWxcbDemoUser0000000000000001"
ACCOUNT = "gh_wxcbdemo0001"
PIECES = [
    "hello ", "world ", "微信", "回调", "消息", "😀", "🎉", "<", ">", "&", "a&b ", "x<y ",
    "the ", "quick ", "测试", "]]>", "\u4e2d\u6587", "ok ", "12345 ", "emoji🙂 ",
]
MASK = (1 << 64) - 1


def content(seed, len_bytes):
    """`len_bytes` bytes (or just over) of mixed text: the generator of corpus.rs."""
    state = (seed * 6364136223846793005 + 1) & MASK
    out, size = [], 0
    while size < len_bytes:
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        piece = PIECES[(state >> 33) % len(PIECES)]
        out.append(piece)
        size += len(piece.encode())
    return "".join(out)


def corpus(n):
    return [content(i, 10 + (i * 997) % 1990) for i in range(n)]


def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(text, msg_id):
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
        f"<FromUserName>{cdata(OPENID)}</FromUserName>"
        f"<CreateTime>{TIMESTAMP}</CreateTime><MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(text)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def build_requests(mode, contents, crypto):
    """(query, body) pairs as WeChat sends them, encrypted with wechatpy in safe mode."""
    requests = []
    for i, text in enumerate(contents):
        nonce, ts = str(100000 + i), str(TIMESTAMP)
        xml = message_xml(text, 23912345678900000 + i)
        query = {
            "signature": sha1_sorted(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": OPENID,
        }
        if mode == "plain":
            requests.append((urlencode(query), xml))
            continue
        envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, ts))["xml"]
        query["encrypt_type"] = "aes"
        query["msg_signature"] = envelope["MsgSignature"]
        body = (
            f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
            f"<Encrypt>{cdata(envelope['Encrypt'])}</Encrypt></xml>"
        )
        requests.append((urlencode(query), body))
    return requests


def wechatpy_handle(mode, crypto, query, body):
    """wechatpy's pipeline for one callback, the way its documentation wires it."""
    q = dict(parse_qsl(query))
    check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
    if mode == "plain":
        msg = parse_message(body)
        return create_reply(msg.content, msg).render()
    xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
    msg = parse_message(xml)
    reply = create_reply(msg.content, msg).render()
    return crypto.encrypt_message(reply, q["nonce"], q["timestamp"])


def verify_ours(mode, crypto, contents, replies):
    """Every reply of ours, checked with wechatpy (signature, decryption, appid) and
    ElementTree (exact content and addressing). Raises on the first that fails."""
    if len(replies) != len(contents):
        raise SystemExit(f"expected {len(contents)} replies, got {len(replies)}")
    for i, (text, reply) in enumerate(zip(contents, replies)):
        if mode == "safe":
            root = ET.fromstring(reply)
            if root.find("Encrypt") is None:
                raise SystemExit(f"reply {i}: plaintext reply to an encrypted request")
            # Verifies MsgSignature over TimeStamp, Nonce, Encrypt; decrypts; checks appid.
            reply = crypto.decrypt_message(
                reply,
                root.findtext("MsgSignature"),
                root.findtext("TimeStamp"),
                root.findtext("Nonce"),
            )
        root = ET.fromstring(reply)
        checks = {
            "ToUserName": OPENID,
            "FromUserName": ACCOUNT,
            "MsgType": "text",
            "Content": text,
        }
        for field, want in checks.items():
            got = root.findtext(field)
            if got != want:
                raise SystemExit(f"reply {i}: {field} is {got!r:.80}, expected {want!r:.80}")
        if parse_message(reply).type != "text":
            raise SystemExit(f"reply {i}: wechatpy does not read it as a text reply")


def run_ours(args, mode, path, replies=None):
    cmd = [
        args.runner, "--requests", str(path), "--mode", mode, "--token", TOKEN,
        "--aes-key", KEY, "--appid", APPID, "--timestamp", str(TIMESTAMP),
        "--reps", str(args.reps_ours),
    ]
    if replies:
        cmd += ["--replies", str(replies)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["ns_per_message"]


def run_wechatpy(args, mode, crypto, requests):
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(args.reps_wechatpy):
            for query, body in requests:
                wechatpy_handle(mode, crypto, query, body)
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return elapsed / (args.reps_wechatpy * len(requests))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", required=True, help="path to the wxcb-bench binary")
    parser.add_argument("--messages", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7, help="timed turns per side")
    parser.add_argument("--reps-ours", type=int, default=200)
    parser.add_argument("--reps-wechatpy", type=int, default=5)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    crypto = WeChatCrypto(TOKEN, KEY, APPID)
    contents = corpus(args.messages)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("plain", "safe"):
            requests = build_requests(mode, contents, crypto)
            path = Path(tmp, f"{mode}.jsonl")
            path.write_text(
                "".join(json.dumps({"query": q, "body": b}) + "\n" for q, b in requests)
            )
            # wechatpy must accept its own requests, and every reply of ours must check out.
            for query, body in requests:
                wechatpy_handle(mode, crypto, query, body)
            replies_path = Path(tmp, f"{mode}.replies")
            run_ours(args, mode, path, replies_path)
            replies = [json.loads(line) for line in replies_path.read_text().splitlines()]
            verify_ours(mode, crypto, contents, replies)
            print(f"{mode}: {len(replies)} replies of ours verified with wechatpy", flush=True)

            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(run_ours(args, mode, path))
                theirs.append(run_wechatpy(args, mode, crypto, requests))
            results[mode] = {
                "ours_ns": statistics.median(ours),
                "wechatpy_ns": statistics.median(theirs),
                "ours_rounds_ns": ours,
                "wechatpy_rounds_ns": theirs,
            }
            results[mode]["ratio"] = results[mode]["wechatpy_ns"] / results[mode]["ours_ns"]

    print(
        f"\ncorpus: {args.messages} text messages, 10..2000 bytes; {args.rounds} alternating "
        f"rounds; wechatpy {wechatpy.__version__}, Python {sys.version.split()[0]}"
    )
    print(f"{'mode':<6} {'ours (µs/msg)':>14} {'wechatpy (µs/msg)':>18} {'ratio':>8}")
    for mode, r in results.items():
        print(
            f"{mode:<6} {r['ours_ns'] / 1000:>14.2f} {r['wechatpy_ns'] / 1000:>18.1f} "
            f"{r['ratio']:>7.1f}x"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

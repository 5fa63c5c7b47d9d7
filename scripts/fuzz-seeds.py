#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the recorded fixtures.

usage: fuzz-seeds.py FIXTURES_DIR OUT_DIR

OUT_DIR/xml: every fixture body; OUT_DIR/decrypt: every Encrypt value and echostr;
OUT_DIR/handle: each fixture as the `handle` target reads it (flags byte, query, newline,
body) -- as recorded, re-signed by the harness, and (plaintext bodies) sealed by it.
"""
import hashlib
import json
import pathlib
import re
import sys
import urllib.parse

SIGNING = {"signature", "msg_signature", "timestamp", "nonce"}


def write(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    fixtures, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    count = 0
    for path in sorted(fixtures.rglob("*.json")):
        if path.name.startswith("_"):
            continue
        case = json.loads(path.read_text(encoding="utf-8"))
        body = case.get("body", "").encode()
        query = case.get("query_string") or urllib.parse.urlencode(case.get("query") or {})
        unsigned = "&".join(
            p for p in query.split("&") if p.split("=", 1)[0] not in SIGNING
        )
        write(out / "xml", body)
        for value in re.findall(rb"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", body):
            write(out / "decrypt", value)
        if (case.get("query") or {}).get("echostr"):
            write(out / "decrypt", case["query"]["echostr"].encode())
        method = 0 if case.get("method") == "GET" else 1
        write(out / "handle", bytes([method]) + query.encode() + b"\n" + body)
        write(out / "handle", bytes([method | 4]) + unsigned.encode() + b"\n" + body)
        if b"<Encrypt>" not in body:
            write(out / "handle", bytes([method | 12]) + unsigned.encode() + b"\n" + body)
        count += 1
    print(f"seeds from {count} fixtures in {out}")


if __name__ == "__main__":
    main()

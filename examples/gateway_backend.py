# A bot behind `wxcb serve`, standard library only: a text comes back as "you said: ...", the rest
# gets `success`. python3 examples/gateway_backend.py [PORT]; wxcb serve --forward http://127.0.0.1:PORT/
import hashlib, hmac, json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("WECHAT_FORWARD_SECRET", "").encode()

class Bot(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signed = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if SECRET and not hmac.compare_digest(signed, self.headers.get("X-Wechat-Callback-Signature", "")):
            return self.send_error(401)
        callback = json.loads(body)
        text = callback["msg_type"] == "text"
        out = json.dumps({"reply": {"type": "text", "content": "you said: " + callback["fields"]["Content"]}} if text else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Bot)
print(f"backend on http://127.0.0.1:{server.server_port}/", flush=True)
server.serve_forever()

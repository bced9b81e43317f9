"""What forwarding costs: a request straight to a local app vs. through `terra listen`.

Starts a small app on 127.0.0.1 (answers 200 in one write), then a real
`terra listen --no-tunnel --forward-to <app>` (event log on, in a temp dir),
and times N signed sample-sized POSTs each way on fresh connections, the way
Terra delivers. Prints median and p95 of both and the difference. Also times
`terra trigger activity` end to end (process start included).

    python benchmarks/forwarding.py [--requests 200] [--triggers 10]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIN = Path(sys.executable).parent
SECRET = "bench-secret-0123456789"


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok": true}'
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    def log_message(self, format: str, *args: object) -> None:
        pass


def _post(port: int, body: bytes) -> float:
    t = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/consumeTerraWebhook",
        body,
        {"terra-signature": f"t={t},v1={sig}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200, resp.status
    return (time.perf_counter() - start) * 1000


def _stats(samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"median {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=10)
    args = parser.parse_args()

    app = ThreadingHTTPServer(("127.0.0.1", 0), App)
    app.daemon_threads = True
    threading.Thread(target=app.serve_forever, daemon=True).start()
    app_url = f"http://127.0.0.1:{app.server_address[1]}/webhook"

    tmp = tempfile.mkdtemp(prefix="terra-bench-")
    env = dict(os.environ, TERRA_DATA_DIR=f"{tmp}/data", TERRA_CONFIG_DIR=f"{tmp}/config",
               TERRA_SIGNING_SECRET=SECRET)  # fmt: skip
    proc = subprocess.Popen(
        [str(BIN / "terra"), "listen", "--no-tunnel", "--port", "0", "--json",
         "--forward-to", app_url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain NDJSON

    out = subprocess.run(
        [str(BIN / "terra"), "trigger", "activity", "--to", app_url, "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    size = json.loads(out.stdout)["size"]
    body = b'{"type": "activity", "pad": "' + b"x" * max(size - 32, 0) + b'"}'

    direct, forwarded = [], []
    for _ in range(args.requests):
        direct.append(_post(app.server_address[1], body))
        forwarded.append(_post(ready["port"], body))
    triggers = []
    for _ in range(args.triggers):
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "terra"), "trigger", "activity", "--to", ready["url"]],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
        triggers.append((time.perf_counter() - start) * 1000)
    proc.terminate()
    proc.wait(timeout=10)
    app.shutdown()

    print(f"body {size} bytes, {args.requests} requests each way, fresh connection each")
    print(f"  straight to the app        {_stats(direct)}")
    print(f"  through listen --forward-to {_stats(forwarded)}")
    added = statistics.median(forwarded) - statistics.median(direct)
    print(f"  added by the listener (median): {added:.2f} ms (verify, log, forward anew)")
    print(f"terra trigger activity -> listen -> app, whole process: {_stats(triggers)}")


if __name__ == "__main__":
    main()

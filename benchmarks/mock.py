"""How fast `terra mock` answers, and how soon a `to_webhook` request's webhook arrives.

Starts the installed `terra mock --port 0 --json --webhook <local catcher>`,
connects a user, then measures (loopback only):
- requests/s for a week of sleep with samples (`to_webhook=false`), from
  several keep-alive connections at once, with p50/p99 latency;
- the time from sending a `to_webhook=true` request to its webhook (matched
  by `terra-reference`) arriving at the catcher, one request at a time.

    python benchmarks/mock.py [--requests 2000] [--clients 4] [--webhooks 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

TERRA = str(Path(sys.executable).parent / "terra")
AUTH = {"dev-id": "mock-dev", "x-api-key": "mock-key"}


class Catcher:
    """A local webhook receiver noting when each terra-reference first arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ref = self.headers.get("Terra-Reference") or ""
                with catcher.cond:
                    catcher.arrived.setdefault(ref, time.perf_counter())
                    catcher.cond.notify_all()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, ref: str, timeout: float = 10) -> float:
        with self.cond:
            self.cond.wait_for(lambda: ref in self.arrived, timeout)
            return self.arrived[ref]


def _get(conn: http.client.HTTPConnection, target: str) -> tuple[int, bytes, str | None]:
    conn.request("GET", target, headers=AUTH)
    resp = conn.getresponse()
    return resp.status, resp.read(), resp.getheader("terra-reference")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--webhooks", type=int, default=50)
    args = parser.parse_args()
    catcher = Catcher()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TERRA_CONFIG_DIR=tmp, TERRA_DATA_DIR=tmp)
        for name in ("TERRA_DEV_ID", "TERRA_API_KEY", "TERRA_SIGNING_SECRET"):
            env.pop(name, None)
        env["TERRA_SIGNING_SECRET"] = "bench-secret"
        proc = subprocess.Popen(
            [TERRA, "mock", "--port", "0", "--json", "--webhook", catcher.url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            ready = json.loads(proc.stdout.readline())
            drain = threading.Thread(target=proc.stdout.read, daemon=True)
            drain.start()
            port = int(ready["port"])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/api/widget/session", body=b"{}", headers=AUTH)
            session = json.loads(conn.getresponse().read())
            conn.request("GET", urlsplit(session["url"]).path + "?provider=GARMIN")
            resp = conn.getresponse()
            resp.read()
            user_id = (
                dict(
                    p.split("=", 1)
                    for p in urlsplit(resp.headers["Location"] or "?").query.split("&")
                ).get("user_id")
                if resp.status == 302
                else None
            )
            if user_id is None:
                conn.request("GET", "/v2/subscriptions", headers=AUTH)
                user_id = json.loads(conn.getresponse().read())["users"][0]["user_id"]
            query = {"user_id": user_id, "start_date": "2026-06-01", "end_date": "2026-06-08",
                     "with_samples": "true", "to_webhook": "false"}  # fmt: skip
            target = "/v2/sleep?" + urlencode(query)
            status, body, _ = _get(conn, target)
            assert status == 200, body
            size = len(body)

            per_client = max(args.requests // args.clients, 1)
            latencies: list[float] = []
            lock = threading.Lock()

            def client() -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                mine = []
                for _ in range(per_client):
                    t0 = time.perf_counter()
                    code, _, _ = _get(c, target)
                    mine.append(time.perf_counter() - t0)
                    assert code == 200
                c.close()
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            latencies.sort()
            total = per_client * args.clients

            # Cold: a week never asked for before each time, so every night is built.
            cold_n = min(200, total)
            cold_start = time.perf_counter()
            for i in range(cold_n):
                first = date(2020, 1, 1) + timedelta(days=7 * i)
                fresh = {**query, "start_date": first.isoformat(),
                         "end_date": (first + timedelta(days=7)).isoformat()}  # fmt: skip
                code, _, _ = _get(conn, "/v2/sleep?" + urlencode(fresh))
                assert code == 200
            cold = (time.perf_counter() - cold_start) / cold_n

            hook_query = {**query, "to_webhook": "true", "end_date": "2026-06-02"}
            hook_target = "/v2/sleep?" + urlencode(hook_query)
            delays = []
            for _ in range(args.webhooks):
                t0 = time.perf_counter()
                code, _, ref = _get(conn, hook_target)
                assert code == 200 and ref
                delays.append(catcher.wait(ref) - t0)
            delays.sort()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print("terra mock on 127.0.0.1 (loopback only)")
    print(
        f"  GET /v2/sleep, 7 nights with samples ({size / 1024:.0f} KiB answer, records cached), "
        f"{args.clients} keep-alive clients, {total} requests: {total / elapsed:,.0f} req/s; "
        f"latency p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )
    print(f"  the same, each week new (records built, one client): {1 / cold:,.0f} req/s")
    print(
        f"  to_webhook=true request -> its signed webhook at the receiver ({args.webhooks} runs): "
        f"median {statistics.median(delays) * 1000:.1f} ms, "
        f"p95 {delays[int(len(delays) * 0.95) - 1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A stand-in for the ngrok agent, for tests that must never reach ngrok's cloud.

It speaks the part of the agent that pyngrok drives: the `start --none --log
stdout` argv, the three start-up log lines (the local API is bound before the
first one is printed), the local API (`/api/endpoints` and `/api/tunnels`),
and a "public URL" `http://127.0.0.1:<port>` that is a real reverse proxy to
the endpoint's upstream. Standard library and threads only, one process, so
SIGKILL leaves nothing behind.

Environment:
  FAKE_NGROK_MODE     comma list of modes, one per start (the last repeats):
                      ok, no-token, invalid-token, revoked-token, session-limit,
                      domain-online, silent, offline, crash, die, vanish.
                      Default: ok.
  FAKE_NGROK_RECORD   a folder: each start writes `<n>-<pid>.json` (argv, token
                      seen, API requests); it also counts starts for the mode list.
  FAKE_NGROK_DELAY    seconds before `die` exits / `vanish` drops the endpoint
                      (default 0.5), counted from the endpoint's creation.
  FAKE_NGROK_PARENT_WATCH  `0` turns off exiting when the parent disappears
                      (the real agent does not watch its parent).
  FAKE_NGROK_DOMAIN_PORT  a port: an endpoint asked for with a reserved domain
                      (`url`/`domain`) is served on http://127.0.0.1:<port>, the
                      same public URL on every start, as a reserved domain is.
A start without an authtoken (no `--authtoken`, none in `--config`) fails with
ERR_NGROK_4018 whatever the mode, as the real agent does.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

VERSION = "3.99.0-fake"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
ERRORS = {
    "no-token": (
        "authentication failed: Usage of ngrok requires a verified account and authtoken."
        "\\n\\nSign up for an account: https://dashboard.ngrok.com/signup\\r\\n\\r\\nERR_NGROK_4018"
    ),
    "invalid-token": (
        "authentication failed: The authtoken you specified does not look like a proper "
        "ngrok authtoken.\\r\\n\\r\\nERR_NGROK_105"
    ),
    "revoked-token": (
        "authentication failed: The authtoken you specified is invalid or has been "
        "revoked.\\r\\n\\r\\nERR_NGROK_107"
    ),
    "session-limit": (
        "authentication failed: Your account is limited to 1 simultaneous ngrok agent "
        "sessions.\\r\\n\\r\\nERR_NGROK_108"
    ),
}


def log(msg: str, lvl: str = "info", **fields: str) -> None:
    """One logfmt line on stdout, flushed, quoted so shlex splits it as the agent's would."""
    parts = [f"t={time.strftime('%Y-%m-%dT%H:%M:%S%z')}", f"lvl={lvl}", f"msg={json.dumps(msg)}"]
    parts += [f"{k}={json.dumps(v)}" for k, v in fields.items()]
    try:
        sys.stdout.write(" ".join(parts) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        os._exit(0)


def parse_args(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `--flag value` / `--flag=value` options (flags without values: '')."""
    words: list[str] = []
    opts: dict[str, str] = {}
    valued = {"--log", "--config", "--authtoken", "--region", "--api-key", "--log-format"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            opts[name] = value
        elif arg in valued and i + 1 < len(argv):
            opts[arg] = argv[i + 1]
            i += 1
        elif arg.startswith("--"):
            opts[arg] = ""
        else:
            words.append(arg)
        i += 1
    return words, opts


def token_from_config(path: str | None) -> str | None:
    """The authtoken in a config file, JSON (valid YAML) or simple YAML."""
    if not path:
        return None
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            agent = data.get("agent") or {}
            token = agent.get("authtoken") if isinstance(agent, dict) else None
            token = token or data.get("authtoken")
            return str(token) if token else None
    except ValueError:
        pass
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "authtoken" and value.strip():
            return value.strip().strip("'\"")
    return None


class Agent:
    """The state of one fake agent session: endpoints, their proxies, the record."""

    def __init__(self, mode: str, record: Path | None, start_no: int, token: str | None) -> None:
        self.mode = mode
        self.record = record
        self.start_no = start_no
        self.lock = threading.Lock()
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.proxies: dict[str, ThreadingHTTPServer] = {}
        self.requests: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {
            "pid": os.getpid(),
            "argv": sys.argv,
            "mode": mode,
            "token": token,
            "requests": self.requests,
        }
        self.save()

    def save(self) -> None:
        if self.record is None:
            return
        path = self.record / f"{self.start_no:03d}-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info))
        tmp.replace(path)

    def note_request(self, method: str, path: str, body: Any) -> None:
        with self.lock:
            self.requests.append({"method": method, "path": path, "body": body})
            self.save()

    def create(self, body: dict[str, Any], v2: bool) -> tuple[int, dict[str, Any]]:
        """Start an endpoint: a proxy on a fresh port in front of the upstream."""
        name = str(body.get("name") or f"endpoint-{uuid.uuid4()}")
        if v2:
            addr = str(body.get("addr", "80"))
            upstream = addr if "://" in addr else f"http://localhost:{addr}"
        else:
            upstream = str((body.get("upstream") or {}).get("url") or "http://localhost:80")
        if self.mode == "domain-online":
            wanted = body.get("url") or body.get("domain") or "https://example.ngrok.app"
            err = (
                f"failed to start tunnel: The endpoint '{wanted}' is already online. Either\n"
                "1. stop your existing endpoint first, or\n2. start both endpoints with "
                "`--pooling-enabled` to load balance between them.\r\n\r\nERR_NGROK_334\r\n"
            )
            return 502, {
                "error_code": 103,
                "status_code": 502,
                "msg": "failed to start tunnel",
                "details": {"err": err},
            }
        with self.lock:
            if name in self.endpoints:
                return 400, {
                    "error_code": 102,
                    "status_code": 400,
                    "msg": "invalid tunnel configuration",
                    "details": {"err": f"a tunnel named '{name}' already exists"},
                }
        fixed = os.environ.get("FAKE_NGROK_DOMAIN_PORT")
        wants_domain = bool(body.get("url") or body.get("domain"))
        proxy = make_proxy(self, name, upstream, int(fixed) if fixed and wants_domain else 0)
        public = f"http://127.0.0.1:{proxy.server_address[1]}"
        segment = "tunnels" if v2 else "endpoints"
        item: dict[str, Any] = {
            "ID": uuid.uuid4().hex,
            "name": name,
            "uri": f"/api/{segment}/{name}",
            "url": public,
            "public_url": public,
            "proto": "http",
            "upstream": {"url": upstream, "protocol": "http1"},
            "config": {"addr": upstream, "inspect": True},
            "metrics": {"conns": {"count": 0}, "http": {"count": 0}},
        }
        with self.lock:
            self.endpoints[name] = item
            self.proxies[name] = proxy
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        log("started tunnel", obj="tunnels", name=name, addr=upstream, url=public)
        if self.mode in ("die", "vanish"):
            threading.Thread(target=self.fault, args=(name,), daemon=True).start()
        return 201, item

    def delete(self, name: str) -> bool:
        with self.lock:
            found = self.endpoints.pop(name, None)
            proxy = self.proxies.pop(name, None)
        if proxy is not None:
            threading.Thread(target=proxy.shutdown, daemon=True).start()
        return found is not None

    def fault(self, name: str) -> None:
        time.sleep(float(os.environ.get("FAKE_NGROK_DELAY", "0.5")))
        if self.mode == "die":
            log("session closing", lvl="eror", obj="tunnels.session", err="connection reset")
            os._exit(1)
        log("endpoint went offline", lvl="warn", name=name)
        self.delete(name)


def make_proxy(agent: Agent, name: str, upstream: str, port: int = 0) -> ThreadingHTTPServer:
    """The endpoint's public side: relay each request to the upstream unchanged."""
    target = urlsplit(upstream)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            head = [f"HTTP/1.1 {status} {http.client.responses.get(status, '')}"]
            head += [f"{k}: {v}" for k, v in headers]
            head.append(f"Content-Length: {len(body)}")
            data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
            self.wfile.write(data)  # one write: no Nagle stall
            self.wfile.flush()

        def _relay(self) -> None:
            body = self._body()
            with agent.lock:
                online = name in agent.endpoints
            if not online:
                msg = f"Tunnel {self.headers.get('Host')} not found\r\n\r\nERR_NGROK_3200\r\n"
                self._send(404, [("ngrok-error-code", "ERR_NGROK_3200")], msg.encode())
                return
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            client_ip = self.client_address[0]
            headers += [
                ("X-Forwarded-For", client_ip),
                ("X-Forwarded-Host", self.headers.get("Host", "")),
                ("X-Forwarded-Proto", "http"),
            ]
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers.append(("Content-Length", str(len(body))))
            conn = http.client.HTTPConnection(
                target.hostname or "localhost", target.port or 80, timeout=30
            )
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read()
                out = [
                    (k, v)
                    for k, v in resp.getheaders()
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
                ]
                self._send(resp.status, out, data)
            except OSError:
                msg = (
                    f"The endpoint {self.headers.get('Host')} is online but the agent "
                    f"failed to connect to the upstream {upstream}.\r\n\r\nERR_NGROK_8012\r\n"
                )
                self._send(
                    502,
                    [("ngrok-error-code", "ERR_NGROK_8012"), ("Content-Type", "text/plain")],
                    msg.encode(),
                )
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _relay

    server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.daemon_threads = True
    return server


def make_api(agent: Agent) -> ThreadingHTTPServer:
    """The agent's local API on 127.0.0.1, the part pyngrok calls."""

    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, obj: Any = None) -> None:
            body = b"" if obj is None else json.dumps(obj).encode()
            head = f"HTTP/1.1 {status} {http.client.responses.get(status, '')}\r\n"
            head += "Content-Type: application/json\r\n" if body else ""
            head += f"Content-Length: {len(body)}\r\n\r\n"
            self.wfile.write(head.encode() + body)
            self.wfile.flush()

        def _read_json(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw) if raw else {}
            except ValueError:
                return None

        def do_GET(self) -> None:
            agent.note_request("GET", self.path, None)
            with agent.lock:
                items = list(agent.endpoints.values())
            if self.path == "/api/endpoints":
                self._reply(200, {"endpoints": items, "uri": "/api/endpoints"})
            elif self.path == "/api/tunnels":
                self._reply(200, {"tunnels": items, "uri": "/api/tunnels"})
            elif self.path == "/api/status":
                self._reply(200, {"status": "online", "version": VERSION})
            else:
                match = [i for i in items if i["uri"] == self.path]
                if match:
                    self._reply(200, match[0])
                else:
                    self._not_found()

        def do_POST(self) -> None:
            body = self._read_json()
            agent.note_request("POST", self.path, body)
            if self.path not in ("/api/endpoints", "/api/tunnels") or not isinstance(body, dict):
                self._reply(
                    400,
                    {
                        "error_code": 102,
                        "status_code": 400,
                        "msg": "invalid tunnel configuration",
                        "details": {},
                    },
                )
                return
            status, reply = agent.create(body, v2=self.path == "/api/tunnels")
            self._reply(status, reply)

        def do_DELETE(self) -> None:
            agent.note_request("DELETE", self.path, None)
            name = self.path.split("/", 3)[-1]
            if self.path.startswith(("/api/endpoints/", "/api/tunnels/")) and agent.delete(name):
                self._reply(204)
            else:
                self._not_found()

        def _not_found(self) -> None:
            self._reply(
                404,
                {
                    "error_code": 100,
                    "status_code": 404,
                    "msg": "not found",
                    "details": {"path": self.path},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    server.daemon_threads = True
    return server


def watch_parent() -> None:
    """Exit when the process that started us is gone (re-parented)."""
    parent = os.getppid()
    while True:
        time.sleep(0.1)
        if os.getppid() != parent:
            os._exit(0)


def choose_mode(record: Path | None) -> tuple[str, int]:
    """This start's mode from FAKE_NGROK_MODE and the count of earlier starts."""
    modes = [m.strip() for m in os.environ.get("FAKE_NGROK_MODE", "ok").split(",") if m.strip()]
    modes = modes or ["ok"]
    start_no = len(list(record.glob("*.json"))) if record is not None else 0
    return modes[min(start_no, len(modes) - 1)], start_no


def start(opts: dict[str, str]) -> int:
    """`ngrok start --none`: bind the API, say the three lines, serve until told to stop."""
    if os.environ.get("FAKE_NGROK_PARENT_WATCH", "1") != "0":
        threading.Thread(target=watch_parent, daemon=True).start()
    record_dir = os.environ.get("FAKE_NGROK_RECORD")
    record = Path(record_dir) if record_dir else None
    if record is not None:
        record.mkdir(parents=True, exist_ok=True)
    mode, start_no = choose_mode(record)
    token = opts.get("--authtoken") or token_from_config(opts.get("--config"))
    agent = Agent(mode, record, start_no, token)

    if mode == "crash":
        return 3
    api = make_api(agent)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = api.server_address[1]
    log("no configuration paths supplied", obj="config")
    log("starting web service", obj="web", addr=f"127.0.0.1:{port}", allow_hosts="[]")
    if mode == "silent":
        while True:  # blocked, like an agent that cannot reach ngrok's servers
            time.sleep(3600)
    if mode == "offline":
        while True:  # the real agent offline: it keeps retrying and never exits
            err = "failed to dial ngrok server with address connect.ngrok-agent.com:443: "
            log(
                "failed to reconnect session",
                lvl="eror",
                obj="tunnels.session",
                err=err + "dial tcp: lookup connect.ngrok-agent.com: no such host",
            )
            time.sleep(0.2)
    failure = "no-token" if not token else mode
    if failure in ERRORS:
        err = ERRORS[failure].replace("\\n", "\n").replace("\\r", "\r")
        for msg in ("failed to reconnect session", "session closing", "terminating with error"):
            log(msg, lvl="eror", obj="tunnels.session", err=err)
        return 1
    log("client session established", obj="tunnels.session")
    log("tunnel session started", obj="tunnels.session")
    while True:
        time.sleep(3600)


def main(argv: list[str]) -> int:
    words, opts = parse_args(argv)
    if "--version" in opts or words[:1] == ["version"]:
        print(f"ngrok version {VERSION}")
        return 0
    if words[:2] == ["config", "add-authtoken"] and len(words) > 2:
        print(f"Authtoken saved to configuration file: {opts.get('--config', 'ngrok.yml')}")
        return 0
    if words[:2] == ["config", "add-api-key"] and len(words) > 2:
        print(f"API key saved to configuration file: {opts.get('--config', 'ngrok.yml')}")
        return 0
    if words[:1] == ["update"]:
        print("No update available, this is the latest version.")
        return 0
    if words[:1] == ["start"] and "--none" in opts:
        return start(opts)
    sys.stderr.write(f"ERROR:  fake ngrok does not understand: {' '.join(argv)}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

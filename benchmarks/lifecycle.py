"""How fast `terra listen --no-tunnel` lets go when it is stopped.

For each way of stopping it (SIGTERM, two SIGINTs, SIGHUP, and the shell that
started it killed with SIGKILL), over several rounds: the time from the
signal until the port can be bound again (probed by binding in a loop, at
most 5,000 attempts 1 ms apart) and until the process is gone. Each listener
first answers a few signed events, so the stop is not of an idle process.

    python benchmarks/lifecycle.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.listener import SECRET, activity_body, signature

KINDS = ("SIGTERM", "two SIGINTs", "SIGHUP", "parent shell SIGKILLed")
PROBES = 5000


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _post_some(port: int, n: int = 5) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(n):
        body = activity_body(i)
        conn.request("POST", "/consumeTerraWebhook", body=body,
                     headers={"terra-signature": signature(body)})  # fmt: skip
        conn.getresponse().read()
    conn.close()


@dataclass
class Stop:
    kind: str
    port_free_ms: float  # signal -> the port binds again
    gone_ms: float  # signal -> the process has exited
    exit_code: int | None  # None when terra was not our child (parent shell killed)


def _one(kind: str, env: dict[str, str], terra: str) -> Stop:
    if kind == "parent shell SIGKILLed":
        shell = subprocess.Popen(
            ["bash", "-c", f"{terra} listen --no-tunnel --port 0 --json & echo $! >&2; wait"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        assert shell.stdout is not None and shell.stderr is not None
        pid = int(shell.stderr.readline())
        port = int(json.loads(shell.stdout.readline())["port"])
        _post_some(port)
        started = time.perf_counter()
        shell.kill()
        proc = None
    else:
        proc = subprocess.Popen(
            [terra, "listen", "--no-tunnel", "--port", "0", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        pid = proc.pid
        port = int(json.loads(proc.stdout.readline())["port"])
        _post_some(port)
        signals = {
            "SIGTERM": [signal.SIGTERM],
            "two SIGINTs": [signal.SIGINT, signal.SIGINT],
            "SIGHUP": [signal.SIGHUP],
        }[kind]
        started = time.perf_counter()
        for signum in signals:
            proc.send_signal(signum)
    port_free = gone = float("nan")
    for _ in range(PROBES):
        now = time.perf_counter()
        if port_free != port_free and _bindable(port):
            port_free = now - started
        if proc is not None:
            if gone != gone and proc.poll() is not None:
                gone = now - started
        elif gone != gone and not _alive(pid):
            gone = now - started
        if port_free == port_free and gone == gone:
            break
        time.sleep(0.001)
    code = None
    if proc is not None:
        proc.wait(timeout=10)
        code = proc.returncode
    else:
        shell.wait()
        if _alive(pid):  # should not happen; never leave it behind
            os.kill(pid, signal.SIGKILL)
    return Stop(kind, port_free * 1000, gone * 1000, code)


def measure(rounds: int = 5) -> dict[str, list[Stop]]:
    """Every kind of stop, `rounds` times each, interleaved."""
    terra = shutil.which("terra") or str(Path(sys.executable).parent / "terra")
    results: dict[str, list[Stop]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory(prefix="terra-life-") as tmp:
        env = dict(os.environ, TERRA_DATA_DIR=tmp, TERRA_CONFIG_DIR=tmp + "/config")
        env["TERRA_SIGNING_SECRET"] = SECRET
        for _ in range(rounds):
            for kind in KINDS:
                results[kind].append(_one(kind, env, terra))
    return results


def worst(stops: list[Stop], attr: str) -> float:
    return max(_value(s, attr) for s in stops)


def median(stops: list[Stop], attr: str) -> float:
    values = sorted(_value(s, attr) for s in stops)
    return values[len(values) // 2]


def _value(stop: Stop, attr: str) -> float:
    return stop.port_free_ms if attr == "port_free_ms" else stop.gone_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = measure(args.rounds)
    print(f"stop -> port free / process gone, {args.rounds} rounds each (goal: port free < 1 s)")
    for kind, stops in results.items():
        codes = sorted({s.exit_code for s in stops}, key=str)
        print(
            f"  {kind:<24} port free median {median(stops, 'port_free_ms'):6.1f} ms "
            f"(worst {worst(stops, 'port_free_ms'):6.1f})   gone median "
            f"{median(stops, 'gone_ms'):6.1f} ms (worst {worst(stops, 'gone_ms'):6.1f})   "
            f"exit {', '.join(str(c) for c in codes)}"
        )


if __name__ == "__main__":
    main()

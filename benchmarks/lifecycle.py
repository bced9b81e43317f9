"""How fast `terra listen` lets go when it is stopped, without and with the tunnel.

For each way of stopping it (SIGTERM, two SIGINTs, SIGHUP, and the shell that
started it killed with SIGKILL), over several rounds: the time from the
signal until its port can be bound again (probed by binding in a loop, at
most 5,000 attempts 1 ms apart) and until the process is gone. Each listener
first answers a few signed events, so the stop is not of an idle process.
With `tunnel`, the fake ngrok agent from tests/fakes stands in for ngrok
(loopback only, its own parent watch off, as the real agent has none), and
the time until the agent is gone is measured too.

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
FAKE_AGENT = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "fake_ngrok.py"


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
    agent_gone_ms: float = float("nan")  # signal -> the ngrok agent has exited (tunnel)


def _agent_pid(records: Path) -> int | None:
    files = sorted(records.glob("*.json"), key=lambda p: p.stat().st_mtime)
    return int(json.loads(files[-1].read_text())["pid"]) if files else None


def _one(kind: str, env: dict[str, str], terra: str, tunnel: bool = False) -> Stop:
    listen = f"{terra} listen --port 0 --json" + ("" if tunnel else " --no-tunnel")
    records = Path(env["FAKE_NGROK_RECORD"])
    for old in records.glob("*.json"):
        old.unlink()
    if kind == "parent shell SIGKILLed":
        shell = subprocess.Popen(
            ["bash", "-c", f"{listen} & echo $! >&2; wait"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        assert shell.stdout is not None and shell.stderr is not None
        pid = int(shell.stderr.readline())
        port = int(json.loads(shell.stdout.readline())["port"])
        _post_some(port)
        agent = _agent_pid(records) if tunnel else None
        started = time.perf_counter()
        shell.kill()
        proc = None
    else:
        proc = subprocess.Popen(
            listen.split(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )
        assert proc.stdout is not None
        pid = proc.pid
        port = int(json.loads(proc.stdout.readline())["port"])
        _post_some(port)
        agent = _agent_pid(records) if tunnel else None
        signals = {
            "SIGTERM": [signal.SIGTERM],
            "two SIGINTs": [signal.SIGINT, signal.SIGINT],
            "SIGHUP": [signal.SIGHUP],
        }[kind]
        started = time.perf_counter()
        for signum in signals:
            proc.send_signal(signum)
    port_free = gone = agent_gone = float("nan")
    for _ in range(PROBES):
        now = time.perf_counter()
        if port_free != port_free and _bindable(port):
            port_free = now - started
        if proc is not None:
            if gone != gone and proc.poll() is not None:
                gone = now - started
        elif gone != gone and not _alive(pid):
            gone = now - started
        if agent is not None and agent_gone != agent_gone and not _alive(agent):
            agent_gone = now - started
        if port_free == port_free and gone == gone and (agent is None or agent_gone == agent_gone):
            break
        time.sleep(0.001)
    code = None
    if proc is not None:
        proc.wait(timeout=10)
        code = proc.returncode
    else:
        shell.wait()
    for leftover in (pid, agent):  # should not happen; never leave one behind
        if leftover is not None and _alive(leftover):
            os.kill(leftover, signal.SIGKILL)
    return Stop(kind, port_free * 1000, gone * 1000, code, agent_gone * 1000)


def measure(rounds: int = 5, tunnel: bool = False) -> dict[str, list[Stop]]:
    """Every kind of stop, `rounds` times each, interleaved."""
    terra = shutil.which("terra") or str(Path(sys.executable).parent / "terra")
    results: dict[str, list[Stop]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory(prefix="terra-life-") as tmp:
        env = dict(os.environ, TERRA_DATA_DIR=tmp, TERRA_CONFIG_DIR=tmp + "/config")
        env["TERRA_SIGNING_SECRET"] = SECRET
        env["FAKE_NGROK_RECORD"] = tmp + "/agents"
        Path(env["FAKE_NGROK_RECORD"]).mkdir()
        if tunnel:
            agent = Path(tmp) / "bin" / "ngrok"
            agent.parent.mkdir()
            agent.write_text(f"#!{sys.executable}\n" + FAKE_AGENT.read_text().split("\n", 1)[1])
            agent.chmod(0o755)
            env.update(
                TERRA_NGROK_PATH=str(agent),
                NGROK_AUTHTOKEN="bench-fake-ngrok-token",
                FAKE_NGROK_PARENT_WATCH="0",
            )
        for _ in range(rounds):
            for kind in KINDS:
                results[kind].append(_one(kind, env, terra, tunnel))
    return results


def worst(stops: list[Stop], attr: str) -> float:
    return max(_value(s, attr) for s in stops)


def median(stops: list[Stop], attr: str) -> float:
    values = sorted(_value(s, attr) for s in stops)
    return values[len(values) // 2]


def _value(stop: Stop, attr: str) -> float:
    if attr == "agent_gone_ms":
        return stop.agent_gone_ms
    return stop.port_free_ms if attr == "port_free_ms" else stop.gone_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for tunnel in (False, True):
        results = measure(args.rounds, tunnel)
        print(
            f"{'with the fake ngrok agent' if tunnel else '--no-tunnel'}: stop -> port free / "
            f"process gone, {args.rounds} rounds each (goal: port free < 1 s)"
        )
        for kind, stops in results.items():
            codes = sorted({s.exit_code for s in stops}, key=str)
            agent = f"   agent gone worst {worst(stops, 'agent_gone_ms'):6.1f} ms" if tunnel else ""
            print(
                f"  {kind:<24} port free median {median(stops, 'port_free_ms'):6.1f} ms "
                f"(worst {worst(stops, 'port_free_ms'):6.1f})   gone median "
                f"{median(stops, 'gone_ms'):6.1f} ms (worst {worst(stops, 'gone_ms'):6.1f})   "
                f"exit {', '.join(str(c) for c in codes)}{agent}"
            )


if __name__ == "__main__":
    main()

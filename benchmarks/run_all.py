"""Every benchmark in one run, printed as one table (Markdown) with the machine.

Start-up (benchmarks/startup.py), throughput and latency against a bare
stdlib receiver (benchmarks/listener.py), a 30 MB payload plain and gzip
(benchmarks/big_payload.py), and how fast a stopped listener releases its
port and leaves no process, with and without the (fake) ngrok agent
(benchmarks/lifecycle.py). Each script also runs on its own with more
detail. Loopback only; nothing leaves the machine.

    python benchmarks/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import big_payload, lifecycle, listener, startup


def machine() -> str:
    """CPUs, CPU model, Python and kernel, in one line."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpus} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def left_nothing(stop: lifecycle.Stop, tunnel: bool) -> bool:
    """terra (and with the tunnel, the agent) was seen gone within the probes (not NaN)."""
    gone = stop.gone_ms == stop.gone_ms
    return gone and (not tunnel or stop.agent_gone_ms == stop.agent_gone_ms)


def verdict(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough look)")
    args = parser.parse_args()
    q = args.quick
    rows: list[tuple[str, str, str, str]] = []

    print(f"Machine: {machine()}", flush=True)
    runs = 10 if q else 30
    medians = startup.measure(runs)
    base = medians["import typer"]
    for name, goal in (("terra --version", 1.15), ("terra config show", 1.5)):
        ratio = medians[name] / base
        rows.append((
            f"start-up: `{name}` / `python -c 'import typer'` (median of {runs})",
            f"{ratio:.2f} ({medians[name] * 1000:.0f} / {base * 1000:.0f} ms)",
            f"<= {goal}",
            verdict(ratio <= goal),
        ))  # fmt: skip

    c = listener.measure(requests=1000 if q else 3000, rounds=2 if q else 5)
    terra, bare = c.rate("terra listen"), c.rate("bare stdlib")
    rows.append((
        f"throughput: signed ~1.8 KB events/s, {c.connections} keep-alive connections "
        f"(median of {c.rounds} rounds)",
        f"{terra:.0f}/s vs bare stdlib {bare:.0f}/s = {c.ratio:.2f}",
        ">= 0.7 of bare",
        verdict(c.ratio >= 0.7),
    ))  # fmt: skip
    p99 = c.p99("terra listen")
    rows.append((
        "answer latency under that load, p50 / p99",
        f"{c.p50('terra listen'):.1f} / {p99:.1f} ms",
        "p99 <= 25 ms",
        verdict(p99 <= 25),
    ))  # fmt: skip
    rows.append((
        "events lost (missing from the log or NDJSON)",
        f"{c.lost} of {c.sent['terra listen']}",
        "0",
        verdict(c.lost == 0),
    ))  # fmt: skip

    for use_gzip in (False, True):
        b = big_payload.measure(30.0, use_gzip)
        label = (
            f"30 MB activity payload as gzip ({b.mib:.1f} MiB sent)"
            if use_gzip
            else f"30 MB activity payload ({b.mib:.1f} MiB)"
        )
        rows.append((
            f"{label}: time to answer (event shown)",
            f"{b.answer_s:.2f} s ({b.shown_s:.2f} s)",
            "<= 1.5 s",
            verdict(b.answer_s <= 1.5 and b.status == 200 and b.byte_exact),
        ))  # fmt: skip
        rows.append((
            f"{label}: listener peak RSS (idle)",
            f"{b.peak_mib * 1.048576:.0f} MB ({b.idle_mib * 1.048576:.0f} MB)",
            "<= 250 MB",
            verdict(b.peak_mib * 1.048576 <= 250),
        ))  # fmt: skip

    rounds = 2 if q else 5
    for tunnel in (False, True):
        stops = lifecycle.measure(rounds, tunnel)
        where = " (tunnel: fake ngrok agent)" if tunnel else " (--no-tunnel)"
        for kind, results in stops.items():
            free = lifecycle.worst(results, "port_free_ms")
            gone = lifecycle.worst(results, "gone_ms")
            figure = f"{free:.0f} / {gone:.0f} ms"
            if tunnel:
                figure += f" / agent gone {lifecycle.worst(results, 'agent_gone_ms'):.0f} ms"
            rows.append((
                f"stop by {kind}{where}: port free / terra gone, worst of {rounds}",
                figure,
                "port free < 1 s, nothing left",
                verdict(free < 1000 and all(left_nothing(r, tunnel) for r in results)),
            ))  # fmt: skip

    print()
    print("| measure | figure | goal | met |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

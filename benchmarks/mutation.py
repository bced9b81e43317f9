"""Mutation testing of the core modules with cosmic-ray: how many small faults the tests catch.

Each mutant (one operator flipped, one constant changed, one condition negated...)
is applied to a scratch copy of the repository and the module's own tests run
against it; a test failure (or a hang past the time limit) kills the mutant. The
copy is put first on PYTHONPATH, so the installed `terra` that the CLI tests start
as a subprocess runs the mutant too. Not part of the default test run or CI: it
takes minutes per module.

    pip install -e '.[mutation]'
    python benchmarks/mutation.py signature                 # one module, every mutant
    python benchmarks/mutation.py receiver --sample 150     # a random sample (seeded)
    python benchmarks/mutation.py store --recheck OLD.sqlite  # only what survived before

Modules: signature, receiver, store, forward, settings, api. Each session is kept in
`--workdir` (default: a fresh temporary folder) as `<module>.sqlite`; the script
prints the score and every survivor as a diff, to judge whether a user could
observe it. Run one module at a time: every mutant runs a test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The module under mutation and the tests that speak for it (fastest first: `-x`
# stops at the first failure, so a killed mutant costs little).
MODULES: dict[str, tuple[str, list[str]]] = {
    "signature": ("terra_cli/webhooks/signature.py", ["tests/foundation/test_signature.py"]),
    "store": (
        "terra_cli/webhooks/store.py",
        [
            "tests/listen/test_store.py",
            "tests/listen/test_receiver.py",
            "tests/listen/test_cli.py::test_a_second_run_appends_to_the_event_log",
            "tests/listen/test_cli.py::test_unwritable_event_log_answers_500_and_exits_9",
        ],
    ),
    "receiver": (
        "terra_cli/webhooks/receiver.py",
        [
            "tests/listen/test_receiver.py",
            "tests/listen/test_app_answers.py",
            "tests/reliability/test_hostile.py",
        ],
    ),
    "forward": (
        "terra_cli/webhooks/forward.py",
        [
            "tests/trigger/test_forward.py",
            "tests/trigger/test_forward_messages.py",
            "tests/trigger/test_forward_transport.py",
            "tests/listen/test_app_answers.py",
            "tests/trigger/test_listen_forward.py",
            "tests/trigger/test_redirects.py",
            "tests/trigger/test_trigger_cli.py",
        ],
    ),
    "settings": (
        "terra_cli/settings.py",
        [
            "tests/foundation/test_settings.py",
            "tests/foundation/test_config_cli.py",
            "tests/foundation/test_config_durability.py",
        ],
    ),
    "api": (
        "terra_cli/api.py",
        [
            "tests/api/test_client.py",
            "tests/api/test_integrations_auth.py",
            "tests/api/test_users.py",
            "tests/api/test_data.py",
            # test_widget.py (38 s, mostly retry waits) is left out to keep a run short.
        ],
    ),
}

_SKIP = {".git", ".venv", "mutants", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def copy_repo(dest: Path) -> None:
    """The working tree (not just what is committed) minus caches and the venv."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(
        ROOT, dest, ignore=lambda d, names: [n for n in names if n in _SKIP or n == "__pycache__"]
    )


def write_config(path: Path, module: str, tests: list[str], timeout: float) -> None:
    command = (
        f"{sys.executable} -m pytest -x -q -p no:cacheprovider -o addopts= "
        f"-m 'not soak' {' '.join(tests)}"
    )
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n'
        "\n[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def annotation_spans(path: Path) -> list[tuple[int, int, int, int]]:
    """Where the module's type annotations are. With `from __future__ import annotations`
    they are never evaluated, so a mutant inside one (`str | None` -> `str + None`) is
    equivalent to the original: no run can tell them apart. Those are not run."""
    import ast

    spans: list[tuple[int, int, int, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        notes: list[ast.expr | None] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            notes += [arg.annotation for arg in every if arg is not None]
            notes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            notes.append(node.annotation)
        for note in notes:
            if note is not None and note.end_lineno is not None and note.end_col_offset is not None:
                spans.append((note.lineno, note.col_offset, note.end_lineno, note.end_col_offset))
    return spans


def _in_annotation(item: Any, spans: list[tuple[int, int, int, int]]) -> bool:
    line, col = item.mutations[0].start_pos
    return any((l0, c0) <= (line, col) < (l1, c1) for l0, c0, l1, c1 in spans)


def _key(item: Any) -> tuple[str, str, int, tuple[int, int]]:
    spec = item.mutations[0]
    return (str(spec.module_path), spec.operator_name, spec.occurrence, tuple(spec.start_pos))


def _recheck_key(item: Any, lines: list[str]) -> tuple[str, str, int]:
    spec = item.mutations[0]
    line, col = spec.start_pos
    return (spec.operator_name, lines[line - 1].strip(), col)


def select(
    session: Path, source: Path, sample: int | None, seed: int, recheck: Path | None
) -> tuple[int, int]:
    """Mark every work item outside the sample (or outside the old survivors), and every
    mutant of a type annotation, as skipped. Returns (all mutants, annotation mutants)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    # A survivor is found again by its operator, the text of the line it changed and the
    # column, so a recheck still works after lines were added above it.
    keep: set[tuple[str, str, int]] | None = None
    lines = source.read_text().splitlines()
    if recheck is not None:
        with use_db(str(recheck), WorkDB.Mode.open) as old:
            keep = set()
            for item, result in old.completed_work_items:
                if result.test_outcome != TestOutcome.SURVIVED:
                    continue
                spec = item.mutations[0]
                removed = [
                    ln[1:].strip()
                    for ln in (result.diff or "").splitlines()
                    if ln.startswith("-") and not ln.startswith("---")
                ]
                keep.update((spec.operator_name, text, spec.start_pos[1]) for text in removed)
    with use_db(str(session), WorkDB.Mode.open) as db:
        every = sorted(db.work_items, key=_key)
        spans = annotation_spans(source)
        items = [i for i in every if not _in_annotation(i, spans)]
        chosen = items
        if keep is not None:
            chosen = [i for i in items if _recheck_key(i, lines) in keep]
        elif sample is not None and sample < len(items):
            chosen = random.Random(seed).sample(items, sample)
        chosen_ids = {i.job_id for i in chosen}
        skipped = [i.job_id for i in every if i.job_id not in chosen_ids]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
        return len(every), len(every) - len(items)


def report(session: Path, total: int, annotations: int, seconds: float) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    killed, survived, other = 0, [], 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.test_outcome == TestOutcome.KILLED:
                killed += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                survived.append((item, result))
            else:
                other += 1  # incompetent: the mutant does not even import
    run = killed + len(survived)
    for item, result in sorted(survived, key=lambda p: _key(p[0])):
        spec = item.mutations[0]
        print(f"--- survived: {spec.module_path}:{spec.start_pos[0]} {spec.operator_name}")
        print(result.diff or "")
    score = 100.0 * killed / run if run else 0.0
    print(
        f"\n{session.stem}: {total} mutants ({annotations} in type annotations, not run), "
        f"{run} run, {killed} killed, {len(survived)} survived, {other} incompetent; "
        f"score {score:.1f} % in {seconds:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", choices=sorted(MODULES))
    parser.add_argument("--sample", type=int, help="run only this many mutants, drawn at random")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--recheck", type=Path, help="an earlier session: rerun its survivors")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    module, tests = MODULES[args.module]
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="terra-mutation-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    src = work / "src"
    copy_repo(src)
    config = work / f"{args.module}.toml"
    session = work / f"{args.module}.sqlite"
    session.unlink(missing_ok=True)
    write_config(config, module, tests, args.timeout)
    env = {**os.environ, "PYTHONPATH": str(src)}
    cosmic = [str(Path(sys.executable).parent / "cosmic-ray")]
    subprocess.run([*cosmic, "init", str(config), str(session)], cwd=src, env=env, check=True)
    total, annotations = select(session, src / module, args.sample, args.seed, args.recheck)
    print(f"{args.module}: {total} mutants; session {session}", flush=True)
    started = time.monotonic()
    subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=src, env=env, check=True)
    report(session, total, annotations, time.monotonic() - started)


if __name__ == "__main__":
    main()

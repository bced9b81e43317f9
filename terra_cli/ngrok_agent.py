"""The ngrok agent executable: download it on first use, and launch it tied to terra's life.

Standard library only (no pyngrok here: `terra_cli.tunnel` drives the agent).
Downloading ourselves, instead of letting pyngrok do it, keeps its progress
text off stdout and lets tests point the source at a local server
(`TERRA_NGROK_DOWNLOAD_URL`), so no test ever reaches the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shlex
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from terra_cli.errors import LocalResourceError, NetworkError

DOWNLOAD_URL_ENV = "TERRA_NGROK_DOWNLOAD_URL"
DOWNLOAD_TIMEOUT = 15.0
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
_AGENT_NAMES = ("ngrok", "ngrok.exe")

ProgressCallback = Callable[[int, "int | None"], None]


def _install_hint() -> str:
    return (
        "Install ngrok (https://ngrok.com/download) and run "
        "'terra config set ngrok-path /path/to/ngrok' (or set TERRA_NGROK_PATH); "
        "or run 'terra listen --no-tunnel'."
    )


def download_agent(url: str, dest: Path, on_progress: ProgressCallback) -> None:
    """Fetch the agent archive from `url` and install its `ngrok` executable at `dest`.

    Progress goes to `on_progress(received_bytes, total_bytes_or_None)`. Any
    failure to fetch (offline, refused, timeout, HTTP error, not an archive)
    is a NetworkError (exit 8) whose hint says how to install ngrok by hand.
    """
    import urllib.error
    import urllib.request

    if not url.lower().startswith(("http://", "https://")):
        raise NetworkError(
            f"The ngrok download URL must be http(s), got '{url}'.",
            hint=f"Fix or unset {DOWNLOAD_URL_ENV}. " + _install_hint(),
        )
    data = bytearray()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:  # noqa: S310
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            on_progress(0, total)
            while True:
                chunk = resp.read(64 * 1024)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_ARCHIVE_BYTES:
                    raise NetworkError(
                        f"The ngrok download from {url} is larger than expected; stopped.",
                        hint=_install_hint(),
                    )
                on_progress(len(data), total)
    except urllib.error.HTTPError as exc:
        raise NetworkError(
            f"Could not download the ngrok agent from {url}: HTTP {exc.code}.",
            hint=_install_hint(),
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise NetworkError(
            f"Could not download the ngrok agent from {url}: {reason}.",
            hint=_install_hint(),
        ) from None
    _install_from_archive(bytes(data), url, dest)


def _extract(archive: bytes) -> bytes | None:
    """The agent executable's bytes from a .tgz or .zip archive, or None."""
    if zipfile.is_zipfile(io.BytesIO(archive)):
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            for info in zf.infolist():
                if Path(info.filename).name in _AGENT_NAMES and not info.is_dir():
                    return zf.read(info)
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tf:
            for member in tf.getmembers():
                if Path(member.name).name in _AGENT_NAMES and member.isfile():
                    fh = tf.extractfile(member)
                    return fh.read() if fh is not None else None
    except tarfile.TarError:
        return None
    return None


def _install_from_archive(archive: bytes, url: str, dest: Path) -> None:
    binary = _extract(archive)
    if not binary:
        raise NetworkError(
            f"The download from {url} is not an ngrok archive.",
            hint=_install_hint(),
        )
    tmp_name: str | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".ngrok-", suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(binary)
        os.chmod(tmp_name, 0o755)  # noqa: S103 - an executable, like any in /usr/bin
        os.replace(tmp_name, dest)
        tmp_name = None
    except OSError as exc:
        raise LocalResourceError(
            f"Cannot install the ngrok agent at {dest}: {exc.strerror or exc}.",
            hint="Point 'terra config set ngrok-path' at an agent you installed, "
            "or make that folder writable.",
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


# Runs between fork and the agent's exec: ask Linux to SIGTERM the agent when the
# thread that started it dies (even by SIGKILL), then become the agent. stderr goes
# to /dev/null because the agent logs to stdout and terra reports its errors itself.
_LAUNCH_CODE = """\
import ctypes, os, signal, sys
agent = sys.argv[2]
parent = int(os.environ.get("TERRA_NGROK_PARENT_PID") or sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
if os.getppid() != parent:  # terra died before the line above took effect
    sys.exit(0)
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 2)
try:
    os.execv(agent, [agent] + sys.argv[3:])
except OSError as exc:
    print('lvl=eror msg="cannot run the ngrok agent" err=' + repr(str(exc)), flush=True)
    sys.exit(1)
"""


PARENT_PID_ENV = "TERRA_NGROK_PARENT_PID"


def supports_parent_death_signal() -> bool:
    """True where the agent can be tied to terra's life by the kernel (Linux)."""
    return sys.platform.startswith("linux") and bool(sys.executable)


def mark_parent() -> None:
    """Tell the launcher which pid must be its parent (inherited through the environment;
    pyngrok gives no other channel). `$PPID` alone would miss a parent that died between
    fork and exec."""
    os.environ[PARENT_PID_ENV] = str(os.getpid())


def write_launcher(folder: Path, agent: Path) -> Path:
    """A small executable that starts `agent` with PR_SET_PDEATHSIG set, for pyngrok to run.

    pyngrok gives no pre-exec hook, so the hook is an exec wrapper: pyngrok
    runs this file with the agent's usual argv; it sets the parent-death
    signal and replaces itself with the agent (no extra process remains).
    One file per agent path, rewritten only when its content changes.
    """
    digest = hashlib.sha256(str(agent).encode()).hexdigest()[:12]
    path = folder / f"agent-launcher-{digest}"
    script = (
        "#!/bin/sh\n"
        "# Written by terra-cli: starts the ngrok agent so it exits when terra does.\n"
        f"exec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(_LAUNCH_CODE)} "
        f'"$PPID" {shlex.quote(str(agent))} "$@"\n'
    )
    try:
        if path.is_file() and path.read_text() == script and os.access(path, os.X_OK):
            return path
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".launcher-")
        with os.fdopen(fd, "w") as fh:
            fh.write(script)
        os.chmod(tmp, 0o700)
        os.replace(tmp, path)
    except OSError as exc:
        raise LocalResourceError(
            f"Cannot write {path}: {exc.strerror or exc}.",
            hint="Make the data folder writable, or set TERRA_DATA_DIR to another folder.",
        ) from None
    return path

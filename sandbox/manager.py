"""Start, find, stop and wipe the sandbox process of a state directory.

The CLI calls ``ensure_running(dir)`` whenever no real provider is configured, so
successive ``vibn`` commands share one detached sandbox (its data persists in
``dir``). A sandbox counts as running only when the pid in ``dir/sandbox.json``
is alive *and* its control plane answers with that pid, so a stale file or a
recycled pid is never mistaken for it. ``up`` and ``down`` hold a lock file so
two commands racing to start the sandbox start one.
"""

from __future__ import annotations

import fcntl
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from vibn.sandbox.emulator import state_file
from vibn.sandbox.info import SandboxError, SandboxInfo
from vibn.sandbox.persist import read_json
from vibn.sandbox.registry import EMULATORS
from vibn.sandbox.server import INFO_FILE, LOG_FILE

LOCK_FILE = ".lock"
_children: dict[int, subprocess.Popen[bytes]] = {}
#: the sandbox is plain HTTP on loopback: skip loading CA certificates (tens of ms)
_PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _client(timeout: float) -> httpx.Client:
    return httpx.Client(verify=_PLAIN_HTTP, trust_env=False, timeout=timeout)


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / LOCK_FILE).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_info(state_dir: Path) -> SandboxInfo | None:
    try:
        data = read_json(state_dir / INFO_FILE)
        return SandboxInfo.from_json(data) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
        return
    if child is None:
        with suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _pid_alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _answers(info: SandboxInfo, timeout: float = 1.0) -> bool:
    """Every emulator's control plane answers, from the recorded pid."""
    if not info.providers:
        return False
    try:
        with _client(timeout) as client:
            for endpoint in info.providers.values():
                resp = client.get(endpoint.control_url + "/health")
                if resp.status_code != 200 or resp.json().get("pid") != info.pid:
                    return False
    except (httpx.HTTPError, ValueError):
        return False
    return True


def _is_sandbox_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"vibn.sandbox.server" in cmdline


def _log_tail(state_dir: Path, lines: int = 30) -> str:
    try:
        text = (state_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def status(state_dir: Path | str) -> SandboxInfo | None:
    """The running sandbox of ``state_dir``, or None."""
    info = _read_info(Path(state_dir))
    if info is None or not _pid_alive(info.pid) or not _answers(info):
        return None
    return info


def up(state_dir: Path | str, *, timeout: float = 30.0) -> SandboxInfo:
    """Start the sandbox detached (idempotent: returns the running one if any)."""
    state_dir = Path(state_dir).resolve()
    with _locked(state_dir):
        running = status(state_dir)
        if running is not None:
            return running
        log_path = state_dir / LOG_FILE
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vibn.sandbox.server", "--dir", str(state_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _children[proc.pid] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                _children.pop(proc.pid, None)
                raise SandboxError(
                    f"the sandbox server exited with status {code} before it was ready; "
                    f"end of {log_path}:\n{_log_tail(state_dir)}"
                )
            info = _read_info(state_dir)
            if info is not None and info.pid == proc.pid and _answers(info):
                return info
            time.sleep(0.05)
        _terminate(proc.pid, 5.0)
        raise SandboxError(
            f"the sandbox server did not become ready within {timeout:.0f}s; "
            f"end of {log_path}:\n{_log_tail(state_dir)}"
        )


def ensure_running(state_dir: Path | str) -> SandboxInfo:
    """What the CLI calls when no provider is configured: the sandbox, started if needed."""
    return up(state_dir)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = _children.get(pid)
        if child is not None:
            try:
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
        if not _pid_alive(pid):
            _children.pop(pid, None)
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def _terminate(pid: int, timeout: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            _children.pop(pid, None)
            return
        if _wait_gone(pid, timeout):
            return
    raise SandboxError(f"the sandbox process {pid} did not stop")


def down(state_dir: Path | str, *, timeout: float = 10.0) -> bool:
    """Stop the sandbox of ``state_dir``; False when none was running."""
    state_dir = Path(state_dir).resolve()
    with _locked(state_dir):
        info = _read_info(state_dir)
        if info is None:
            return False
        ours = _pid_alive(info.pid) and (_answers(info) or _is_sandbox_process(info.pid))
        if ours:
            _terminate(info.pid, timeout)
        (state_dir / INFO_FILE).unlink(missing_ok=True)
        return ours


def reset(state_dir: Path | str) -> None:
    """Wipe every emulator's data, whether the sandbox runs or not."""
    state_dir = Path(state_dir).resolve()
    info = status(state_dir)
    if info is None:
        for name in EMULATORS:
            state_file(state_dir, name).unlink(missing_ok=True)
        return
    with _client(10.0) as client:
        for name, endpoint in info.providers.items():
            resp = client.post(endpoint.control_url + "/reset")
            if resp.status_code != 200:
                raise SandboxError(f"resetting {name} failed: HTTP {resp.status_code} {resp.text}")

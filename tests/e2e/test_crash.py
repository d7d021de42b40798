"""Kill ``vibn apply`` at several points; the next apply converges with no duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from .conftest import Cli
from .test_cli_flow import held

pytestmark = pytest.mark.slow


def journal_rows(db: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM journal").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("kill_after", [1, 6, 14, 22])
def test_killed_apply_is_resumed_without_duplicates(cli: Cli, kill_after: int) -> None:
    with cli.control as c:
        c.post("/latency", json={"seconds": 0.05}).raise_for_status()
    env = {**os.environ, **cli.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibn.cli", "apply", "examples/saas.yaml", "--auto-approve"],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    db = str(cli.cwd / ".vibn/state.db")
    deadline = time.monotonic() + 60
    while journal_rows(db) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()
    assert killed, "apply finished before it could be killed"

    with cli.control as c:
        c.post("/latency", json={"seconds": 0}).raise_for_status()
    r = cli("apply", "examples/saas.yaml", "--auto-approve")
    assert r.code == 0, r.stderr
    now = held(cli)
    for kind, names in now.items():
        dupes = [n for n, count in Counter(names).items() if count > 1]
        assert not dupes, f"duplicate {kind}: {dupes}"
    assert now["applications"] == ["mysaas-web-1", "mysaas-worker-1", "mysaas-worker-2"]
    assert now["databases"] == ["mysaas-cache", "mysaas-database"]
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0

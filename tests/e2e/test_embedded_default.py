"""A fresh directory, no configuration: the sandbox starts itself and state lands in .vibn/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def vibn(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBN_")}
    return subprocess.run(
        [sys.executable, "-m", "vibn.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_fresh_directory_uses_sqlite_and_an_auto_started_sandbox(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    try:
        r = vibn(tmp_path, "apply", "examples/minimal.yaml", "--auto-approve")
        assert r.returncode == 0, r.stderr
        assert (tmp_path / ".vibn/state.db").is_file()
        r = vibn(tmp_path, "sandbox", "status", "--json")
        status = json.loads(r.stdout)
        coolify = status["providers"]["coolify"]
        apps = httpx.get(
            coolify["url"] + "/applications",
            headers={"Authorization": f"Bearer {coolify['token']}"},
        ).json()
        assert [a["name"] for a in apps] == ["hello-web-1"]
        # the data outlives the emulator process
        assert vibn(tmp_path, "sandbox", "down").returncode == 0
        r = vibn(tmp_path, "plan", "examples/minimal.yaml", "--detailed-exitcode")
        assert r.returncode == 0, r.stdout + r.stderr
        assert vibn(tmp_path, "sandbox", "reset").returncode == 0
        r = vibn(tmp_path, "plan", "examples/minimal.yaml", "--detailed-exitcode")
        assert r.returncode == 2 and "was deleted outside vibn" in r.stdout
    finally:
        vibn(tmp_path, "sandbox", "down")

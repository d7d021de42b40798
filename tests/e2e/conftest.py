"""Fixtures for end-to-end CLI tests: a working directory, a sandbox, a CLI runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from vibn.cli import app
from vibn.sandbox.server import RunningSandbox

from ..conftest import provider_env

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs ``vibn`` in-process with a chosen environment and working directory."""

    cwd: Path
    env: dict[str, str]
    sandbox: RunningSandbox

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, list(args), env=self.env, input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    @property
    def coolify(self) -> httpx.Client:
        ep = self.sandbox.providers["coolify"]
        return httpx.Client(base_url=ep.url, headers={"Authorization": f"Bearer {ep.token}"})

    @property
    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.sandbox.providers["coolify"].control_url)

    def write(self, name: str, text: str) -> Path:
        path = self.cwd / name
        path.write_text(text)
        return path


@pytest.fixture
def cli(tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    work = tmp_path / "work"
    shutil.copytree(REPO / "examples", work / "examples")
    monkeypatch.chdir(work)
    env = {
        "VIBN_HOME": str(work / ".vibn"),
        **provider_env(sandbox),
        "STRIPE_API_KEY": "sk_test_e2e",
        "VIBN_DATABASE_URL": "",
        "VIBN_SECRETS_KEY": "",
    }
    for key in env:
        monkeypatch.delenv(key, raising=False)
    runner = Cli(work, env, sandbox)
    assert runner("secrets", "set", "SESSION_SECRET", "--value", "e2e-session").code == 0
    # the example stack buys its domain from the workspace float
    assert runner("float", "credit", "100", "--reference", "e2e-topup").code == 0
    yield runner

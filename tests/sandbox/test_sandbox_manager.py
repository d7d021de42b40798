"""The detached sandbox process as the CLI drives it: up, status, down, reset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vibn.sandbox import manager
from vibn.sandbox.info import SandboxError

from .helpers import client

pytestmark = pytest.mark.slow


def test_up_status_reset_down(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    assert manager.status(state) is None
    info = manager.up(state)
    try:
        assert info.pid != os.getpid()
        assert manager.up(state) == info  # idempotent
        assert manager.status(state) == info
        coolify = info.providers["coolify"]
        assert coolify.url.endswith("/api/v1")
        on_disk = json.loads((state / "sandbox.json").read_text())
        assert on_disk == info.to_json()
        assert on_disk["providers"]["coolify"]["token"] == (state / "token").read_text().strip()
        with client(coolify.url, coolify.token) as api:
            assert api.post("/projects", json={"name": "p"}).status_code == 201
            manager.reset(state)
            assert api.get("/projects").json() == []
            assert api.post("/projects", json={"name": "kept"}).status_code == 201
    finally:
        assert manager.down(state) is True
    assert manager.status(state) is None
    assert manager.down(state) is False
    assert not (state / "sandbox.json").exists()
    assert json.loads((state / "coolify.json").read_text())["projects"]

    again = manager.ensure_running(state)
    try:
        assert again.providers["coolify"].url == info.providers["coolify"].url  # port reused
        with client(again.providers["coolify"].url, again.providers["coolify"].token) as api:
            assert [p["name"] for p in api.get("/projects").json()] == ["kept"]
    finally:
        manager.down(state)
    manager.reset(state)  # not running: the data files go
    assert not (state / "coolify.json").exists()


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    state.mkdir()
    (state / "coolify.json").write_text("{broken")
    with pytest.raises(SandboxError) as caught:
        manager.up(state, timeout=20)
    message = str(caught.value)
    assert "exited with status 1" in message
    assert "cannot start the coolify emulator" in message
    assert manager.status(state) is None

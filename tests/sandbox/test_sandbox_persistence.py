"""Emulator data, the token and the ports survive a restart of the sandbox."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from vibn.sandbox.info import SandboxError
from vibn.sandbox.server import start_in_thread

from .helpers import api_client, new_app, new_project


def test_data_token_and_ports_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with start_in_thread(state) as first, api_client(first) as api:
        project = new_project(api)
        app = new_app(api, project, name="web")
        env = api.post(f"/applications/{app}/envs", json={"key": "A", "value": "1"})
        assert env.status_code == 201
        endpoint = first.providers["coolify"]
    saved = json.loads((state / "coolify.json").read_text())
    assert app in saved["applications"]
    assert [p.name for p in state.iterdir() if p.name.endswith(".tmp")] == []
    with start_in_thread(state) as second, api_client(second) as api:
        assert second.providers["coolify"] == endpoint
        assert api.get(f"/applications/{app}").json()["name"] == "web"
        assert [e["key"] for e in api.get(f"/applications/{app}/envs").json()] == ["A", "A"]
        again = new_project(api, "second")
        ids = [p["id"] for p in api.get("/projects").json()]
        assert ids == [1, 2] and again != project


def test_an_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    state.mkdir()
    (state / "coolify.json").write_text("{broken")
    with pytest.raises(SandboxError, match="cannot start the coolify emulator"):
        start_in_thread(state)


def test_explicit_ports_are_used_and_a_taken_one_is_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with start_in_thread(tmp_path / "a", ports={"coolify": port}) as running:
        assert running.providers["coolify"].url == f"http://127.0.0.1:{port}/api/v1"
        with pytest.raises(SandboxError, match=f"port {port} for coolify is not free"):
            start_in_thread(tmp_path / "b", ports={"coolify": port})


def test_unknown_emulators_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="unknown emulators: nope"):
        start_in_thread(tmp_path, names=["nope"])

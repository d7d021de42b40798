"""Emulator data, the token and the ports survive a restart of the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

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
    try:
        start_in_thread(state)
    except Exception as exc:
        assert "coolify" in str(exc) and str(state) in str(exc)
    else:
        raise AssertionError("a corrupt state file must not start silently")

"""Keys over the API (keys:admin) and from the terminal (vibn keys), and the audit trail
every write leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vibn.cli import app
from vibn.state import SecretBox, Store

from .conftest import Api, example


def test_keys_are_created_rotated_and_revoked_over_the_api(api: Api) -> None:
    admin = api.client(api.key("keys:admin", "audit:read"))
    created = admin.post(
        "/v1/keys", json={"scopes": ["stacks:read", "stacks:write"], "name": "agent 7"}
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["key"].startswith("vibn_") and first["scopes"] == ["stacks:read", "stacks:write"]
    assert first["expires_at"] is None

    listed = admin.get("/v1/keys").json()["keys"]
    assert first["id"] in [k["id"] for k in listed]
    assert first["key"] not in json.dumps(listed)
    agent = api.client(first["key"])
    assert agent.get("/v1/stacks").status_code == 200

    rotated = admin.post(f"/v1/keys/{first['id']}/rotate")
    assert rotated.status_code == 201 and rotated.json()["replaces"] == first["id"]
    assert rotated.json()["name"] == "agent 7" and rotated.json()["scopes"] == first["scopes"]
    assert agent.get("/v1/stacks").status_code == 401
    assert api.client(rotated.json()["key"]).get("/v1/stacks").status_code == 200
    assert admin.post(f"/v1/keys/{first['id']}/rotate").status_code == 404

    assert admin.delete(f"/v1/keys/{rotated.json()['id']}").status_code == 204
    assert api.client(rotated.json()["key"]).get("/v1/stacks").status_code == 401
    assert admin.delete(f"/v1/keys/{rotated.json()['id']}").status_code == 404

    expiring = admin.post("/v1/keys", json={"scopes": ["stacks:read"], "expires_in_days": 7})
    assert expiring.json()["expires_at"] is not None
    bad = admin.post("/v1/keys", json={"scopes": ["stacks:everything"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"].startswith("body.scopes")
    assert admin.post("/v1/keys", json={"scopes": []}).status_code == 422

    trail = admin.get("/v1/audit").json()["events"]
    assert [e["action"] for e in trail[:5]] == [
        "key.create",
        "key.revoke",
        "key.revoke",
        "key.rotate",
        "key.rotate",
    ]
    assert [e["result"] for e in trail[:5]] == ["ok", "refused", "ok", "refused", "ok"]


def test_every_write_is_audited_with_principal_stack_revision_and_result(api: Api) -> None:
    key = api.key()
    c = api.client(key)
    headers = {"Content-Type": "application/yaml"}
    c.put(
        "/v1/stacks/hello",
        content=example("minimal.yaml"),
        params={"dry_run": "true"},
        headers=headers,
    )
    plan_id = c.put("/v1/stacks/hello", content=example("minimal.yaml"), headers=headers).json()[
        "plan"
    ]["plan_id"]
    c.put("/v1/stacks/hello", content=b"spec: {}", headers=headers)
    c.post("/v1/stacks/hello/apply", json={"plan_id": "ffffffffffffffff"})
    trail = c.get("/v1/audit", params={"limit": 10}).json()["events"]
    principal = f"key:{key[:12]}"
    assert [(e["action"], e["result"], e["revision"]) for e in reversed(trail)] == [
        ("stack.put", "ok", 1),
        ("stack.put", "refused", None),
        ("apply.request", "refused", 1),
    ]
    assert {e["principal"] for e in trail} == {principal}
    assert all(e["stack"] == "hello" for e in trail)
    assert trail[0]["detail"]["status"] == 404
    assert plan_id == trail[-1]["detail"]["plan_id"]


@pytest.fixture
def vibn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for var in ("VIBN_DATABASE_URL", "VIBN_SECRETS_KEY", "VIBN_COOLIFY_URL", "VIBN_COOLIFY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VIBN_HOME", str(tmp_path / ".vibn"))
    return CliRunner()


def test_vibn_keys_create_list_rotate_revoke(vibn: CliRunner, tmp_path: Path) -> None:
    made = vibn.invoke(
        app,
        ["keys", "create", "--workspace", "acme", "--scopes", "stacks:read,stacks:write", "--json"],
    )
    assert made.exit_code == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["workspace"] == "acme" and key["scopes"] == ["stacks:read", "stacks:write"]

    plain = vibn.invoke(
        app, ["keys", "create", "-w", "acme", "--scopes", "stacks:read", "--expires-in", "30"]
    )
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("vibn_")
    assert "shown only now" in plain.stderr

    store = Store.open(
        f"sqlite:///{tmp_path / '.vibn' / 'state.db'}",
        SecretBox.from_env_or_file(None, tmp_path / ".vibn" / "secrets.key"),
    )
    try:
        assert store.authenticate_api_key(key["key"]) is not None
        listed = json.loads(vibn.invoke(app, ["keys", "list", "-w", "acme", "--json"]).stdout)
        assert [k["id"] for k in listed] == [key["id"], key["id"] + 1]
        assert key["key"] not in json.dumps(listed)

        table = vibn.invoke(app, ["keys", "list", "-w", "acme"]).stdout.splitlines()
        assert table[0].split()[-1] == "live" and "expires" in table[1]
        rotated = vibn.invoke(app, ["keys", "rotate", str(key["id"]), "-w", "acme", "--json"])
        assert rotated.exit_code == 0, rotated.stderr
        new = json.loads(rotated.stdout)
        assert store.authenticate_api_key(key["key"]) is None
        assert store.authenticate_api_key(new["key"]) is not None

        assert vibn.invoke(app, ["keys", "revoke", str(new["id"]), "-w", "acme"]).exit_code == 0
        assert store.authenticate_api_key(new["key"]) is None
        again = vibn.invoke(app, ["keys", "revoke", str(new["id"]), "-w", "acme"])
        assert again.exit_code == 1 and "no live key" in again.stderr
    finally:
        store.close()

    wrong = vibn.invoke(app, ["keys", "create", "-w", "acme", "--scopes", "stacks:root"])
    assert wrong.exit_code == 1 and "unknown scope" in wrong.stderr
    bad_ws = vibn.invoke(app, ["keys", "create", "-w", "Acme!", "--scopes", "stacks:read"])
    assert bad_ws.exit_code == 1 and "workspace name" in bad_ws.stderr

"""Helpers for the sandbox tests: a hand-driven clock and request bodies."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from vibn.sandbox.coolify import SERVER_UUID
from vibn.sandbox.server import RunningSandbox


class FakeClock:
    """A clock the test moves by hand (deployments and deletes follow it)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: the sandbox is plain HTTP: a CA-less context spares each client ~60 ms of setup
_PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def client(base_url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=base_url, headers=headers, timeout=10.0, verify=_PLAIN_HTTP, trust_env=False
    )


def api_client(sandbox: RunningSandbox) -> httpx.Client:
    ep = sandbox.providers["coolify"]
    return client(ep.url, ep.token)


def new_project(api: httpx.Client, name: str = "stack-x") -> str:
    resp = api.post("/projects", json={"name": name})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["uuid"])


def placement(project: str) -> dict[str, Any]:
    return {"project_uuid": project, "server_uuid": SERVER_UUID, "environment_name": "production"}


def public_app(project: str, **extra: Any) -> dict[str, Any]:
    return {
        **placement(project),
        "git_repository": "https://github.com/coollabsio/coolify-examples",
        "git_branch": "main",
        "build_pack": "nixpacks",
        "ports_exposes": "3000",
        **extra,
    }


def new_app(api: httpx.Client, project: str, **extra: Any) -> str:
    resp = api.post("/applications/public", json=public_app(project, **extra))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["uuid"])


def new_db(api: httpx.Client, project: str, flavor: str = "postgresql", **extra: Any) -> str:
    resp = api.post(f"/databases/{flavor}", json={**placement(project), **extra})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["uuid"])

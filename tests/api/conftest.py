"""Fixtures for the API tests: the real app on a loopback port, over the sandbox.

``serve`` runs uvicorn in a background thread on a free port and answers its base URL;
``api`` puts together a SQLite store in the test's directory, an engine driving the
Coolify sandbox, the app, and helpers to mint keys and follow event streams.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from vibn.api import ApiSettings, create_app
from vibn.config import load_settings
from vibn.reconciler.engine import Engine
from vibn.sandbox.server import RunningSandbox, start_in_thread
from vibn.state import SecretBox, Store
from vibn.wiring import build_drivers

from ..conftest import provider_env

REPO = Path(__file__).resolve().parents[2]
ALL_SCOPES = (
    "stacks:read",
    "stacks:write",
    "stacks:apply",
    "stacks:delete",
    "domains:write",
    "keys:admin",
    "audit:read",
)
FAST = ApiSettings(event_poll_seconds=0.05, event_timeout_seconds=20, event_keepalive_seconds=1)


def example(name: str) -> bytes:
    return (REPO / "examples" / name).read_bytes()


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@dataclass
class Api:
    """A served app and what it runs on."""

    url: str
    store: Store
    engine: Engine
    sandbox: RunningSandbox
    clients: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.Client] = field(
        default_factory=dict
    )

    def key(
        self,
        *scopes: str,
        workspace: str = "default",
        expires_at: datetime | None = None,
    ) -> str:
        token, _ = self.store.create_api_key(
            workspace, scopes=scopes or ALL_SCOPES, expires_at=expires_at
        )
        return token

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        """A client sending ``key`` (kept for the test: making one costs tens of ms)."""
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self._client(self.url, tuple(sorted(headers.items())))

    @property
    def coolify(self) -> httpx.Client:
        ep = self.sandbox.providers["coolify"]
        return self._client(ep.url, (("Authorization", f"Bearer {ep.token}"),))

    def _client(self, url: str, headers: tuple[tuple[str, str], ...]) -> httpx.Client:
        if (url, headers) not in self.clients:
            self.clients[url, headers] = httpx.Client(
                base_url=url, headers=dict(headers), timeout=30
            )
        return self.clients[url, headers]


def events(client: httpx.Client, path: str, **headers: str) -> list[tuple[str, dict[str, Any]]]:
    """Read an event stream to its end: ``(event name, data)`` pairs, ids as ``data["id"]``."""
    out: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "message", ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and data:
                out.append((name, json.loads(data)))
                name, data = "message", ""
    return out


def make_engine(store: Store, sandbox: RunningSandbox) -> tuple[Engine, ExitStack]:
    """An engine over every sandbox emulator, wired as ``vibn serve`` wires one; close
    the stack to close its clients."""
    cleanup = ExitStack()
    cfg = load_settings(sandbox.state_dir, provider_env(sandbox))
    drivers, platform = build_drivers(cfg, cleanup, "api-tests-registrar-profiles")
    engine = Engine(
        store,
        drivers,
        b"api-tests-fingerprints-0123456789",
        parallelism=4,
        env={"STRIPE_API_KEY": "sk_test_api"},
        platform=platform,
    )
    return engine, cleanup


@contextmanager
def running_api(
    state_dir: Path, sandbox: RunningSandbox, settings: ApiSettings = FAST
) -> Iterator[Api]:
    store = Store.open(f"sqlite:///{state_dir / 'state.db'}", SecretBox.generate())
    store.set_secret("default", "SESSION_SECRET", "api-session")
    # the example stack buys its domain from the workspace float
    store.ledger_entry("default", Decimal("100"), "test top-up", "api-tests-topup")
    engine, provider = make_engine(store, sandbox)
    api = None
    try:
        with serve(create_app(store, engine, settings=settings)) as url:
            api = Api(url, store, engine, sandbox)
            yield api
    finally:
        for client in api.clients.values() if api else []:
            client.close()
        provider.close()
        store.close()


@pytest.fixture
def make_api(tmp_path: Path, sandbox: RunningSandbox) -> Iterator[Callable[[ApiSettings], Api]]:
    """Start an API with chosen settings (stopped when the test ends)."""
    with ExitStack() as stack:
        yield lambda settings: stack.enter_context(running_api(tmp_path, sandbox, settings))


@pytest.fixture
def api(make_api: Callable[[ApiSettings], Api]) -> Api:
    return make_api(FAST)


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One API for a whole module of tests that only read or are refused."""
    base = tmp_path_factory.mktemp("shared-api")
    with start_in_thread(base / "sandbox") as sandbox, running_api(base, sandbox) as api:
        yield api


def past() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)

"""Part (b) of the service benchmark: the API under many concurrent agents.

The API runs as an operator runs it — ``vibn serve`` in a process of its own, on SQLite,
every provider at the sandbox (itself another process) — and the agents are threads of
this process, each in its own workspace with its own key, each doing ``rounds`` x
(``PUT ?dry_run=true``, then ``PUT``) of a distinct stack. Their documents are made
before the clock starts, so what is timed is the server. Reported: p50/p99 latency per
kind of PUT, errors by status, provider requests, and the CPU seconds the server and the
emulators spent (on a two-core machine the three processes share the cores).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench_world import KEY, PROJECT, Controls, cpu_seconds, document, stop

from vibn.sandbox.info import ProviderEndpoint
from vibn.state import SecretBox, Store
from vibn.wiring import sandbox_environment

SERVER_START_TIMEOUT = 60.0
QUOTAS = "[quotas]\nstacks = 1000\napps = 1000\ndatabases = 1000\nbuckets = 100\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def vibn_serve(home: Path, providers: Mapping[str, ProviderEndpoint]) -> Iterator[tuple[str, int]]:
    """``vibn serve`` (no reconcile workers) over ``home/api.db``: ``(url, pid)``."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIBN_")},
        **sandbox_environment(providers, PROJECT),
        "VIBN_HOME": str(home / ".vibn"),
        "VIBN_DATABASE_URL": f"sqlite:///{home / 'api.db'}",
        "VIBN_SECRETS_KEY": base64.b64encode(KEY).decode(),
        "STRIPE_API_KEY": "sk_bench",
    }
    log = open(home / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibn.cli", "serve", "--port", str(port), "--workers", "0"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vibn serve did not start; see {home / 'serve.log'}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        stop(proc, 60)  # lets uvicorn finish what it serves
        log.close()


def _agents(home: Path, count: int) -> list[tuple[str, str]]:
    """``count`` workspaces, each with a key allowed to PUT: ``(workspace, key)``."""
    (home / "vibn.toml").write_text(QUOTAS)
    store = Store.open(f"sqlite:///{home / 'api.db'}", SecretBox(KEY))
    try:
        keys = []
        for a in range(count):
            ws = f"agent{a:03d}"
            store.set_secret(ws, "SESSION_SECRET", "bench")
            token, _ = store.create_api_key(ws, scopes=("stacks:read", "stacks:write"))
            keys.append((ws, token))
        return keys
    finally:
        store.close()


def _body(workspace: str, name: str, coolify_only: bool) -> str:
    doc = document(name, coolify_only)
    doc["metadata"]["workspace"] = workspace
    return json.dumps(doc)


def api_bench(
    home: Path,
    providers: Mapping[str, ProviderEndpoint],
    sandbox_pid: int,
    *,
    agents: int,
    rounds: int,
    latency: float,
    coolify_only: bool,
) -> dict[str, Any]:
    """Run the load; the figures ``report`` prints."""
    shutil.rmtree(home, ignore_errors=True)  # a fresh store: every agent's first PUT creates
    home.mkdir(parents=True)
    keys = _agents(home, agents)
    bodies = {(ws, r): _body(ws, f"app{r}", coolify_only) for ws, _ in keys for r in range(rounds)}
    results: dict[str, list[float]] = {"dry_run": [], "put": []}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    controls = Controls(providers)
    with vibn_serve(home, providers) as (url, server_pid):
        start = threading.Barrier(agents)

        def agent(index: int) -> None:
            ws, token = keys[index]
            with httpx.Client(
                base_url=url,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=300,
            ) as client:
                start.wait(60)
                for r in range(rounds):
                    for kind, params in (("dry_run", {"dry_run": "true"}), ("put", {})):
                        t0 = time.perf_counter()
                        try:
                            resp = client.put(
                                f"/v1/stacks/app{r}", content=bodies[ws, r], params=params
                            )
                            status = str(resp.status_code)
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        took = time.perf_counter() - t0
                        with lock:
                            if status in ("200", "201"):
                                results[kind].append(took)
                            else:
                                errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1

        controls.latency(latency)
        controls.reset_counts()
        server_cpu, sandbox_cpu = cpu_seconds(server_pid), cpu_seconds(sandbox_pid)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(agents) as pool:
            list(pool.map(agent, range(agents)))
        wall = time.perf_counter() - t0
        server_cpu = cpu_seconds(server_pid) - server_cpu
        sandbox_cpu = cpu_seconds(sandbox_pid) - sandbox_cpu
        counts = controls.counts()
        controls.latency(0)
    controls.close()
    puts = sum(len(v) for v in results.values()) + sum(errors.values())
    return {
        "wall": wall,
        "lat": results,
        "errors": errors,
        "puts": puts,
        "provider_requests": sum(counts.values()),
        "server_cpu_s": server_cpu,
        "sandbox_cpu_s": sandbox_cpu,
    }

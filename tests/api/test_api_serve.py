"""``vibn serve`` as an operator runs it: a process with the API and a reconcile worker,
a key made with ``vibn keys create``, an agent's three calls, drift mended, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vibn.sandbox.server import RunningSandbox

from ..conftest import provider_env
from .conftest import events, example

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_vibn_serve_runs_the_api_and_a_worker(tmp_path: Path, sandbox: RunningSandbox) -> None:
    ep = sandbox.providers["coolify"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIBN_")},
        "VIBN_HOME": str(tmp_path / ".vibn"),
        **provider_env(sandbox),
    }
    vibn = [sys.executable, "-m", "vibn.cli"]
    made = subprocess.run(
        [
            *vibn,
            "keys",
            "create",
            "-w",
            "default",
            "--json",
            "--scopes",
            "stacks:read,stacks:write,stacks:apply",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    key = json.loads(made.stdout)["key"]
    port = free_port()
    server = subprocess.Popen(
        [*vibn, "serve", "--port", str(port), "--workers", "1", "--interval", "0.5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        c = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if c.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)

        body = example("minimal.yaml")
        headers = {"Content-Type": "application/yaml"}
        c.put("/v1/stacks/hello", params={"dry_run": "true"}, content=body, headers=headers)
        plan_id = c.put("/v1/stacks/hello", content=body, headers=headers).json()["plan"]["plan_id"]
        accepted = c.post("/v1/stacks/hello/apply", json={"plan_id": plan_id}).json()
        assert events(c, accepted["links"]["events"])[-2][1]["status"] == "succeeded"

        # drift: the worker notices the deleted application and recreates it
        app_id = next(
            r["provider_id"]
            for r in c.get("/v1/stacks/hello").json()["resources"]
            if r["address"] == "app.web-1"
        )
        with httpx.Client(base_url=ep.url, headers={"Authorization": f"Bearer {ep.token}"}) as co:
            assert co.delete(f"/applications/{app_id}").status_code == 200
        last = events(c, "/v1/stacks/hello/events?timeout=0.1")[-2][1]["id"]
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while "drift_corrected" not in seen and time.monotonic() < deadline:
            batch = events(c, f"/v1/stacks/hello/events?after={last}&timeout=1")
            seen += [name for name, _ in batch]
            last = max([last] + [d["id"] for name, d in batch if name != "end"])
        assert "drift" in seen and "drift_corrected" in seen, seen
        c.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    # uvicorn shuts down gracefully, then exits by the signal it caught
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr
    assert "Traceback" not in stderr

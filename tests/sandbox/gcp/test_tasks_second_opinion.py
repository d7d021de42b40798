"""The Cloud Tasks queue flow against the sandbox and, when installed, drongo.

A driver that behaves the same against two independent emulators is less likely
to be tuned to one fake (DESIGN.md, Testing). drongo (PyPI, REST) is not a vibn
dependency: when its ``drongo`` command is on PATH the same flow runs against
it too, otherwise that case is skipped. The flow keeps to what drongo supports
(shared/reference/emulators.md: queue CRUD, pause/resume, task create/get/list,
NotFound). gcloud-tasks-emulator speaks gRPC only and needs its own virtualenv,
so it is not driven from here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from vibn.sandbox.server import start_in_thread

PARENT = "projects/p1/locations/northamerica-northeast1"
QUEUE = f"{PARENT}/queues/second-opinion"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"drongo exited with status {proc.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("drongo did not start listening")


@pytest.fixture(params=["sandbox", "drongo"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sandbox":
        with start_in_thread(tmp_path / "sb", names=["tasks"]) as running:
            yield running.providers["tasks"].url
        return
    command = shutil.which("drongo")
    if command is None:
        pytest.skip("drongo is not installed (optional second opinion)")
    port = _free_port()
    proc = subprocess.Popen(
        [command, "server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_queue_and_task_flow(endpoint: str) -> None:
    api = tasks_v2.CloudTasksClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )
    made = api.create_queue(
        parent=PARENT,
        queue={
            "name": QUEUE,
            "rate_limits": {"max_dispatches_per_second": 5, "max_concurrent_dispatches": 2},
        },
    )
    assert made.name == QUEUE and made.state == tasks_v2.Queue.State.RUNNING
    assert made.rate_limits.max_dispatches_per_second == 5
    assert [q.name for q in api.list_queues(parent=PARENT)] == [QUEUE]
    assert api.pause_queue(name=QUEUE).state == tasks_v2.Queue.State.PAUSED
    task = api.create_task(
        parent=QUEUE, task={"http_request": {"url": "https://app.example.com/t", "body": b"x"}}
    )
    assert task.name.startswith(QUEUE + "/tasks/")
    got = api.get_task(request={"name": task.name, "response_view": tasks_v2.Task.View.FULL})
    assert got.http_request.url == "https://app.example.com/t" and got.http_request.body == b"x"
    assert [t.name for t in api.list_tasks(parent=QUEUE)] == [task.name]
    assert api.resume_queue(name=QUEUE).state == tasks_v2.Queue.State.RUNNING
    api.delete_queue(name=QUEUE)
    with pytest.raises(exceptions.NotFound):
        api.get_queue(name=QUEUE)

"""The Cloud Scheduler job flow against the sandbox and, when installed, drongo.

drongo (PyPI, REST) is an independent Cloud Scheduler emulator and not a vibn
dependency: when its ``drongo`` command is on PATH the flow runs against it too,
otherwise that case is skipped. The flow keeps to what drongo supports
(shared/reference/emulators.md: create with 409 on a duplicate, get, list,
update with a mask, pause, resume, run, delete, NotFound after delete).
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
from google.cloud import scheduler_v1
from google.protobuf import field_mask_pb2

from vibn.sandbox.server import start_in_thread

PARENT = "projects/p1/locations/northamerica-northeast1"
NAME = f"{PARENT}/jobs/second-opinion"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(params=["sandbox", "drongo"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sandbox":
        with start_in_thread(tmp_path / "sb", names=["scheduler"]) as running:
            yield running.providers["scheduler"].url
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
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("drongo did not start listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_job_flow(endpoint: str) -> None:
    api = scheduler_v1.CloudSchedulerClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )
    job = {
        "name": NAME,
        "schedule": "0 3 * * *",
        "time_zone": "America/Toronto",
        "http_target": {
            "uri": "https://app.example.com/cron",
            "http_method": scheduler_v1.HttpMethod.POST,
        },
    }
    made = api.create_job(parent=PARENT, job=job)
    assert made.name == NAME and made.state == scheduler_v1.Job.State.ENABLED
    with pytest.raises(exceptions.Conflict):
        api.create_job(parent=PARENT, job=job)
    assert api.get_job(name=NAME).schedule == "0 3 * * *"
    assert [j.name for j in api.list_jobs(parent=PARENT)] == [NAME]
    updated = api.update_job(
        job={"name": NAME, "schedule": "*/10 * * * *", "description": "not masked"},
        update_mask=field_mask_pb2.FieldMask(paths=["schedule"]),
    )
    assert (updated.schedule, updated.description) == ("*/10 * * * *", "")
    assert api.pause_job(name=NAME).state == scheduler_v1.Job.State.PAUSED
    assert api.resume_job(name=NAME).state == scheduler_v1.Job.State.ENABLED
    api.run_job(name=NAME)
    api.delete_job(name=NAME)
    with pytest.raises(exceptions.NotFound):
        api.get_job(name=NAME)

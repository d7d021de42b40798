"""The Cloud Scheduler v1 REST emulator: routes, handlers and ``/_sandbox/scheduler``.

Serves what google-cloud-scheduler sends with ``transport="rest"`` (see
shared/reference/gcp-notes.md section 2): job create, get, list, patch with an
``updateMask``, delete, ``:pause``, ``:resume``, ``:run``, plus the locations
mixin. Jobs never fire on their own; ``:run`` records an attempt, and with the
``dispatch`` setting on it really sends the job's HTTP request (after the
answer, as Google does) and records the target's answer in ``Job.status``.
``/_sandbox/scheduler/runs`` lists the attempts, ``/settings`` and ``/clock``
change the switches and the emulator's time.
"""

from __future__ import annotations

import base64
import copy
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import ControlHandler
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcp_rest import (
    Call,
    Delivery,
    Endpoint,
    GcpApi,
    GcpSettings,
    GcpStore,
    Outbound,
    add_location_routes,
    apply_mask,
    control_routes,
    decode,
    deliver,
    fail,
    format_timestamp,
    invalid,
    mask_paths,
    paginate,
    parse_duration,
    sandbox_app,
    target_headers,
)
from vibn.sandbox.routing import Router
from vibn.sandbox.scheduler.jobs import (
    NAME_FORMAT,
    Job,
    check_job,
    check_name,
    job_name,
    parent_name,
    render,
    with_defaults,
)
from vibn.sandbox.scheduler.schema import EMPTY, JOB, TARGETS

#: the API is served at the root: ``url`` is what ``client_options.api_endpoint`` takes
API_PREFIX = ""
BASE = "/v1/projects/{project}/locations/{location}"
MAX_RUNS = 500


@dataclass
class SchedulerSettings(GcpSettings):
    """``dispatch``: ``:run`` really sends the HTTP request; ``dispatch_timeout``
    caps the job's ``attemptDeadline`` (seconds) so a test never waits minutes."""

    dispatch: bool = False
    dispatch_timeout: float = 10.0


class SchedulerService:
    """The handlers, over the ``jobs`` table of the store."""

    def __init__(self, store: GcpStore, settings: SchedulerSettings) -> None:
        self.store = store
        self.settings = settings
        self.runs: deque[dict[str, Any]] = deque(maxlen=MAX_RUNS)

    @property
    def jobs(self) -> dict[str, Job]:
        return self.store.table("jobs")

    def _job(self, call: Call) -> tuple[str, Job]:
        p = call.params
        name = job_name(p["project"], p["location"], p["job"])
        job = self.jobs.get(name)
        if job is None:
            fail("NOT_FOUND", "Job not found.")
        return name, job

    def _store(self, name: str, job: Job, call: Call) -> dict[str, Any]:
        self.jobs[name] = job
        self.store.mark_dirty()
        return render(job, call.now, call.int_enums)

    def create(self, call: Call) -> dict[str, Any]:
        parent = parent_name(call.params["project"], call.params["location"])
        job = decode(JOB, call.json(), "job")
        name = str(job.pop("name", "") or f"{parent}/jobs/{secrets.randbelow(10**20):020d}")
        check_name(name, parent)
        if name in self.jobs:
            fail("ALREADY_EXISTS", f"Job {name} already exists.")
        job = {"name": name, **with_defaults(job)}
        check_job(job)
        job.update(state="ENABLED", userUpdateTime=format_timestamp(call.now))
        return self._store(name, job, call)

    def get(self, call: Call) -> dict[str, Any]:
        _, job = self._job(call)
        return render(job, call.now, call.int_enums)

    def list(self, call: Call) -> dict[str, Any]:
        prefix = parent_name(call.params["project"], call.params["location"]) + "/jobs/"
        mine = [j for n, j in self.jobs.items() if n.startswith(prefix)]
        page, token = paginate(mine, lambda j: str(j["name"]), call, 500)
        out: dict[str, Any] = {}
        if page:
            out["jobs"] = [render(j, call.now, call.int_enums) for j in page]
        if token:
            out["nextPageToken"] = token
        return out

    def patch(self, call: Call) -> dict[str, Any]:
        name, job = self._job(call)
        body = decode(JOB, call.json(), "job")
        if body.pop("name", name) != name:
            invalid(NAME_FORMAT)
        mask = call.query.get("updateMask", "")
        paths = mask_paths(mask, JOB) if mask else [(k,) for k in body]
        if any(path[0] == "name" for path in paths):
            invalid("Invalid update_mask provided: field 'name' cannot be updated.")
        updated = copy.deepcopy(job)
        apply_mask(updated, body, paths)
        for chosen in {p[0] for p in paths if p[0] in TARGETS and p[0] in body}:
            for other in TARGETS:
                if other != chosen:
                    updated.pop(other, None)
        check_job(with_defaults(updated))
        updated["userUpdateTime"] = format_timestamp(call.now)
        return self._store(name, updated, call)

    def delete(self, call: Call) -> dict[str, Any]:
        name, _ = self._job(call)
        del self.jobs[name]
        self.store.mark_dirty()
        return {}

    def _set_state(self, call: Call, state: str) -> dict[str, Any]:
        decode(EMPTY, call.json(), "")
        name, job = self._job(call)
        job.update(state=state, userUpdateTime=format_timestamp(call.now))
        return self._store(name, job, call)

    def pause(self, call: Call) -> dict[str, Any]:
        return self._set_state(call, "PAUSED")

    def resume(self, call: Call) -> dict[str, Any]:
        return self._set_state(call, "ENABLED")

    def run(self, call: Call) -> dict[str, Any]:
        decode(EMPTY, call.json(), "")
        name, job = self._job(call)
        started = format_timestamp(call.now)
        job["lastAttemptTime"] = started
        outbound = self._outbound(job, call.now) if self.settings.dispatch else None
        if outbound is None:
            job["status"] = {}
            self.runs.append({"job": name, "at": started, "dispatched": False})
        else:

            async def send() -> None:
                self._record(name, started, outbound, await deliver(outbound))

            call.background.append(send)
        return self._store(name, job, call)

    def _outbound(self, job: Job, now: float) -> Outbound | None:
        target = job.get("httpTarget")
        if target is None:
            return None
        uri = str(target["uri"])
        service = {
            "User-Agent": "Google-Cloud-Scheduler",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": str(job["name"]).rsplit("/", 1)[-1],
            "X-CloudScheduler-ScheduleTime": format_timestamp(now),
        }
        deadline = parse_duration(str(job.get("attemptDeadline", "180s")))
        return Outbound(
            method=str(target.get("httpMethod", "POST")),
            url=uri,
            headers=target_headers(target.get("headers", {}), uri, target, service, now),
            body=base64.b64decode(target.get("body", "")),
            timeout=min(deadline, self.settings.dispatch_timeout),
        )

    def _record(self, name: str, started: str, request: Outbound, outcome: Delivery) -> None:
        with self.store.lock:
            job = self.jobs.get(name)
            if job is not None and job.get("lastAttemptTime") == started:
                job["status"] = outcome.rpc_status()
                self.store.mark_dirty()
                self.store.flush()
            self.runs.append(
                {
                    "job": name,
                    "at": started,
                    "dispatched": True,
                    "request": {
                        "method": request.method,
                        "url": request.url,
                        "headers": request.headers,
                        "body": base64.b64encode(request.body).decode("ascii"),
                    },
                    "response": outcome.to_json(),
                }
            )

    def router(self) -> Router[Endpoint]:
        router: Router[Endpoint] = Router()
        add_location_routes(router, "v1")
        paging = frozenset({"pageSize", "pageToken"})
        router.add("POST", BASE + "/jobs", Endpoint(self.create))
        router.add("GET", BASE + "/jobs", Endpoint(self.list, paging))
        router.add("POST", BASE + "/jobs/{job}:pause", Endpoint(self.pause))
        router.add("POST", BASE + "/jobs/{job}:resume", Endpoint(self.resume))
        router.add("POST", BASE + "/jobs/{job}:run", Endpoint(self.run))
        router.add("GET", BASE + "/jobs/{job}", Endpoint(self.get))
        router.add("PATCH", BASE + "/jobs/{job}", Endpoint(self.patch, frozenset({"updateMask"})))
        router.add("DELETE", BASE + "/jobs/{job}", Endpoint(self.delete))
        return router


def _control(service: SchedulerService) -> Router[ControlHandler]:
    router = control_routes("scheduler", service.store)

    async def runs(request: Request) -> Response:
        with service.store.lock:
            return JSONResponse({"runs": list(service.runs)})

    async def clear_runs(request: Request) -> Response:
        with service.store.lock:
            service.runs.clear()
        return JSONResponse({"runs": []})

    router.add("GET", "/runs", runs)
    router.add("DELETE", "/runs", clear_runs)
    return router


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Cloud Scheduler emulator, persisting to ``<state dir>/scheduler.json``."""
    settings = SchedulerSettings()
    store = GcpStore(config.state_file("scheduler"), config.clock, ("jobs",), settings)
    service = SchedulerService(store, settings)
    api = GcpApi(store, service.router())

    def reset() -> None:
        store.reset()
        with store.lock:
            service.runs.clear()

    app = sandbox_app("scheduler", api, reset, _control(service))
    return Emulator("scheduler", app, API_PREFIX)

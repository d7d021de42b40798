"""The ``gcp.scheduler_job`` driver: a stack's cron entries as Cloud Scheduler jobs.

Each ``cron.{name}`` is one job with an HTTP target (the app's URL + path) in
Montréal. Scheduler jobs carry no labels, so ownership is the ``vibn:`` marker in
the job's description; observation is one paged ``list_jobs`` per location, never
one get per job. The job id is deterministic (``vibn-{ws}-{stack}-{cron}``): after a
crash between create and record the next create meets a 409, finds its own marker
and adopts the job instead of failing or duplicating it.

The cron token travels as an HTTP header. It is revealed only in the request body
sent to Google, reported back wrapped in ``Sensitive``, and the GAPIC client's own
debug logging (which dumps whole request and response payloads) is held at INFO,
so the token never reaches a log. Jobs hold no user data: not data bearing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, TypeVar

from google.cloud import scheduler_v1
from google.cloud.scheduler_v1.services.cloud_scheduler import pagers

from vibn.providers.base import Desired, Driver, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError
from vibn.providers.gcp.common import (
    GcpEndpoints,
    RetryPolicy,
    all_pages,
    call,
    duration_text,
    parents_to_list,
    parse_duration,
)
from vibn.providers.reads import by_workspace, marker_workspace
from vibn.specs.values import Sensitive, reveal

KIND = "gcp.scheduler_job"
T = TypeVar("T")

#: props -> the Job field paths an ``update_mask`` names for them
MASK_PATHS: dict[str, str] = {
    "schedule": "schedule",
    "time_zone": "time_zone",
    "uri": "http_target.uri",
    "http_method": "http_target.http_method",
    "headers": "http_target.headers",
    "retry_count": "retry_config.retry_count",
    "attempt_deadline": "attempt_deadline",
}
#: headers Cloud Scheduler sets or replaces itself (compared lower-case); reported only
#: when vibn asked for them, so the diff never wants to remove Google's own
GOOGLE_HEADERS = frozenset({"user-agent", "host", "content-length", "content-type"})
GOOGLE_HEADER_PREFIXES = ("x-cloudscheduler", "x-google-", "x-appengine-", "x-goog-")


def scheduler_client(endpoints: GcpEndpoints) -> scheduler_v1.CloudSchedulerClient:
    """A REST Cloud Scheduler client for ``endpoints`` (thread-safe, shareable)."""
    options = {"api_endpoint": endpoints.scheduler} if endpoints.scheduler else None
    return scheduler_v1.CloudSchedulerClient(
        credentials=endpoints.credentials(), transport="rest", client_options=options
    )


def _quiet_payload_logging(name: str) -> None:
    """GAPIC transports log whole request/response payloads at DEBUG (cron tokens
    included) whenever DEBUG is on anywhere above them: hold the package at INFO."""
    logger = logging.getLogger(name)
    if logger.level < logging.INFO:
        logger.setLevel(logging.INFO)


def _reported_headers(
    headers: Mapping[str, str], asked: Mapping[str, Any] | None
) -> dict[str, Sensitive]:
    wanted = {k.lower() for k in asked or {}}
    return {
        key: Sensitive(str(value))
        for key, value in headers.items()
        if key.lower() in wanted
        or not (key.lower() in GOOGLE_HEADERS or key.lower().startswith(GOOGLE_HEADER_PREFIXES))
    }


class SchedulerJobDriver:
    """props ``{"name", "schedule", "time_zone", "uri", "http_method", "headers",
    "paused", "retry_count", "attempt_deadline"}`` (header values ``Sensitive``);
    outputs ``{"name", "state", "schedule_time"}``; the description holds the marker."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        client: scheduler_v1.CloudSchedulerClient,
        project: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        _quiet_payload_logging("google.cloud.scheduler_v1")
        self._client = client
        self._project = project
        self._retry = retry or RetryPolicy()
        self._timeout = timeout

    # -- read ------------------------------------------------------------------------
    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        records = ctx.recorded(KIND)
        recorded = {(r.stack, r.address): r.props for r in records}
        names = [r.props.get("name") for r in records]
        found = []
        for parent in parents_to_list(self._project, "jobs", names):
            listed = ctx.shared((KIND, parent), partial(self._by_workspace, parent))
            for job in listed.get(scope.workspace, ()):
                owner = Owner.from_marker(job.description)
                if owner is None or owner.workspace != scope.workspace:
                    continue
                if owner.stack not in scope.stacks:
                    continue
                props = recorded.get((owner.stack, owner.address)) or recorded.get(
                    ("", owner.address), {}
                )
                asked = props.get("headers")
                found.append(self._observed(job, owner.address, owner, asked))
        return found

    def _by_workspace(self, parent: str) -> dict[str, list[scheduler_v1.Job]]:
        return by_workspace(self._list(parent), lambda job: marker_workspace(job.description))

    def _list(self, parent: str) -> list[scheduler_v1.Job]:
        """Every job under ``parent``, one page per call (each page retried on its own)."""

        def page(token: str) -> pagers.ListJobsPager:
            request = scheduler_v1.ListJobsRequest(parent=parent, page_token=token)
            return self._client.list_jobs(request=request, retry=None, timeout=self._timeout)

        return all_pages(
            lambda token: self._call(partial(page, token), f"{KIND} {parent}"),
            lambda response: response.jobs,
        )

    # -- write -----------------------------------------------------------------------
    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        where = _where(desired.address, name)
        job = _job(name, desired.props, desired.address, desired.owner.marker())
        parent = name.rsplit("/jobs/", 1)[0]
        try:
            created = self._call(
                lambda: self._client.create_job(
                    parent=parent, job=job, retry=None, timeout=self._timeout
                ),
                where,
            )
        except ConflictError as err:
            if err.status != 409:
                raise
            # the name is taken (perhaps by this very create, retried after a lost answer)
            return self._adopt(desired, where)
        if desired.props.get("paused"):  # state is output-only: a job is born enabled
            created = self._set_paused(name, True, where)
        headers = desired.props.get("headers")
        return self._observed(created, desired.address, desired.owner, headers)

    def _adopt(self, desired: Desired, where: str) -> Observed:
        """A job of this name exists: take it over only if its marker is this owner's."""
        name = str(desired.props["name"])
        existing = self._call(
            lambda: self._client.get_job(name=name, retry=None, timeout=self._timeout), where
        )
        owner = Owner.from_marker(existing.description)
        if owner != desired.owner:
            held = f"belongs to {owner.marker()}" if owner else "is not vibn's"
            raise ConflictError(
                "gcp",
                f"Cloud Scheduler job {name} already exists and {held}; vibn will not take "
                "it over — delete it or rename the cron entry",
                status=409,
                resource=where,
            )
        headers = desired.props.get("headers")
        current = self._observed(existing, desired.address, desired.owner, headers)
        return self.update(desired, current)

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = current.provider_id
        where = _where(desired.address, name)
        changed = [
            key
            for key in MASK_PATHS
            if key in desired.props and reveal(desired.props[key]) != reveal(current.props.get(key))
        ]
        job: scheduler_v1.Job | None = None
        if changed:
            body = _job(name, {k: desired.props[k] for k in changed}, desired.address)
            request = scheduler_v1.UpdateJobRequest(
                job=body, update_mask={"paths": [MASK_PATHS[k] for k in changed]}
            )
            job = self._call(
                lambda: self._client.update_job(request=request, retry=None, timeout=self._timeout),
                where,
            )
        paused = bool(desired.props.get("paused"))
        if paused != bool(current.props.get("paused")):
            job = self._set_paused(name, paused, where)
        if job is None:
            job = self._call(
                lambda: self._client.get_job(name=name, retry=None, timeout=self._timeout), where
            )
        return self._observed(job, desired.address, desired.owner, desired.props.get("headers"))

    def delete(self, current: Observed) -> None:
        name = current.provider_id
        try:
            self._call(
                lambda: self._client.delete_job(name=name, retry=None, timeout=self._timeout),
                _where(current.address, name),
            )
        except NotFoundError:
            return

    # -- helpers ---------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], resource: str) -> T:
        return call(fn, resource, policy=self._retry)

    def _set_paused(self, name: str, paused: bool, where: str) -> scheduler_v1.Job:
        method = self._client.pause_job if paused else self._client.resume_job
        return self._call(lambda: method(name=name, retry=None, timeout=self._timeout), where)

    def _observed(
        self,
        job: scheduler_v1.Job,
        address: str,
        owner: Owner,
        asked_headers: Mapping[str, Any] | None,
    ) -> Observed:
        state = scheduler_v1.Job.State(job.state).name
        target = job.http_target
        when = job.schedule_time if "schedule_time" in job else None
        return Observed(
            address=address,
            kind=KIND,
            provider_id=job.name,
            owner=owner,
            props={
                "name": job.name,
                "schedule": job.schedule,
                "time_zone": job.time_zone,
                "uri": target.uri,
                "http_method": scheduler_v1.HttpMethod(target.http_method).name,
                "headers": _reported_headers(dict(target.headers), asked_headers),
                "paused": state == "PAUSED",
                "retry_count": int(job.retry_config.retry_count),
                "attempt_deadline": duration_text(job.attempt_deadline),
            },
            outputs={
                "name": job.name,
                "state": state,
                "schedule_time": when.isoformat().replace("+00:00", "Z") if when else None,
            },
        )


def _job(
    name: str, props: Mapping[str, Any], address: str, description: str | None = None
) -> scheduler_v1.Job:
    """The Job message for ``props`` (all of them on create, with the ownership marker as
    description; only the changed ones on update). Secrets are revealed here and only here."""
    job = scheduler_v1.Job(name=name)
    if description is not None:
        job.description = description
    if "schedule" in props:
        job.schedule = str(props["schedule"])
    if "time_zone" in props:
        job.time_zone = str(props["time_zone"])
    target: dict[str, Any] = {}
    if "uri" in props:
        target["uri"] = str(props["uri"])
    if "http_method" in props:
        target["http_method"] = _http_method(str(props["http_method"]), address)
    if "headers" in props:
        target["headers"] = {str(k): str(v) for k, v in reveal(dict(props["headers"])).items()}
    if target:
        job.http_target = scheduler_v1.HttpTarget(**target)
    if "retry_count" in props:
        job.retry_config = scheduler_v1.RetryConfig(retry_count=int(props["retry_count"]))
    if "attempt_deadline" in props:
        job.attempt_deadline = parse_duration(str(props["attempt_deadline"]))
    return job


def _http_method(name: str, address: str) -> scheduler_v1.HttpMethod:
    method: scheduler_v1.HttpMethod | None = scheduler_v1.HttpMethod.__members__.get(name.upper())
    if method is None or method == scheduler_v1.HttpMethod.HTTP_METHOD_UNSPECIFIED:
        raise InvalidError("gcp", f"{name!r} is not an HTTP method", resource=address)
    return method


def _where(address: str, name: str) -> str:
    """How errors name the resource: the stack address and the job's full name."""
    return f"{address}, {name}"


def scheduler_drivers(
    endpoints: GcpEndpoints,
    client: scheduler_v1.CloudSchedulerClient | None = None,
    *,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> dict[str, Driver]:
    """The Cloud Scheduler drivers by kind, over one (given or new) shared client."""
    driver = SchedulerJobDriver(
        client or scheduler_client(endpoints), endpoints.project, retry=retry, timeout=timeout
    )
    return {driver.kind: driver}

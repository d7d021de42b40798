"""Cloud Tasks' rules for a task: names, targets, deadlines, views, retries.

A stored task is its canonical wire form plus the output fields the service
keeps (``createTime``, ``dispatchCount``, ``responseCount``, ``firstAttempt``,
``lastAttempt``) and two internal ones (``_force`` for a ``:run`` waiting for
the dispatcher, ``_previous`` for the last HTTP status a target answered). Task
ids are de-duplicated: a name in use answers ALREADY_EXISTS "Requested entity
already exists", a name deleted or completed within ``task_tombstone_seconds``
(Google: 1 hour for queues made through the API) answers ALREADY_EXISTS "The
task cannot be created because a task with this name existed too recently."
The BASIC view (the default) leaves out request bodies; FULL shows everything.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from vibn.sandbox.gcp_rest import encode, fail, invalid, parse_duration
from vibn.sandbox.tasks.schema import TASK

Task = dict[str, Any]

TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
DUPLICATE = "Requested entity already exists"
TOO_RECENT = "The task cannot be created because a task with this name existed too recently."
GONE = (
    "The task no longer exists, though a task with this name existed recently. "
    "The task either successfully completed or was deleted."
)
NOT_FOUND = "Requested entity was not found."
DEFAULT_DEADLINE = "600s"
BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_SCHEDULE_AHEAD = 30 * 86400.0
MAX_TASK_BYTES = 1024 * 1024


def check_name(name: str, queue: str) -> None:
    prefix = queue + "/tasks/"
    if not name.startswith(prefix) or not TASK_ID.match(name[len(prefix) :]):
        invalid("Invalid resource field value in the request.")


def _check_request(request: dict[str, Any], kind: str) -> None:
    method = request.get("httpMethod", "POST")
    if request.get("body") and method not in BODY_METHODS:
        invalid(f"{kind}.body is only allowed for POST, PUT and PATCH requests, not {method}.")
    if kind == "HttpRequest":
        url = str(request.get("url", ""))
        if not url:
            invalid("HttpRequest.url is required.")
        if not url.startswith(("http://", "https://")) or len(url) > 2083:
            invalid("HttpRequest.url must start with http:// or https://, 2083 characters at most.")


def check_task(task: Task, now: float, schedule: float, raw_size: int) -> None:
    """Every rule a new task must satisfy."""
    if raw_size > MAX_TASK_BYTES:
        invalid("Task size too large.")
    if "httpRequest" in task:
        _check_request(task["httpRequest"], "HttpRequest")
    elif "appEngineHttpRequest" in task:
        _check_request(task["appEngineHttpRequest"], "AppEngineHttpRequest")
    else:
        invalid("Task.http_request or Task.app_engine_http_request must be set.")
    deadline = task.get("dispatchDeadline")
    if deadline is not None:
        high = 1800.0 if "httpRequest" in task else 87315.0
        if not 15.0 <= parse_duration(str(deadline)) <= high:
            limit = "30 minutes" if high == 1800.0 else "24 hours 15 seconds"
            invalid(f"Task.dispatch_deadline must be between 15 seconds and {limit}.")
    if schedule > now + MAX_SCHEDULE_AHEAD:
        invalid("Task.schedule_time must not be more than 30 days in the future.")


def with_defaults(task: Task) -> Task:
    for key in ("httpRequest", "appEngineHttpRequest"):
        request = task.get(key)
        if request is not None and request.get("httpMethod") in (None, "HTTP_METHOD_UNSPECIFIED"):
            request["httpMethod"] = "POST"
    if "httpRequest" in task:
        task.setdefault("dispatchDeadline", DEFAULT_DEADLINE)
    task.setdefault("dispatchCount", 0)
    task.setdefault("responseCount", 0)
    return task


def render(task: Task, view: str, int_enums: bool) -> dict[str, Any]:
    """The task in ``view`` (BASIC unless FULL was asked): BASIC drops request bodies."""
    shown = copy.deepcopy(task)
    chosen = "FULL" if view == "FULL" else "BASIC"
    if chosen == "BASIC":
        for key in ("httpRequest", "appEngineHttpRequest"):
            if key in shown:
                shown[key].pop("body", None)
    shown["view"] = chosen
    out: dict[str, Any] = encode(TASK, shown, int_enums)
    return out


def retry_config(queue: dict[str, Any], task: Task) -> dict[str, Any]:
    """The retry settings that apply: the task's own over its queue's."""
    merged = dict(queue.get("retryConfig", {}))
    merged.update(task.get("retryConfig", {}))
    return merged


def backoff(retry: dict[str, Any], attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1 = the first retry), as documented:
    double ``maxDoublings`` times from ``minBackoff``, then grow linearly, capped at
    ``maxBackoff`` (10s/300s/3 doublings: 10, 20, 40, 80, 160, 240, 300, 300...)."""
    low = parse_duration(str(retry.get("minBackoff", "0.100s")))
    high = parse_duration(str(retry.get("maxBackoff", "3600s")))
    doublings = int(retry.get("maxDoublings", 16))
    if attempt - 1 <= doublings:
        delay = low * 2 ** (attempt - 1)
    else:
        delay = low * 2**doublings * (attempt - doublings)
    return float(min(delay, high))


def gives_up(retry: dict[str, Any], attempts: int, first_dispatch: float, now: float) -> bool:
    """Whether a failed task is dropped: only when both ``maxAttempts`` and
    ``maxRetryDuration`` (0 = unlimited, never the limit) are used up."""
    limit = int(retry.get("maxAttempts", 100))
    attempts_done = limit != -1 and attempts >= limit
    duration = parse_duration(str(retry.get("maxRetryDuration", "0s")))
    duration_done = duration == 0 or now - first_dispatch >= duration
    return attempts_done and duration_done


def live_task(tasks: dict[str, Task], tombstones: dict[str, Any], name: str) -> Task:
    """The task called ``name``; NOT_FOUND (saying so if it existed recently) otherwise."""
    task = tasks.get(name)
    if task is None:
        fail("NOT_FOUND", GONE if name in tombstones else NOT_FOUND)
    return task

"""Cloud Scheduler's rules for a job: names, schedules, targets, limits, defaults.

A stored job is its canonical wire form (``gcp_rest.decode``) plus the output
fields the service maintains (``state``, ``userUpdateTime``, ``status``,
``lastAttemptTime``); ``scheduleTime`` is computed on every read from the
emulator clock, the unix-cron schedule and the job's time zone, so it is always
the next fire time. The checks follow the API reference (job ids, 500-character
descriptions, ``attemptDeadline`` in [15s, 30m] for HTTP targets, ``retryCount``
0-5, body only with POST/PUT/PATCH) and the messages Google is known to answer
(``Schedule or time zone is invalid.``, ``Job not found.``, ``Job ... already
exists.``); other wording is the emulator's own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from vibn.sandbox.gcp_rest import (
    encode,
    fail,
    format_timestamp,
    invalid,
    parse_duration,
)
from vibn.sandbox.scheduler.schema import JOB, TARGETS

Job = dict[str, Any]

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
PROJECT_ID = re.compile(r"^[A-Za-z0-9:.-]{1,100}$")
LOCATION_ID = re.compile(r"^[a-z0-9-]{1,63}$")
NAME_FORMAT = (
    'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".'
)
DEFAULT_TIME_ZONE = "Etc/UTC"
DEFAULT_ATTEMPT_DEADLINE = "180s"
RETRY_DEFAULTS = {
    "maxRetryDuration": "0s",
    "minBackoffDuration": "5s",
    "maxBackoffDuration": "3600s",
    "maxDoublings": 5,
}
BODY_METHODS = ("POST", "PUT", "PATCH")
_MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
_DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/-]+$")


def parent_name(project: str, location: str) -> str:
    if not PROJECT_ID.match(project) or not LOCATION_ID.match(location):
        invalid("Invalid resource field value in the request.")
    return f"projects/{project}/locations/{location}"


def job_name(project: str, location: str, job_id: str) -> str:
    """The full name of a job addressed by path; unknown when the id cannot exist."""
    parent = parent_name(project, location)
    if not JOB_ID.match(job_id):
        fail("NOT_FOUND", "Job not found.")
    return f"{parent}/jobs/{job_id}"


def check_name(name: str, parent: str) -> None:
    prefix = parent + "/jobs/"
    if not name.startswith(prefix) or not JOB_ID.match(name[len(prefix) :]):
        invalid(NAME_FORMAT)


def _zone(name: str) -> ZoneInfo | None:
    if name.lower() == "utc":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _valid_cron(schedule: str) -> bool:
    """Unix-cron only: five fields, numbers, ranges, steps, lists, month and day names."""
    parts = schedule.split()
    if len(parts) != 5 or not croniter.is_valid(schedule):
        return False
    for index, part in enumerate(parts):
        if not _CRON_FIELD.match(part):
            return False
        names = {w.upper() for w in re.findall(r"[A-Za-z]+", part)}
        allowed = _MONTHS if index == 3 else _DAYS if index == 4 else set()
        if not names <= allowed:
            return False
    return True


def next_fire(job: Job, now: float) -> float | None:
    """When the job fires next after ``now`` (None for a schedule that never fires)."""
    zone = _zone(str(job.get("timeZone", DEFAULT_TIME_ZONE))) or ZoneInfo("UTC")
    start = datetime.fromtimestamp(now, UTC).astimezone(zone)
    try:
        moment = croniter(job["schedule"], start).get_next(datetime)
    except (CroniterBadDateError, ValueError, KeyError):
        return None
    return float(moment.timestamp())


def _seconds(value: Any) -> float:
    return parse_duration(str(value)) if value is not None else 0.0


def _check_http_target(target: dict[str, Any]) -> None:
    uri = str(target.get("uri", ""))
    if not uri:
        invalid("HttpTarget.uri is required.")
    if not uri.startswith(("http://", "https://")) or len(uri) > 2083:
        invalid("HttpTarget.uri must start with http:// or https://, 2083 characters at most.")
    method = target.get("httpMethod", "POST")
    if target.get("body") and method not in BODY_METHODS:
        invalid(f"A body is only allowed for POST, PUT and PATCH requests, not {method}.")


def _check_retry(retry: dict[str, Any]) -> None:
    count = int(retry.get("retryCount", 0))
    if not 0 <= count <= 5:
        invalid("RetryConfig.retry_count must be between 0 and 5.")
    if int(retry.get("maxDoublings", 0)) < 0:
        invalid("RetryConfig.max_doublings must not be negative.")
    for key in ("maxRetryDuration", "minBackoffDuration", "maxBackoffDuration"):
        if _seconds(retry.get(key)) < 0:
            invalid(f"RetryConfig.{key} must not be negative.")
    low, high = retry.get("minBackoffDuration"), retry.get("maxBackoffDuration")
    if low is not None and high is not None and _seconds(low) > _seconds(high):
        invalid("RetryConfig.min_backoff_duration must not exceed max_backoff_duration.")


def check_job(job: Job) -> None:
    """Every rule a complete job (created, or patched and merged) must satisfy."""
    targets = [t for t in TARGETS if t in job]
    if not targets:
        invalid("A job needs a target: http_target, app_engine_http_target or pubsub_target.")
    schedule = str(job.get("schedule", ""))
    if not _valid_cron(schedule) or _zone(str(job.get("timeZone", DEFAULT_TIME_ZONE))) is None:
        invalid("Schedule or time zone is invalid.")
    if len(str(job.get("description", ""))) > 500:
        invalid("Job.description must be at most 500 characters.")
    if "httpTarget" in job:
        _check_http_target(job["httpTarget"])
    if "pubsubTarget" in job:
        topic = str(job["pubsubTarget"].get("topicName", ""))
        if not re.match(r"^projects/[^/]+/topics/[^/]+$", topic):
            invalid('PubsubTarget.topic_name must be "projects/<PROJECT_ID>/topics/<TOPIC_ID>".')
    if "appEngineHttpTarget" in job:
        app = job["appEngineHttpTarget"]
        if app.get("body") and app.get("httpMethod", "POST") not in BODY_METHODS:
            invalid("A body is only allowed for POST, PUT and PATCH requests.")
    deadline = job.get("attemptDeadline")
    if deadline is not None and "pubsubTarget" not in job:
        high = 1800.0 if "httpTarget" in job else 87315.0
        if not 15.0 <= _seconds(deadline) <= high:
            limit = "30 minutes" if high == 1800.0 else "24 hours 15 seconds"
            invalid(f"Job.attempt_deadline must be between 15 seconds and {limit}.")
    _check_retry(job.get("retryConfig", {}))


def with_defaults(job: Job) -> Job:
    """What Google stores beyond what was sent: time zone, deadline, retry defaults,
    the HTTP method, and the ``User-Agent`` (and, with a body, ``Content-Type``) headers
    it sets on an HTTP target."""
    job.setdefault("timeZone", DEFAULT_TIME_ZONE)
    if "pubsubTarget" not in job:
        job.setdefault("attemptDeadline", DEFAULT_ATTEMPT_DEADLINE)
    retry = job.setdefault("retryConfig", {})
    for key, value in RETRY_DEFAULTS.items():
        if not retry.get(key):
            retry[key] = value
    for key in ("httpTarget", "appEngineHttpTarget"):
        if key in job:
            target = job[key]
            if target.get("httpMethod", "HTTP_METHOD_UNSPECIFIED") == "HTTP_METHOD_UNSPECIFIED":
                target["httpMethod"] = "POST"
    target = job.get("httpTarget")
    if target is not None:
        headers = target.setdefault("headers", {})
        for header in [h for h in headers if h.lower() == "user-agent"]:
            del headers[header]
        headers["User-Agent"] = "Google-Cloud-Scheduler"
        if target.get("body") and not any(h.lower() == "content-type" for h in headers):
            headers["Content-Type"] = "application/octet-stream"
    return job


def render(job: Job, now: float, int_enums: bool) -> dict[str, Any]:
    """The job as the API answers it, with ``scheduleTime`` computed for now."""
    shown = dict(job)
    fire = next_fire(job, now) if job.get("state") == "ENABLED" else None
    if fire is not None:
        shown["scheduleTime"] = format_timestamp(fire)
    out: dict[str, Any] = encode(JOB, shown, int_enums)
    return out

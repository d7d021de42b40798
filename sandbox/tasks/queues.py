"""Cloud Tasks' rules for a queue: names, limits, defaults, tombstones, filters.

A stored queue is its canonical wire form plus ``state`` and ``purgeTime``.
Defaults are those ``gcloud tasks queues describe`` shows for a queue created
with nothing set (500 dispatches/s, 1000 concurrent, 100 attempts, backoff
0.1 s to 1 h, 16 doublings); ``maxBurstSize`` is derived from the rate. A
deleted queue leaves a tombstone: for ``queue_tombstone_seconds`` (Google
documents "up to 3 days"; the emulator's default) creating the same name fails
with FAILED_PRECONDITION "The queue cannot be created because a queue with this
name existed too recently.", the message Google answers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from vibn.sandbox.gcp_rest import GcpStore, encode, fail, invalid, parse_duration
from vibn.sandbox.tasks.schema import QUEUE

Queue = dict[str, Any]

QUEUE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")
PROJECT_ID = re.compile(r"^[A-Za-z0-9:.-]{1,100}$")
LOCATION_ID = re.compile(r"^[a-z0-9-]{1,63}$")
BAD_NAME = "Invalid resource field value in the request."
NOT_FOUND = "Requested entity was not found."
TOO_RECENT = "The queue cannot be created because a queue with this name existed too recently."
GONE_RECENTLY = "The queue no longer exists, though a queue with this name existed recently."
RATE_DEFAULTS: dict[str, Any] = {"maxDispatchesPerSecond": 500.0, "maxConcurrentDispatches": 1000}
RETRY_DEFAULTS: dict[str, Any] = {"maxAttempts": 100, "minBackoff": "0.100s", "maxBackoff": "3600s"}
DEFAULT_MAX_DOUBLINGS = 16
_FILTER = re.compile(r"^\s*state\s*(?::|=)\s*([A-Z_]+)\s*$")


def parent_name(project: str, location: str) -> str:
    if not PROJECT_ID.match(project) or not LOCATION_ID.match(location):
        invalid(BAD_NAME)
    return f"projects/{project}/locations/{location}"


def queue_name(project: str, location: str, queue_id: str) -> str:
    parent = parent_name(project, location)
    if not QUEUE_ID.match(queue_id):
        invalid(BAD_NAME)
    return f"{parent}/queues/{queue_id}"


def check_name(name: str, parent: str) -> None:
    prefix = parent + "/queues/"
    if not name.startswith(prefix) or not QUEUE_ID.match(name[len(prefix) :]):
        invalid(BAD_NAME)


def with_defaults(queue: Queue) -> Queue:
    """Fill what Cloud Tasks picks when a setting is left unspecified (0 or absent)."""
    rates = queue.setdefault("rateLimits", {})
    for key, value in RATE_DEFAULTS.items():
        if not rates.get(key):
            rates[key] = value
    retry = queue.setdefault("retryConfig", {})
    for key, value in RETRY_DEFAULTS.items():
        if not retry.get(key):
            retry[key] = value
    if not retry.get("maxDoublings"):
        retry["maxDoublings"] = DEFAULT_MAX_DOUBLINGS
    return queue


def _seconds(value: Any) -> float:
    return parse_duration(str(value)) if value is not None else 0.0


def check_queue(queue: Queue) -> None:
    """Every rule a queue (created, or patched and merged) must satisfy."""
    rates = queue.get("rateLimits", {})
    rate = float(rates.get("maxDispatchesPerSecond", 0))
    if not 0 < rate <= 500:
        invalid("RateLimits.max_dispatches_per_second must be greater than 0 and at most 500.")
    if not 0 < int(rates.get("maxConcurrentDispatches", 0)) <= 5000:
        invalid("RateLimits.max_concurrent_dispatches must be between 1 and 5000.")
    retry = queue.get("retryConfig", {})
    if int(retry.get("maxAttempts", 0)) < -1:
        invalid("RetryConfig.max_attempts must be greater than or equal to -1.")
    if int(retry.get("maxDoublings", 0)) < 0:
        invalid("RetryConfig.max_doublings must not be negative.")
    for key in ("maxRetryDuration", "minBackoff", "maxBackoff"):
        if _seconds(retry.get(key)) < 0:
            invalid(f"RetryConfig.{key} must not be negative.")
    if _seconds(retry.get("minBackoff")) > _seconds(retry.get("maxBackoff")):
        invalid("RetryConfig.min_backoff must not exceed max_backoff.")
    ratio = queue.get("stackdriverLoggingConfig", {}).get("samplingRatio", 0.0)
    if not 0.0 <= float(ratio) <= 1.0:
        invalid("StackdriverLoggingConfig.sampling_ratio must be between 0.0 and 1.0.")


def burst_size(rate: float) -> int:
    """``maxBurstSize`` for a rate: 100 at the default 500/s, the rate itself below 100/s."""
    return max(1, min(100, math.ceil(rate)))


def render(queue: Queue, int_enums: bool) -> dict[str, Any]:
    shown = dict(queue)
    rates = dict(shown.get("rateLimits", {}))
    rates["maxBurstSize"] = burst_size(float(rates.get("maxDispatchesPerSecond", 500.0)))
    shown["rateLimits"] = rates
    out: dict[str, Any] = encode(QUEUE, shown, int_enums)
    return out


def recently_deleted(store: GcpStore, name: str, window: float) -> bool:
    """Whether ``name`` is inside its tombstone window (expired tombstones are dropped)."""
    tombs = store.table("queue_tombstones")
    deleted = tombs.get(name)
    if deleted is None:
        return False
    if store.now() - float(deleted["deletedAt"]) < window:
        return True
    del tombs[name]
    store.mark_dirty()
    return False


def existing(store: GcpStore, name: str) -> Queue:
    queue = store.table("queues").get(name)
    if queue is None:
        fail("NOT_FOUND", NOT_FOUND)
    return queue


def state_filter(text: str) -> str | None:
    """The state a ``filter`` asks for (``state: PAUSED``); None for no filter."""
    if not text.strip():
        return None
    m = _FILTER.match(text)
    if m is None or m.group(1) not in ("RUNNING", "PAUSED", "DISABLED"):
        invalid(f"Invalid filter: {text!r}. Only filtering on state is supported.")
    return m.group(1)

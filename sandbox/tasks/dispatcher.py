"""Delivering due tasks over HTTP, with the queue's retry policy (``dispatch`` on).

One background loop per emulator, on the server's event loop, started by the
first request or setting that might give it work and ended when ``dispatch`` is
switched off. Each turn it starts the due tasks of RUNNING queues (and tasks
forced by ``:run``, paused queue or not) within ``max_inflight`` and the queue's
``maxConcurrentDispatches``; a 2xx answer completes a task, anything else
reschedules it after the documented backoff until ``maxAttempts`` and
``maxRetryDuration`` are both used up. Due times follow the emulator clock, so a
test moves ``/_sandbox/tasks/clock`` rather than waiting for a backoff. Not
emulated: ``maxDispatchesPerSecond`` pacing, App Engine targets (never
dispatched), the queue-level ``httpTarget`` overrides.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import Counter
from typing import Any

from vibn.sandbox.gcp_rest import (
    Delivery,
    Outbound,
    deliver,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    target_headers,
)
from vibn.sandbox.tasks import task_rules as t
from vibn.sandbox.tasks.service import TasksService

IDLE_POLL = 0.5


class Dispatcher:
    """The delivery loop of one Tasks emulator."""

    def __init__(self, service: TasksService) -> None:
        self.service = service
        self.inflight: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()

    async def kick(self) -> None:
        """Wake the loop (starting it if needed) when dispatch is on."""
        if not self.service.settings.dispatch:
            return
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = self._spawn(self._run())
        if self._wake is not None:
            self._wake.set()

    def kick_soon(self) -> None:
        """``kick`` from synchronous code running on the server loop (control routes)."""
        self._spawn(self.kick())

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        return task

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while self.service.settings.dispatch:
            wake.clear()
            delay = self._start_due()
            timeout = IDLE_POLL if delay is None else min(max(delay, 0.005), IDLE_POLL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    def _start_due(self) -> float | None:
        """Start every task that may go now; seconds until the next one is due."""
        service, store = self.service, self.service.store
        with store.lock:
            now = store.now()
            per_queue = Counter(name.rsplit("/tasks/", 1)[0] for name in self.inflight)
            soonest: float | None = None
            due = sorted(
                service.tasks.items(), key=lambda kv: parse_timestamp(kv[1]["scheduleTime"])
            )
            for name, task in due:
                queue_name = name.rsplit("/tasks/", 1)[0]
                queue = service.queues.get(queue_name)
                forced = bool(task.get("_force"))
                if name in self.inflight or queue is None or "httpRequest" not in task:
                    continue
                if queue.get("state") != "RUNNING" and not forced:
                    continue
                wait = parse_timestamp(task["scheduleTime"]) - now
                if wait > 0 and not forced:
                    soonest = wait if soonest is None else min(soonest, wait)
                    continue
                limit = int(queue.get("rateLimits", {}).get("maxConcurrentDispatches", 1000))
                if (
                    len(self.inflight) >= service.settings.max_inflight
                    or per_queue[queue_name] >= limit
                ):
                    soonest = IDLE_POLL / 10
                    continue
                outbound = self._begin(name, task, now)
                self.inflight.add(name)
                per_queue[queue_name] += 1
                self._spawn(self._attempt(name, outbound))
            store.flush()
            return soonest

    def _begin(self, name: str, task: dict[str, Any], now: float) -> Outbound:
        """Count the attempt on the task and build the request it sends."""
        stamp = format_timestamp(now)
        previous = {
            "retries": int(task.get("dispatchCount", 0)),
            "responses": int(task.get("responseCount", 0)),
        }
        task.pop("_force", None)
        task["dispatchCount"] = previous["retries"] + 1
        task.setdefault("firstAttempt", {"dispatchTime": stamp})
        task["lastAttempt"] = {"scheduleTime": task["scheduleTime"], "dispatchTime": stamp}
        self.service.store.mark_dirty()
        request = task["httpRequest"]
        queue_id = name.rsplit("/tasks/", 1)[0].rsplit("/", 1)[-1]
        service_headers = {
            "User-Agent": "Google-Cloud-Tasks",
            "X-CloudTasks-QueueName": queue_id,
            "X-CloudTasks-TaskName": name.rsplit("/", 1)[-1],
            "X-CloudTasks-TaskRetryCount": str(previous["retries"]),
            "X-CloudTasks-TaskExecutionCount": str(previous["responses"]),
            "X-CloudTasks-TaskETA": f"{parse_timestamp(task['scheduleTime']):.6f}",
        }
        if "_previous" in task:
            service_headers["X-CloudTasks-TaskPreviousResponse"] = str(task["_previous"])
        url = str(request["url"])
        deadline = parse_duration(str(task.get("dispatchDeadline", t.DEFAULT_DEADLINE)))
        return Outbound(
            method=str(request.get("httpMethod", "POST")),
            url=url,
            headers=target_headers(request.get("headers", {}), url, request, service_headers, now),
            body=base64.b64decode(request.get("body", "")),
            timeout=min(deadline, self.service.settings.dispatch_timeout),
        )

    async def _attempt(self, name: str, request: Outbound) -> None:
        outcome = await deliver(request)
        try:
            self._finish(name, request, outcome)
        finally:
            self.inflight.discard(name)
            if self._wake is not None:
                self._wake.set()

    def _finish(self, name: str, request: Outbound, outcome: Delivery) -> None:
        """Record the answer: complete the task, reschedule it, or give it up."""
        service, store = self.service, self.service.store
        with store.lock:
            now = store.now()
            service.attempts.append(
                {
                    "task": name,
                    "at": format_timestamp(now),
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
            task = service.tasks.get(name)
            if task is None:
                return
            last = task.setdefault("lastAttempt", {})
            last["responseStatus"] = outcome.rpc_status()
            if outcome.status is not None:
                last["responseTime"] = format_timestamp(now)
                task["responseCount"] = int(task.get("responseCount", 0)) + 1
                task["_previous"] = outcome.status
            queue = service.queues.get(name.rsplit("/tasks/", 1)[0], {})
            retry = t.retry_config(queue, task)
            first = parse_timestamp(task["firstAttempt"]["dispatchTime"])
            attempts = int(task["dispatchCount"])
            if outcome.ok or t.gives_up(retry, attempts, first, now):
                service.forget_task(name, now)
            else:
                task["scheduleTime"] = format_timestamp(now + t.backoff(retry, attempts))
            store.mark_dirty()
            store.flush()

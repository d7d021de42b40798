"""The Cloud Tasks v2 handlers: queues and their tasks.

Serves what google-cloud-tasks sends with ``transport="rest"`` (gcp-notes.md
section 3). Queue create needs ``name`` in the body; patch upserts, as the API
reference says UpdateQueue does; delete leaves a tombstone that refuses a
re-create for a while; pause, resume and purge act at once (Google's purge takes
up to a minute). Tasks may be added to a paused queue; a task on a queue that
does not exist is refused with FAILED_PRECONDITION "Queue does not exist.", as
Google answers. Without the ``dispatch`` setting tasks wait in their queue and
``:run`` counts as a successful delivery; with it the dispatcher delivers them.
"""

from __future__ import annotations

import copy
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from vibn.sandbox.gcp_rest import (
    Call,
    Endpoint,
    GcpStore,
    add_location_routes,
    apply_mask,
    decode,
    fail,
    format_timestamp,
    invalid,
    mask_paths,
    paginate,
    parse_timestamp,
)
from vibn.sandbox.routing import Router
from vibn.sandbox.tasks import queues as q
from vibn.sandbox.tasks import task_rules as t
from vibn.sandbox.tasks.schema import CREATE_TASK, QUEUE, QUEUE_ACTION, RUN_TASK, VIEW
from vibn.sandbox.tasks.settings import TasksSettings

BASE = "/v2/projects/{project}/locations/{location}"
QUEUE_PATH = BASE + "/queues/{queue}"
MAX_ATTEMPT_LOG = 1000


class TasksService:
    """The handlers, over the ``queues``, ``tasks`` and tombstone tables of the store."""

    def __init__(
        self,
        store: GcpStore,
        settings: TasksSettings,
        kick: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.settings = settings
        self.kick = kick
        self.attempts: deque[dict[str, Any]] = deque(maxlen=MAX_ATTEMPT_LOG)

    @property
    def queues(self) -> dict[str, dict[str, Any]]:
        return self.store.table("queues")

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.store.table("tasks")

    # -- queues ------------------------------------------------------------

    def _queue_name(self, call: Call) -> str:
        p = call.params
        return q.queue_name(p["project"], p["location"], p["queue"])

    def _save_queue(self, name: str, queue: q.Queue, call: Call) -> dict[str, Any]:
        self.queues[name] = queue
        self.store.mark_dirty()
        return q.render(queue, call.int_enums)

    def _new_queue(self, name: str, queue: q.Queue, call: Call) -> dict[str, Any]:
        if name in self.queues:
            fail("ALREADY_EXISTS", t.DUPLICATE)
        if q.recently_deleted(self.store, name, self.settings.queue_tombstone_seconds):
            fail("FAILED_PRECONDITION", q.TOO_RECENT)
        q.check_queue(q.with_defaults(queue))
        queue.update(name=name, state="RUNNING")
        return self._save_queue(name, queue, call)

    def create_queue(self, call: Call) -> dict[str, Any]:
        parent = q.parent_name(call.params["project"], call.params["location"])
        queue = decode(QUEUE, call.json(), "queue")
        name = str(queue.pop("name", ""))
        q.check_name(name, parent)
        return self._new_queue(name, queue, call)

    def get_queue(self, call: Call) -> dict[str, Any]:
        return q.render(q.existing(self.store, self._queue_name(call)), call.int_enums)

    def list_queues(self, call: Call) -> dict[str, Any]:
        prefix = q.parent_name(call.params["project"], call.params["location"]) + "/queues/"
        state = q.state_filter(call.query.get("filter", ""))
        mine = [
            queue
            for name, queue in self.queues.items()
            if name.startswith(prefix) and state in (None, queue.get("state"))
        ]
        page, token = paginate(mine, lambda queue: str(queue["name"]), call, 9800)
        return _listing("queues", [q.render(x, call.int_enums) for x in page], token)

    def patch_queue(self, call: Call) -> dict[str, Any]:
        name = self._queue_name(call)
        body = decode(QUEUE, call.json(), "queue")
        if body.pop("name", name) != name:
            invalid(q.BAD_NAME)
        mask = call.query.get("updateMask", "")
        paths = mask_paths(mask, QUEUE) if mask else [(k,) for k in body]
        if any(path[0] == "name" for path in paths):
            invalid("Invalid update_mask provided: field 'name' cannot be updated.")
        current = self.queues.get(name)
        if current is None:
            created: q.Queue = {}
            apply_mask(created, body, paths)
            return self._new_queue(name, created, call)
        updated = copy.deepcopy(current)
        apply_mask(updated, body, paths)
        q.check_queue(q.with_defaults(updated))
        return self._save_queue(name, updated, call)

    def delete_queue(self, call: Call) -> dict[str, Any]:
        name = self._queue_name(call)
        q.existing(self.store, name)
        del self.queues[name]
        for task_name in self._task_names(name):
            del self.tasks[task_name]
        self.store.table("queue_tombstones")[name] = {"deletedAt": call.now}
        self.store.mark_dirty()
        return {}

    def _set_state(self, call: Call, state: str) -> dict[str, Any]:
        decode(QUEUE_ACTION, call.json(), "")
        name = self._queue_name(call)
        queue = q.existing(self.store, name)
        queue["state"] = state
        if state == "RUNNING":
            call.background.append(self.kick)
        return self._save_queue(name, queue, call)

    def pause_queue(self, call: Call) -> dict[str, Any]:
        return self._set_state(call, "PAUSED")

    def resume_queue(self, call: Call) -> dict[str, Any]:
        return self._set_state(call, "RUNNING")

    def purge_queue(self, call: Call) -> dict[str, Any]:
        decode(QUEUE_ACTION, call.json(), "")
        name = self._queue_name(call)
        queue = q.existing(self.store, name)
        for task_name in self._task_names(name):
            self.forget_task(task_name, call.now)
        queue["purgeTime"] = format_timestamp(call.now)
        return self._save_queue(name, queue, call)

    # -- tasks -------------------------------------------------------------

    def _task_names(self, queue_name: str) -> list[str]:
        prefix = queue_name + "/tasks/"
        return [name for name in self.tasks if name.startswith(prefix)]

    def _task_queue(self, call: Call) -> tuple[str, q.Queue]:
        name = self._queue_name(call)
        queue = self.queues.get(name)
        if queue is None:
            window = self.settings.queue_tombstone_seconds
            recent = q.recently_deleted(self.store, name, window)
            fail("FAILED_PRECONDITION", q.GONE_RECENTLY if recent else "Queue does not exist.")
        return name, queue

    def forget_task(self, name: str, now: float) -> None:
        """Remove a task whose id then stays taken for ``task_tombstone_seconds``."""
        self.tasks.pop(name, None)
        self.store.table("task_tombstones")[name] = {"at": now}
        self.store.mark_dirty()

    def _tombstoned(self, name: str, now: float) -> bool:
        tombs = self.store.table("task_tombstones")
        tomb = tombs.get(name)
        if tomb is None:
            return False
        if now - float(tomb["at"]) < self.settings.task_tombstone_seconds:
            return True
        del tombs[name]
        self.store.mark_dirty()
        return False

    def create_task(self, call: Call) -> dict[str, Any]:
        queue_name, _ = self._task_queue(call)
        request = decode(CREATE_TASK, call.json(), "")
        if request.get("parent", queue_name) != queue_name:
            invalid("Invalid resource field value in the request.")
        task = request.get("task")
        if task is None:
            invalid("CreateTaskRequest.task is required.")
        name = str(task.pop("name", "") or f"{queue_name}/tasks/{secrets.randbelow(10**20):020d}")
        t.check_name(name, queue_name)
        if name in self.tasks:
            fail("ALREADY_EXISTS", t.DUPLICATE)
        if self._tombstoned(name, call.now):
            fail("ALREADY_EXISTS", t.TOO_RECENT)
        wanted = task.get("scheduleTime")
        schedule = max(call.now, parse_timestamp(wanted)) if wanted else call.now
        t.check_task(task, call.now, schedule, len(call.raw))
        t.with_defaults(task)
        task.update(
            name=name,
            scheduleTime=format_timestamp(schedule),
            createTime=format_timestamp(float(int(call.now))),
        )
        self.tasks[name] = task
        self.store.mark_dirty()
        call.background.append(self.kick)
        return t.render(task, request.get("responseView", "BASIC"), call.int_enums)

    def _view(self, call: Call) -> str:
        raw = call.query.get("responseView", "")
        value: Any = int(raw) if raw.isdigit() else raw
        return str(decode(VIEW, value, "response_view")) if raw else "BASIC"

    def _task_name(self, call: Call) -> str:
        queue_name = self._queue_name(call)
        name = f"{queue_name}/tasks/{call.params['task']}"
        if not t.TASK_ID.match(call.params["task"]):
            fail("NOT_FOUND", t.NOT_FOUND)
        return name

    def get_task(self, call: Call) -> dict[str, Any]:
        name = self._task_name(call)
        task = t.live_task(self.tasks, self.store.table("task_tombstones"), name)
        return t.render(task, self._view(call), call.int_enums)

    def list_tasks(self, call: Call) -> dict[str, Any]:
        queue_name, _ = self._task_queue(call)
        view = self._view(call)
        mine = [self.tasks[name] for name in self._task_names(queue_name)]
        page, token = paginate(mine, lambda task: str(task["name"]), call, 1000)
        return _listing("tasks", [t.render(x, view, call.int_enums) for x in page], token)

    def delete_task(self, call: Call) -> dict[str, Any]:
        name = self._task_name(call)
        t.live_task(self.tasks, self.store.table("task_tombstones"), name)
        self.forget_task(name, call.now)
        return {}

    def run_task(self, call: Call) -> dict[str, Any]:
        request = decode(RUN_TASK, call.json(), "")
        name = self._task_name(call)
        task = t.live_task(self.tasks, self.store.table("task_tombstones"), name)
        view = str(request.get("responseView", "BASIC"))
        if self.settings.dispatch:
            task.update(_force=True, scheduleTime=format_timestamp(call.now))
            self.store.mark_dirty()
            call.background.append(self.kick)
            return t.render(task, view, call.int_enums)
        stamp = format_timestamp(call.now)
        attempt = {"scheduleTime": task["scheduleTime"], "dispatchTime": stamp}
        task.setdefault("firstAttempt", {"dispatchTime": stamp})
        task["lastAttempt"] = {**attempt, "responseTime": stamp, "responseStatus": {}}
        task["dispatchCount"] = int(task.get("dispatchCount", 0)) + 1
        task["responseCount"] = int(task.get("responseCount", 0)) + 1
        shown = t.render(task, view, call.int_enums)
        self.forget_task(name, call.now)
        self.attempts.append({"task": name, "at": stamp, "dispatched": False})
        return shown

    def router(self) -> Router[Endpoint]:
        router: Router[Endpoint] = Router()
        add_location_routes(router, "v2")
        paging = frozenset({"pageSize", "pageToken"})
        router.add("POST", BASE + "/queues", Endpoint(self.create_queue))
        router.add("GET", BASE + "/queues", Endpoint(self.list_queues, paging | {"filter"}))
        router.add("POST", QUEUE_PATH + ":pause", Endpoint(self.pause_queue))
        router.add("POST", QUEUE_PATH + ":resume", Endpoint(self.resume_queue))
        router.add("POST", QUEUE_PATH + ":purge", Endpoint(self.purge_queue))
        router.add("GET", QUEUE_PATH, Endpoint(self.get_queue))
        router.add("PATCH", QUEUE_PATH, Endpoint(self.patch_queue, frozenset({"updateMask"})))
        router.add("DELETE", QUEUE_PATH, Endpoint(self.delete_queue))
        view = frozenset({"responseView"})
        router.add("POST", QUEUE_PATH + "/tasks", Endpoint(self.create_task))
        router.add("GET", QUEUE_PATH + "/tasks", Endpoint(self.list_tasks, paging | view))
        router.add("POST", QUEUE_PATH + "/tasks/{task}:run", Endpoint(self.run_task))
        router.add("GET", QUEUE_PATH + "/tasks/{task}", Endpoint(self.get_task, view))
        router.add("DELETE", QUEUE_PATH + "/tasks/{task}", Endpoint(self.delete_task))
        return router


def _listing(key: str, items: list[dict[str, Any]], token: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if items:
        out[key] = items
    if token:
        out["nextPageToken"] = token
    return out

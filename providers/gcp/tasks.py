"""The ``gcp.tasks_queue`` driver: a stack's queues as Cloud Tasks queues.

Cloud Tasks queues carry neither labels nor a description, so ownership lives in the
id itself: ``vibn-{stack}-{name}-{hash8}`` where the hash covers workspace, stack and
name (``queue_id``, which ``reconciler.compile_gcp`` names queues with). Observing
lists each location once and keeps the queues whose id verifies for a stack in scope;
anything else in the project is not vibn's and is never touched.

Two Cloud Tasks habits shape the writes. A deleted queue's name stays reserved for up
to three days (the tombstone): re-creating it fails with FAILED_PRECONDITION, which is
reported as a ConflictError saying so — never retried — and since Google documents
that such a create "may appear to succeed", a create is confirmed with a GET. And
deleting a queue drops every task still in it: the work in flight is lost, but no
stored data, so queues are not data bearing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, TypeVar

from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks import pagers

from vibn.providers.base import Desired, Driver, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, ProviderError
from vibn.providers.gcp.common import (
    GcpEndpoints,
    RetryPolicy,
    all_pages,
    call,
    duration_text,
    parents_to_list,
    parse_duration,
)

KIND = "gcp.tasks_queue"
PREFIX = "queue."
T = TypeVar("T")

#: props -> the Queue field paths an ``update_mask`` names for them
MASK_PATHS: dict[str, str] = {
    "max_attempts": "retry_config.max_attempts",
    "max_dispatches_per_second": "rate_limits.max_dispatches_per_second",
    "max_concurrent_dispatches": "rate_limits.max_concurrent_dispatches",
    "min_backoff": "retry_config.min_backoff",
    "max_backoff": "retry_config.max_backoff",
}
TOMBSTONE_HINT = "existed too recently"


def queue_id(workspace: str, stack: str, name: str) -> str:
    """``vibn-{stack}-{name}-{hash}``: Cloud Tasks ids carry no labels, so the hash of the
    full owner makes the id both unique and checkable."""
    return f"vibn-{stack}-{name}-{_digest(workspace, stack, name)}"


def _digest(workspace: str, stack: str, name: str) -> str:
    return hashlib.sha256(f"{workspace}/{stack}/{name}".encode()).hexdigest()[:8]


def queue_owner(queue: str, workspace: str, stacks: Iterable[str]) -> Owner | None:
    """The owner whose ``queue_id`` ``queue`` (an id or a full name) is, among ``stacks``
    of ``workspace``; None when the id does not verify for any of them."""
    ident = queue.rsplit("/", 1)[-1]
    for stack in stacks:
        prefix = f"vibn-{stack}-"
        if not ident.startswith(prefix):
            continue
        name, sep, digest = ident[len(prefix) :].rpartition("-")
        if sep and name and digest == _digest(workspace, stack, name):
            return Owner(workspace, stack, f"{PREFIX}{name}")
    return None


def tasks_client(endpoints: GcpEndpoints) -> tasks_v2.CloudTasksClient:
    """A REST Cloud Tasks client for ``endpoints`` (thread-safe, shareable)."""
    options = {"api_endpoint": endpoints.tasks} if endpoints.tasks else None
    return tasks_v2.CloudTasksClient(
        credentials=endpoints.credentials(), transport="rest", client_options=options
    )


class TasksQueueDriver:
    """props ``{"name", "max_attempts", "max_dispatches_per_second",
    "max_concurrent_dispatches", "min_backoff", "max_backoff"}`` (durations as ``0.1s``);
    outputs ``{"name", "state"}``. Deleting loses the tasks still queued."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        client: tasks_v2.CloudTasksClient,
        project: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._client = client
        self._project = project
        self._retry = retry or RetryPolicy()
        self._timeout = timeout

    # -- read ------------------------------------------------------------------------
    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        names = [r.props.get("name") for r in ctx.recorded(KIND)]
        found = []
        for parent in parents_to_list(self._project, "queues", names):
            # a queue's id carries a hash of its owner, not the workspace: the list is
            # shared as it is, and each observation picks its own queues out of it
            for queue in ctx.shared((KIND, parent), partial(self._list, parent)):
                owner = queue_owner(queue.name, scope.workspace, sorted(scope.stacks))
                if owner is not None:
                    found.append(self._observed(queue, owner))
        return found

    def _list(self, parent: str) -> list[tasks_v2.Queue]:
        """Every queue under ``parent``, one page per call (each page retried on its own)."""

        def page(token: str) -> pagers.ListQueuesPager:
            request = tasks_v2.ListQueuesRequest(parent=parent, page_token=token)
            return self._client.list_queues(request=request, retry=None, timeout=self._timeout)

        return all_pages(
            lambda token: self._call(partial(page, token), f"{KIND} {parent}"),
            lambda response: response.queues,
        )

    # -- write -----------------------------------------------------------------------
    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        where = _where(desired.address, name)
        self._check_owned(name, desired.owner, where)
        queue = _queue(name, desired.props)
        parent = name.rsplit("/queues/", 1)[0]
        try:
            self._call(
                lambda: self._client.create_queue(
                    parent=parent, queue=queue, retry=None, timeout=self._timeout
                ),
                where,
            )
        except (ConflictError, InvalidError) as err:  # FAILED_PRECONDITION arrives as 400
            if _is_tombstone(err):
                raise _tombstone(err, name, where) from err
            if not isinstance(err, ConflictError) or err.status != 409:
                raise
            # the id verified as this owner's above: the queue is ours, adopt it
            return self.update(desired, self._observed(self._get(name, where), desired.owner))
        try:  # "may appear to succeed" inside the tombstone window: confirm
            created = self._get(name, where)
        except NotFoundError as err:
            raise _tombstone(err, name, where) from err
        return self._observed(created, desired.owner)

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = current.provider_id
        where = _where(desired.address, name)
        changed = [
            key
            for key in MASK_PATHS
            if key in desired.props and desired.props[key] != current.props.get(key)
        ]
        if not changed:
            return self._observed(self._get(name, where), desired.owner)
        request = tasks_v2.UpdateQueueRequest(
            queue=_queue(name, {k: desired.props[k] for k in changed}),
            update_mask={"paths": [MASK_PATHS[k] for k in changed]},
        )
        updated = self._call(
            lambda: self._client.update_queue(request=request, retry=None, timeout=self._timeout),
            where,
        )
        return self._observed(updated, desired.owner)

    def delete(self, current: Observed) -> None:
        """Delete the queue and every task still in it; its name is then reserved by
        Cloud Tasks for up to three days."""
        name = current.provider_id
        try:
            self._call(
                lambda: self._client.delete_queue(name=name, retry=None, timeout=self._timeout),
                _where(current.address, name),
            )
        except NotFoundError:
            return

    # -- helpers ---------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], resource: str) -> T:
        return call(fn, resource, policy=self._retry)

    def _get(self, name: str, where: str) -> tasks_v2.Queue:
        return self._call(
            lambda: self._client.get_queue(name=name, retry=None, timeout=self._timeout), where
        )

    @staticmethod
    def _check_owned(name: str, owner: Owner, where: str) -> None:
        """Refuse a queue id vibn could not recognise as this owner's afterwards (it would
        be created, then never observed again)."""
        if queue_owner(name, owner.workspace, [owner.stack]) != owner:
            expected = queue_id(owner.workspace, owner.stack, owner.address.removeprefix(PREFIX))
            raise InvalidError(
                "gcp",
                f"queue {name.rsplit('/', 1)[-1]} does not carry this stack's ownership "
                f"hash (expected {expected}); vibn only manages queues it can recognise",
                resource=where,
            )

    def _observed(self, queue: tasks_v2.Queue, owner: Owner) -> Observed:
        rates, retry = queue.rate_limits, queue.retry_config
        return Observed(
            address=owner.address,
            kind=KIND,
            provider_id=queue.name,
            owner=owner,
            props={
                "name": queue.name,
                "max_attempts": int(retry.max_attempts),
                "max_dispatches_per_second": float(rates.max_dispatches_per_second),
                "max_concurrent_dispatches": int(rates.max_concurrent_dispatches),
                "min_backoff": duration_text(retry.min_backoff),
                "max_backoff": duration_text(retry.max_backoff),
            },
            outputs={"name": queue.name, "state": tasks_v2.Queue.State(queue.state).name},
        )


def _queue(name: str, props: Mapping[str, Any]) -> tasks_v2.Queue:
    """The Queue message for ``props`` (all of them on create, the changed ones on update)."""
    rates: dict[str, Any] = {}
    retry: dict[str, Any] = {}
    if "max_dispatches_per_second" in props:
        rates["max_dispatches_per_second"] = float(props["max_dispatches_per_second"])
    if "max_concurrent_dispatches" in props:
        rates["max_concurrent_dispatches"] = int(props["max_concurrent_dispatches"])
    if "max_attempts" in props:
        retry["max_attempts"] = int(props["max_attempts"])
    for key in ("min_backoff", "max_backoff"):
        if key in props:
            retry[key] = parse_duration(str(props[key]))
    queue = tasks_v2.Queue(name=name)
    if rates:
        queue.rate_limits = tasks_v2.RateLimits(**rates)
    if retry:
        queue.retry_config = tasks_v2.RetryConfig(**retry)
    return queue


def _is_tombstone(err: ProviderError) -> bool:
    return TOMBSTONE_HINT in err.message


def _tombstone(err: ProviderError, name: str, where: str) -> ConflictError:
    return ConflictError(
        err.provider,
        f"queue {name.rsplit('/', 1)[-1]} was deleted recently; Cloud Tasks reserves a "
        "deleted queue's name for up to 3 days — rename the queue or wait "
        f"(Cloud Tasks: {err.message})",
        status=err.status,
        resource=where,
    )


def _where(address: str, name: str) -> str:
    """How errors name the resource: the stack address and the queue's full name."""
    return f"{address}, {name}"


def tasks_drivers(
    endpoints: GcpEndpoints,
    client: tasks_v2.CloudTasksClient | None = None,
    *,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> dict[str, Driver]:
    """The Cloud Tasks drivers by kind, over one (given or new) shared client."""
    driver = TasksQueueDriver(
        client or tasks_client(endpoints), endpoints.project, retry=retry, timeout=timeout
    )
    return {driver.kind: driver}

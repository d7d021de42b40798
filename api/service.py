"""What the API holds while it runs: the store, the engine, and the applies in flight.

Applying takes minutes, an HTTP request should not: a route checks everything it can
synchronously (plan id, staleness, confirmation, locks), then hands the plan to a small
bounded pool of threads and answers 202. Each accepted apply writes an ``apply.accepted``
and, whatever happens, an ``apply.finished`` event, so an agent following the stack's
events always sees its apply end. One apply per stack at a time in this process; the
engine's lease keeps replicas (and the daemon) from overlapping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from fastapi import Request

from vibn.reconciler.engine import Engine, default_holder, holder_is_dead
from vibn.state import LeaseHeld, StateError, Store, stack_lease_key

from .metrics import ApiMetrics
from .problems import ApiProblem, problem_for
from .settings import ApiSettings

if TYPE_CHECKING:
    from .auth import Caller

log = logging.getLogger("vibn.api")

#: how long a background apply waits for the lease (a reconcile worker's visit, or
#: another holder that took it meanwhile)
LEASE_WAIT_SECONDS = 30.0


@dataclass
class AuditEntry:
    """Filled in by a route while it works; written when it is done."""

    revision: int | None = None
    result: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Service:
    store: Store
    engine: Engine
    settings: ApiSettings
    metrics: ApiMetrics
    holder: str = field(default_factory=lambda: default_holder("api"))

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=self.settings.apply_threads, thread_name_prefix="vibn-apply"
        )
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        """Let running applies finish (they hold leases and write journals)."""
        self._executor.shutdown(wait=True)

    # -- audit -----------------------------------------------------------------------
    @contextmanager
    def audited(self, caller: Caller, action: str, stack: str | None) -> Iterator[AuditEntry]:
        """Write one audit event for the write in the block, refused or not."""
        entry = AuditEntry()
        try:
            yield entry
        except Exception as exc:
            problem = problem_for(exc)
            status = problem.status if problem else 500
            entry.result = "refused" if status < 500 else "error"
            entry.detail["status"] = status
            entry.detail["error"] = problem.detail if problem else "internal error"
            self._audit(caller, action, stack, entry)
            raise
        self._audit(caller, action, stack, entry)

    def _audit(self, caller: Caller, action: str, stack: str | None, entry: AuditEntry) -> None:
        try:
            self.store.audit(
                caller.principal,
                caller.workspace,
                action,
                stack=stack,
                revision=entry.revision,
                result=entry.result,
                detail=entry.detail or None,
            )
        except StateError:
            log.exception("could not write the audit event of %s by %s", action, caller.principal)

    # -- applies ---------------------------------------------------------------------
    def ensure_idle(self, workspace: str, stack: str) -> None:
        """Refuse (409) while an apply of the stack is queued here or another apply holds
        its lease. A reconcile worker's visit is short: the apply waits for it instead; a
        dead process's lease is taken over by the engine."""
        with self._lock:
            ticket = self._active.get((workspace, stack))
        if ticket is not None:
            raise ApiProblem(
                409,
                "apply-in-progress",
                f"apply {ticket} of stack {stack} is queued or running",
                title="An apply of this stack is in progress",
                hint="Follow the stack's events until apply.finished, then retry.",
                extra={"apply_id": ticket},
            )
        lease = self.store.lease_holder(stack_lease_key(workspace, stack))
        if (
            lease is not None
            and not lease.holder.startswith("daemon:")
            and not holder_is_dead(lease.holder)
        ):
            raise LeaseHeld(lease.key, lease.holder, lease.acquired_at, lease.expires_at)

    def submit(self, caller: Caller, plan: Mapping[str, Any], *, confirm: bool) -> tuple[str, int]:
        """Queue ``plan`` for applying: ``(apply id, id of its apply.accepted event)``."""
        workspace, stack = plan["stack"]["workspace"], plan["stack"]["name"]
        with self._lock:
            if (workspace, stack) in self._active:
                raise ApiProblem(409, "apply-in-progress", f"stack {stack} is being applied")
            if len(self._active) >= self.settings.apply_queue:
                raise ApiProblem(
                    503,
                    "busy",
                    f"{len(self._active)} applies are already queued or running here",
                    hint="Retry in a minute.",
                    headers={"Retry-After": "60"},
                )
            ticket = str(uuid4())
            self._active[(workspace, stack)] = ticket
        try:
            event_id = self.store.add_event(
                workspace,
                stack,
                "apply.accepted",
                {
                    "apply_id": ticket,
                    "plan_id": plan.get("plan_id"),
                    "mode": plan.get("mode"),
                    "principal": caller.principal,
                },
            )
            self.metrics.applies_in_flight.inc()
            try:
                self._executor.submit(self._run, ticket, caller.principal, plan, confirm)
            except BaseException:
                self.metrics.applies_in_flight.dec()
                raise
        except BaseException:
            with self._lock:
                self._active.pop((workspace, stack), None)
            raise
        return ticket, event_id

    def _run(self, ticket: str, principal: str, plan: Mapping[str, Any], confirm: bool) -> None:
        workspace, stack = plan["stack"]["workspace"], plan["stack"]["name"]
        mode = str(plan.get("mode", "apply"))
        started = time.monotonic()
        finished: dict[str, Any] = {
            "apply_id": ticket,
            "plan_id": plan.get("plan_id"),
            "mode": mode,
        }
        try:
            result = self.engine.apply(
                plan,
                confirm=confirm,
                principal=principal,
                holder=self.holder,
                wait=LEASE_WAIT_SECONDS,
            )
            finished |= {
                "status": result.status,
                "error": result.error,
                "run_id": result.apply_id,
                "failed": result.failed,
                "rolled_back": result.rolled_back,
                "rollback_failed": result.rollback_failed,
                "warnings": result.warnings,
            }
        except Exception as exc:
            problem = problem_for(exc)
            known = problem is not None and problem.status < 500
            finished["status"] = "refused" if known else "failed"
            finished["error"] = str(exc) if problem else "internal error; see the server log"
            log.log(
                logging.INFO if known else logging.ERROR,
                "%s %s of %s/%s ended: %s",
                mode,
                ticket,
                workspace,
                stack,
                exc,
                exc_info=None if known else exc,
            )
            self._record_failure(principal, workspace, stack, mode, finished)
        finally:
            with self._lock:
                self._active.pop((workspace, stack), None)
            self.metrics.applies_in_flight.dec()
            self.metrics.apply_seconds.labels(mode, finished.get("status", "failed")).observe(
                time.monotonic() - started
            )
            try:
                self.store.add_event(workspace, stack, "apply.finished", finished)
            except StateError:
                log.exception("could not record the end of %s %s", mode, ticket)

    def _record_failure(
        self, principal: str, workspace: str, stack: str, mode: str, finished: Mapping[str, Any]
    ) -> None:
        """The engine audits the applies it ran; this audits those it refused or lost."""
        try:
            self.store.audit(
                principal,
                workspace,
                mode,
                stack=stack,
                result=str(finished["status"]),
                detail={"apply_id": finished["apply_id"], "error": finished["error"]},
            )
        except StateError:
            log.exception("could not audit the failed %s of %s/%s", mode, workspace, stack)


def get_service(request: Request) -> Service:
    """The route dependency that hands a route the running service."""
    service: Service = request.app.state.service
    return service

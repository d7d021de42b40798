"""Apply a plan: journal every provider call, run independent actions in parallel,
undo completed steps in reverse on failure, and delete last.

The order of work:
1. creates, updates, replacement-creates (and noops, which only record) run as soon as
   everything they depend on is done, at most ``parallelism`` at a time;
2. if any of them fails, nothing new starts; the steps that completed are undone in
   reverse (created -> deleted, updated -> previous values restored);
3. only when all of that succeeded do deletions run (children first), so a rollback
   never has to resurrect data.
Before each provider call a journal row is written, after it its outcome: a crash leaves
a journal, and ownership marks let the next plan adopt whatever was created unrecorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from vibn.providers.base import SHARED, Desired, Driver, Observed, Owner, Recorded
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, ProviderError
from vibn.state import JournalPhase, Store

from .diff import diff
from .graph import Fingerprint, contains_unknown, resolve
from .payments import Charge, Payments
from .plan import Action, ActionType, Planned

Phase = JournalPhase


@dataclass(frozen=True)
class StepEvent:
    address: str
    kind: str
    action: str
    phase: Phase
    message: str = ""
    provider_id: str | None = None


EventSink = Callable[[StepEvent], None]


@dataclass
class ApplyResult:
    apply_id: str
    status: Literal["succeeded", "failed", "rolled_back"]
    error: str | None = None
    failed: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    rollback_failed: list[str] = field(default_factory=list)
    #: completed steps a rollback deliberately kept (paid registrations)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass
class _Done:
    """A completed main-phase step, with what is needed to undo it."""

    action: Action
    new: Observed | None
    previous: Observed | None
    previous_record: Recorded | None


class Applier:
    """Runs one plan against the drivers, writing the journal and resources to state."""

    def __init__(
        self,
        planned: Planned,
        drivers: Mapping[str, Driver],
        store: Store,
        *,
        apply_id: str,
        recorded: Mapping[str, Recorded],
        fingerprint: Fingerprint,
        parallelism: int = 8,
        rank: Mapping[str, int] | None = None,
        on_event: EventSink | None = None,
        payments: Payments | None = None,
        retained: frozenset[str] = frozenset(),
    ) -> None:
        self.planned = planned
        self.plan = planned.plan
        self.drivers = drivers
        self.store = store
        self.apply_id = apply_id
        self.recorded = recorded
        self.fingerprint = fingerprint
        self.parallelism = max(1, parallelism)
        self.rank = rank or {}
        self.on_event = on_event or (lambda event: None)
        self._outputs: dict[str, Mapping[str, Any]] = dict(planned.observed_outputs)
        self._lock = threading.Lock()
        self.warnings: list[str] = []
        self.payments = payments
        #: kinds vibn never deletes (registered domains): detached, rolled back by keeping
        self.retained = retained

    # -- helpers ---------------------------------------------------------------------
    def _owner(self, address: str) -> Owner:
        res = self.planned.graph.resources.get(address)
        stack = SHARED if res is not None and res.shared else self.plan.stack
        return Owner(self.plan.workspace, stack, address)

    def _lookup(self, address: str) -> Mapping[str, Any] | None:
        with self._lock:
            return self._outputs.get(address)

    def _emit(
        self, action: Action, phase: Phase, message: str = "", pid: str | None = None
    ) -> None:
        self.store.journal(
            self.apply_id,
            address=action.address,
            kind=action.kind,
            action=action.action.value,
            phase=phase,
            provider_id=pid or action.provider_id,
            detail={"message": message} if message else None,
        )
        self.on_event(
            StepEvent(action.address, action.kind, action.action.value, phase, message, pid)
        )

    def _record(self, address: str, kind: str, props: Mapping[str, Any], obs: Observed) -> None:
        self.store.record_resource(
            self.plan.workspace,
            self.plan.stack,
            address,
            kind,
            obs.provider_id,
            dict(props),
            dict(obs.outputs),
            list(obs.conditions),
        )

    # -- main phase ------------------------------------------------------------------
    def _run_one(self, index: int, action: Action) -> _Done:
        res = self.planned.graph.resources[action.address]
        current = self.planned.current.get(index)
        props = resolve(res.props, self._lookup, self.fingerprint)
        if contains_unknown(props):
            raise RuntimeError(f"{action.address}: a referenced value is still unknown")
        driver = self.drivers[action.kind]
        desired = Desired(action.address, action.kind, self._owner(action.address), props)
        rec = self.recorded.get(action.address)
        if action.action is ActionType.NOOP:
            assert current is not None
            self._record(action.address, action.kind, props, current)
            with self._lock:
                self._outputs[action.address] = current.outputs
            return _Done(action, None, None, rec)

        self._emit(action, "started")
        charge: Charge | None = self.planned.charges.get(action.address)
        if charge is not None:
            desired = self._paid(action, desired, charge)
        try:
            if action.action is ActionType.UPDATE:
                assert current is not None
                new = driver.update(desired, current)
            else:
                new = driver.create(desired)
        except (ConflictError, InvalidError) as exc:
            # the provider definitively refused: nothing was bought
            if charge is not None and self.payments is not None and not charge.owned:
                self.payments.refund(self.plan.workspace, charge, str(exc))
                self._emit(action, "refunded", f"{charge.amount} CAD back to the float")
            raise
        self._emit(action, "succeeded", pid=new.provider_id)
        self._record(action.address, action.kind, props, new)
        leftover = diff(props, new.props, frozenset())
        if leftover:
            paths = ", ".join(c.path for c in leftover)
            self.warnings.append(f"{action.address}: the provider did not take {paths}")
        with self._lock:
            self._outputs[action.address] = new.outputs
        return _Done(action, new, current, rec)

    def _paid(self, action: Action, desired: Desired, charge: Charge) -> Desired:
        """Debit the float for ``charge`` (once, ever) before the provider is asked.

        A charge the workspace had already paid (a resumed apply, a kept domain) lets
        the driver adopt what the provider holds instead of buying it again."""
        assert self.payments is not None, "a plan with charges needs payments"
        paid_before = self.payments.pay(self.plan.workspace, charge)
        if not paid_before:
            self._emit(action, "charged", f"{charge.amount} CAD: {charge.what}")
        adopt = paid_before or charge.owned
        return Desired(
            desired.address, desired.kind, desired.owner, {**desired.props, "adopt": adopt}
        )

    def _main_phase(self, done: list[_Done]) -> tuple[Action, BaseException] | None:
        pending = {
            i: a
            for i, a in enumerate(self.plan.actions)
            if a.action not in (ActionType.DELETE, ActionType.DETACH)
        }
        in_plan = {a.address for a in pending.values()}
        finished: set[str] = set()
        failure: tuple[Action, BaseException] | None = None
        running: dict[Future[_Done], Action] = {}
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            while pending or running:
                if failure is None:
                    ready = [
                        i
                        for i, a in pending.items()
                        if all(d in finished or d not in in_plan for d in a.depends_on)
                    ]
                    for i in ready[: self.parallelism - len(running)]:
                        action = pending.pop(i)
                        running[pool.submit(self._run_one, i, action)] = action
                if not running:
                    break
                complete, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in complete:
                    action = running.pop(fut)
                    exc = fut.exception()
                    if exc is None:
                        done.append(fut.result())
                        finished.add(action.address)
                    else:
                        self._emit(action, "failed", _message(exc))
                        if failure is None:
                            failure = (action, exc)
        return failure

    # -- rollback --------------------------------------------------------------------
    def _rollback(self, done: list[_Done], result: ApplyResult) -> None:
        for step in reversed(done):
            action = step.action
            if step.new is None:  # a noop: nothing was changed
                continue
            if step.new.owner.stack == SHARED and action.action is not ActionType.UPDATE:
                # a workspace-wide object other stacks may already rely on: kept
                self._emit(action, "rolled_back", "kept: shared by the workspace")
                self._restore_record(action, step.previous_record)
                result.rolled_back.append(action.address)
                continue
            if action.kind in self.retained and action.action is not ActionType.UPDATE:
                # paid for: never cancelled; the record stays so the stack still knows it
                # (an update is undone like any other: name servers go back, and a paid
                # renewal stays, since a registration is never shortened)
                note = "kept: paid for, and vibn never cancels a registration"
                self._emit(action, "rolled_back", note)
                result.kept.append(action.address)
                continue
            driver = self.drivers[action.kind]
            self._emit(action, "rolling_back")
            try:
                if action.action is ActionType.UPDATE and step.previous is not None:
                    driver.update(
                        Desired(
                            action.address,
                            action.kind,
                            self._owner(action.address),
                            dict(step.previous.props),
                        ),
                        step.new,
                    )
                else:
                    _delete(driver, step.new)
                self._restore_record(action, step.previous_record)
                self._emit(action, "rolled_back")
                result.rolled_back.append(action.address)
            except Exception as exc:
                self._emit(action, "rollback_failed", _message(exc))
                result.rollback_failed.append(action.address)

    def _restore_record(self, action: Action, previous: Recorded | None) -> None:
        if previous is None:
            self.store.forget_resource(self.plan.workspace, self.plan.stack, action.address)
            return
        self.store.record_resource(
            self.plan.workspace,
            self.plan.stack,
            action.address,
            previous.kind,
            previous.provider_id,
            dict(previous.props),
            dict(previous.outputs),
            list(previous.conditions),
        )

    # -- delete phase ----------------------------------------------------------------
    def _delete_phase(self, done: list[_Done]) -> tuple[Action, BaseException] | None:
        targets: list[tuple[Action, Observed, bool]] = []
        for i, action in enumerate(self.plan.actions):
            if action.action in (ActionType.DELETE, ActionType.DETACH):
                targets.append((action, self.planned.current[i], True))
        for step in done:
            if step.action.action is ActionType.REPLACE and step.previous is not None:
                targets.append((step.action, step.previous, False))
        # children before parents: one group per kind rank, each group in parallel;
        # replaced objects have no dependents left, so they go first
        groups: dict[tuple[bool, int], list[tuple[Action, Observed, bool]]] = {}
        for target in targets:
            key = (target[2], -self.rank.get(target[0].kind, 0))
            groups.setdefault(key, []).append(target)
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            for key in sorted(groups):
                futures = [pool.submit(self._delete_one, *t) for t in groups[key]]
                for target, fut in zip(groups[key], futures, strict=True):
                    exc = fut.exception()
                    if exc is not None:
                        return target[0], exc
        return None

    def _delete_one(self, action: Action, obj: Observed, forget: bool) -> None:
        keep = action.kind in self.retained or action.action is ActionType.DETACH
        self._emit(action, "started", "detaching" if keep else "deleting", obj.provider_id)
        try:
            if not keep:
                _delete(self.drivers[action.kind], obj)
        except Exception as exc:
            self._emit(action, "failed", _message(exc), obj.provider_id)
            raise
        rec = self.recorded.get(action.address)
        if forget and (rec is None or rec.provider_id == obj.provider_id):
            self.store.forget_resource(self.plan.workspace, self.plan.stack, action.address)
        done = "detached: kept with the workspace" if keep else "deleted"
        self._emit(action, "succeeded", done, obj.provider_id)

    def run(self) -> ApplyResult:
        result = ApplyResult(self.apply_id, "succeeded")
        done: list[_Done] = []
        failure = self._main_phase(done)
        if failure is not None:
            action, exc = failure
            result.failed.append(action.address)
            self._rollback(done, result)
            result.status = "rolled_back" if not result.rollback_failed else "failed"
            undone = ", ".join(result.rolled_back) or "nothing needed undoing"
            result.error = f"{action.address}: {_message(exc)}. Rolled back: {undone}" + (
                f"; could not roll back: {', '.join(result.rollback_failed)}"
                if result.rollback_failed
                else ""
            )
            if result.kept:
                result.error += (
                    f". Kept: {', '.join(result.kept)} (paid for: the registration and its "
                    "ledger entry stay with the workspace)"
                )
        else:
            failure = self._delete_phase(done)
            if failure is not None:
                action, exc = failure
                result.failed.append(action.address)
                result.status = "failed"
                result.error = (
                    f"{action.address}: delete failed: {_message(exc)}. Everything else was "
                    "applied; run apply again to retry the remaining deletions"
                )
        result.warnings = list(self.warnings)
        return result


def _delete(driver: Driver, obj: Observed) -> None:
    with contextlib.suppress(NotFoundError):
        driver.delete(obj)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ProviderError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"

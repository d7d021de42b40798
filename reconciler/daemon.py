"""The reconcile daemon: keeps every applied stack true to what was applied.

A replica sweeps in rounds. Each sweep claims a batch of due stacks (``claim_due``: their
leases are taken in the same transaction, so replicas sharing one PostgreSQL never visit
one stack at once, and a stack being applied by hand is left alone), observes each
workspace once for all of its claimed stacks, reading each provider-wide list once for
the whole sweep (``listings.SweepReads``) — provider requests grow with kinds, not
stacks — and then visits the stacks one by one, level-triggered (STYLE.md point 1): read
the applied revision, advance pending conditions, plan against the shared observation.
No changes: in sync. Changes are confirmed on a fresh look (a plan of the stack alone),
and what remains is drift: recorded as an event and in the stack's status message, then
corrected by applying the plan (``drift: correct``, the default) or only reported
(``drift: report``). Data-bearing deletes and replacements are never applied here; they
wait for a human's confirmation. A failing stack is retried with exponential backoff and
never stops the sweep. Every lease is given back as soon as its stack is done, and the
unvisited ones when the replica is told to stop.

A stack whose newest revision was stored but not yet applied (an agent's ``PUT`` waiting
for its apply-by-plan-id) is not touched beyond its conditions: applying it is the agent's
call, and reverting it to the older revision would undo the agent's work.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from vibn.specs.model import Stack as StackModel
from vibn.state import StateError, Store

from . import metrics
from .engine import Engine, EngineError, default_holder
from .listings import SweepReads
from .observe import Observation
from .sweep import HeldLeases, describe_drift, drift_actions

Outcome = Literal[
    "in_sync",  # the providers match the applied revision
    "pending",  # a newer revision waits to be applied; only conditions were advanced
    "corrected",  # drift found and corrected
    "reported",  # drift found; the stack says ``drift: report``
    "needs_confirmation",  # drift whose correction would delete or replace data
    "error",  # retried later, with backoff
    "skipped",  # the stack changed hands or status while waiting in the batch
    "handed_back",  # not visited: the replica was stopping
]
Clock = Callable[[], datetime]
Sleep = Callable[[float, threading.Event], object]

#: the longest a failing stack waits before its next attempt
MAX_BACKOFF = timedelta(hours=1)
#: ``applying`` only reaches a visit when its lease was free: its applier died mid-way
RECONCILABLE = frozenset({"applied", "failed", "applying"})


@dataclass(frozen=True)
class StackOutcome:
    """What one visit of one stack came to."""

    workspace: str
    name: str
    outcome: Outcome
    message: str = ""
    #: when the stack is due again (None when it was not rescheduled)
    next_at: datetime | None = None
    #: the apply that corrected (or tried to correct) drift
    apply_id: str | None = None

    def line(self) -> str:
        """One log line."""
        text = f"{self.workspace}/{self.name}: {self.outcome}"
        if self.message:
            text += f" — {self.message}"
        if self.next_at is not None:
            text += f" (next {self.next_at.strftime('%H:%M:%SZ')})"
        return text


@dataclass
class SweepReport:
    holder: str
    claimed: list[tuple[str, str]] = field(default_factory=list)
    outcomes: list[StackOutcome] = field(default_factory=list)

    def of(self, workspace: str, name: str) -> StackOutcome | None:
        return next((o for o in self.outcomes if (o.workspace, o.name) == (workspace, name)), None)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)


@dataclass
class DaemonStats:
    """Plain counters of one replica (the Prometheus ones in ``metrics`` add up all)."""

    sweeps: int = 0
    reconciles: int = 0
    drift_found: int = 0
    drift_corrected: int = 0
    errors: int = 0


class Daemon:
    """One reconcile worker: ``run_once`` is one sweep, ``run`` sweeps until stopped."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        *,
        holder: str,
        interval: timedelta = timedelta(minutes=5),
        jitter: float = 0.1,
        batch: int = 10,
        lease_ttl: timedelta = timedelta(minutes=2),
        poll: float | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"the reconcile interval must be positive, not {interval}")
        if batch < 1:
            raise ValueError(f"a sweep claims at least one stack, not {batch}")
        self.store = store
        self.engine = engine
        self.holder = holder
        self.interval = interval
        self.jitter = max(0.0, jitter)
        self.batch = batch
        self.lease_ttl = lease_ttl
        #: seconds between sweeps that found less than a full batch due
        self.poll = min(interval.total_seconds(), 5.0) if poll is None else poll
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep: Sleep = sleep or (lambda seconds, stop: stop.wait(seconds))
        self._rng = rng or random.Random()
        self._log = log or (lambda line: None)
        self.stats = DaemonStats()

    # -- the loop --------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Sweep until ``stop`` is set; a sweep that fails as a whole is logged and retried."""
        while not stop.is_set():
            try:
                report = self.run_once(stop)
            except Exception as exc:  # the database went away, say: try again later
                self._log(f"{self.holder}: sweep failed: {type(exc).__name__}: {exc}")
                report = None
            if stop.is_set():
                break
            if report is not None and len(report.claimed) >= self.batch:
                continue  # more may be due right now
            self._sleep(self.poll, stop)

    def drain(self, stop: threading.Event | None = None) -> list[SweepReport]:
        """Sweep until nothing is due (each due stack visited once): ``vibn daemon --once``."""
        stop = stop or threading.Event()
        reports: list[SweepReport] = []
        visited: set[tuple[str, str]] = set()
        while not stop.is_set():
            report = self.run_once(stop)
            reports.append(report)
            if set(report.claimed) <= visited:  # nothing new (a short interval came round)
                break
            visited.update(report.claimed)
        return reports

    def run_once(self, stop: threading.Event | None = None) -> SweepReport:
        """Claim up to ``batch`` due stacks, visit them, give every lease back."""
        stop = stop or threading.Event()
        claimed = self.store.claim_due(self.holder, limit=self.batch, ttl=self.lease_ttl)
        self.stats.sweeps += 1
        report = SweepReport(self.holder, claimed)
        if not claimed:
            return report
        by_workspace: dict[str, list[str]] = {}
        for workspace, name in claimed:
            by_workspace.setdefault(workspace, []).append(name)
        # provider-wide lists are read once for the whole sweep, not once per workspace
        # (with one workspace there is one observation: nothing to keep them for)
        reads = SweepReads(self.engine.reads) if len(by_workspace) > 1 else None
        with HeldLeases(self.store, self.holder, self.lease_ttl, claimed) as leases:
            for workspace, names in by_workspace.items():
                if stop.is_set():
                    break
                self._sweep_workspace(workspace, names, leases, stop, report, reads)
            for workspace, name in claimed:
                if report.of(workspace, name) is None:
                    self._record(report, StackOutcome(workspace, name, "handed_back", "stopping"))
        return report

    # -- one workspace ---------------------------------------------------------------
    def _sweep_workspace(
        self,
        workspace: str,
        names: list[str],
        leases: HeldLeases,
        stop: threading.Event,
        report: SweepReport,
        reads: SweepReads | None,
    ) -> None:
        try:
            observation = self.engine.observe(workspace, names, reads=reads)
        except Exception as exc:
            for name in names:
                self._record(report, self._failed(workspace, name, exc))
                leases.release(workspace, name)
            return
        for name in names:
            if stop.is_set():
                return
            if not leases.holds(workspace, name):
                outcome = StackOutcome(workspace, name, "skipped", "lease lost to another holder")
            else:
                try:
                    outcome = self._visit(workspace, name, observation)
                except Exception as exc:
                    outcome = self._failed(workspace, name, exc)
                finally:
                    leases.release(workspace, name)
            self._record(report, outcome)

    def _record(self, report: SweepReport, outcome: StackOutcome) -> None:
        report.outcomes.append(outcome)
        if outcome.outcome not in ("handed_back", "skipped"):
            self.stats.reconciles += 1
        metrics.RECONCILES.labels(outcome=outcome.outcome).inc()
        self._log(f"{self.holder}: {outcome.line()}")

    # -- one stack -------------------------------------------------------------------
    def _visit(self, workspace: str, name: str, observation: Observation) -> StackOutcome:
        record = self.store.get_stack(workspace, name)
        if record is None or record.status not in RECONCILABLE:
            status = record.status if record else "gone"
            return StackOutcome(workspace, name, "skipped", f"stack is {status}")
        self.engine.refresh_conditions(workspace, name, observation=observation)
        applied = self.store.last_applied_revision(workspace, name)
        if applied != record.revision:
            return self._done(
                workspace,
                name,
                "pending",
                f"revision {record.revision} is stored but not applied "
                f"(applied: {applied if applied is not None else 'none'}); not touching it",
            )
        stack = StackModel.model_validate(record.document)
        planned = self.engine.plan(stack, observation=observation)
        if planned.plan.has_changes:
            # the sweep's look may be as old as the sweep (provider-wide lists are read
            # once for it), and an earlier correction may have changed what this stack
            # shares: drift is confirmed on a fresh look before anything is done about it
            planned = self.engine.plan(stack)
        plan = planned.plan
        if plan.errors:
            raise EngineError("the plan has errors: " + "; ".join(plan.errors))
        if not plan.has_changes:
            if record.status != "applied" or record.status_message:
                self.store.set_stack_status(workspace, name, "applied", "")
            return self._done(workspace, name, "in_sync")

        drift = describe_drift(plan)
        needs = [a.address for a in plan.confirmations_needed()]
        self.stats.drift_found += 1
        metrics.DRIFT_FOUND.inc()
        self.store.add_event(
            workspace,
            name,
            "drift",
            {
                "plan_id": plan.plan_id,
                "revision": record.revision,
                "policy": record.drift_policy,
                "summary": plan.summary(),
                "actions": drift_actions(plan),
                "needs_confirmation": needs,
            },
        )
        if record.drift_policy == "report":
            self.store.set_stack_status(
                workspace, name, record.status, f"drift found (drift: report): {drift}"
            )
            return self._done(workspace, name, "reported", drift)
        if needs:
            message = (
                f"drift found: {drift}; correcting it would delete or replace data "
                f"({', '.join(needs)}): apply the stack with --confirm {name}"
            )
            self.store.set_stack_status(workspace, name, record.status, message)
            return self._done(workspace, name, "needs_confirmation", message)

        result = self.engine.apply_planned(planned, principal=self.holder)
        if not result.ok:
            self.store.add_event(
                workspace,
                name,
                "drift_correction_failed",
                {"apply_id": result.apply_id, "plan_id": plan.plan_id, "error": result.error},
                apply_id=result.apply_id,
            )
            failed = self._failed(workspace, name, EngineError(result.error or result.status))
            return StackOutcome(
                workspace, name, "error", failed.message, failed.next_at, result.apply_id
            )
        self.stats.drift_corrected += 1
        metrics.DRIFT_CORRECTED.inc()
        self.store.add_event(
            workspace,
            name,
            "drift_corrected",
            {"apply_id": result.apply_id, "plan_id": plan.plan_id, "summary": plan.summary()},
            apply_id=result.apply_id,
        )
        done = self._done(workspace, name, "corrected", drift)
        return StackOutcome(workspace, name, "corrected", drift, done.next_at, result.apply_id)

    # -- scheduling ------------------------------------------------------------------
    def _done(self, workspace: str, name: str, outcome: Outcome, message: str = "") -> StackOutcome:
        """A visit that went as it should: due again after the interval."""
        self.store.mark_reconciled(workspace, name)
        at = self._clock() + self._jittered(self.interval)
        self.store.schedule_next(workspace, name, at, failures=0)
        return StackOutcome(workspace, name, outcome, message, at)

    def _failed(self, workspace: str, name: str, exc: BaseException) -> StackOutcome:
        """Record the failure and back off: interval · 2^failures, at most an hour."""
        self.stats.errors += 1
        metrics.RECONCILE_ERRORS.inc()
        message = f"{type(exc).__name__}: {exc}"
        try:
            schedule = self.store.get_schedule(workspace, name)
            failures = (schedule.failures if schedule else 0) + 1
            delay = min(self.interval * 2 ** min(failures, 20), MAX_BACKOFF)
            at = self._clock() + self._jittered(delay)
            self.store.schedule_next(workspace, name, at, failures=failures)
            self.store.add_event(
                workspace,
                name,
                "reconcile_error",
                {"error": message, "failures": failures, "retry_at": at.isoformat()},
            )
        except StateError as bookkeeping:  # the stack went away, or the database did
            return StackOutcome(workspace, name, "error", f"{message} ({bookkeeping})")
        return StackOutcome(workspace, name, "error", message, at)

    def _jittered(self, delay: timedelta) -> timedelta:
        return delay * (1 + self._rng.uniform(0, self.jitter))


class WorkerContext(Protocol):
    """What a worker needs of the command's context (``vibn.cli.Context`` is one)."""

    @property
    def store(self) -> Store: ...

    @property
    def engine(self) -> Engine: ...


def start_workers(
    ctx_factory: Callable[[], AbstractContextManager[WorkerContext]],
    workers: int,
    interval: timedelta,
    stop: threading.Event,
    *,
    once: bool = False,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> list[threading.Thread]:
    """Start ``workers`` reconcile threads (holders ``daemon:{host}:{pid}:{i}``), each
    with its own context (store and provider clients) from ``ctx_factory``; they run
    until ``stop`` is set (or, with ``once``, until nothing is due). ``options`` go to
    ``Daemon`` (``batch``, ``jitter``, ``lease_ttl``, ``poll``...).

    A worker resolves ``from: env`` secrets only from what the last apply captured,
    never from the daemon's own environment.
    """
    say = log or (lambda line: None)

    def work(index: int) -> None:
        holder = f"{default_holder('daemon')}:{index}"
        while not stop.is_set():
            try:
                with ctx_factory() as ctx:
                    daemon = Daemon(
                        ctx.store,
                        replace(ctx.engine, env={}),
                        holder=holder,
                        interval=interval,
                        log=say,
                        **options,
                    )
                    if once:
                        daemon.drain(stop)
                        return
                    daemon.run(stop)
                    return
            except Exception as exc:  # e.g. the database is not reachable (yet)
                say(f"{holder}: {type(exc).__name__}: {exc}")
                if once:
                    return
                stop.wait(5.0)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"vibn-daemon-{i}", daemon=True)
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    return threads

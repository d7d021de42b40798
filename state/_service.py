"""What the long-running service needs of the store: saved plans and the daemon's claims.

An agent reads a plan (``PUT``) and later applies it by ``plan_id``; the plan it saw is
kept here so that apply can compare against exactly that document. The daemon's replicas
pick stacks that are due with ``claim_due``: one transaction selects due stacks whose
lease is free or expired and takes those leases — the very leases the CLI and the engine
use (``stack:{workspace}/{name}``), so a stack being applied by hand is never touched.
On PostgreSQL the stack rows are read ``FOR UPDATE SKIP LOCKED``, so replicas claiming at
the same moment split the due stacks between them instead of queueing on one another;
the lease statements (``INSERT ... ON CONFLICT DO NOTHING``, ``UPDATE ... WHERE
expires_at <= now``) still decide each stack, so even a racing ``vibn apply`` cannot
end up sharing one. On SQLite ``BEGIN IMMEDIATE`` serialises claimers outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, literal, or_, select, update

from vibn.state._core import StoreCore
from vibn.state.errors import StackNotFound
from vibn.state.records import ReconcileSchedule
from vibn.state.schema import Apply, LeaseRow, PlanRow, Stack, Workspace

#: the stack statuses the daemon reconciles: new ones were never applied and destroyed
#: ones are gone. An ``applying`` stack is someone's work in progress while its lease is
#: live; once the lease is free or expired, that someone died mid-apply, and the stack
#: is due like any other (the journal and ownership marks make picking it up safe).
RECONCILABLE = ("applied", "failed", "applying")


def stack_lease_key(workspace: str, name: str) -> str:
    """The lease key of a stack, shared by the CLI, the API and the daemon."""
    return f"stack:{workspace}/{name}"


class ServiceOps(StoreCore):
    # -- saved plans -----------------------------------------------------------------
    def save_plan(
        self,
        workspace: str,
        stack: str,
        plan_id: str,
        plan: Mapping[str, Any],
        *,
        revision: int,
    ) -> None:
        """Keep ``plan`` (the whole plan JSON) under ``plan_id``; saving an id that is
        already kept changes nothing. ``StackNotFound`` for an unknown stack."""
        sealed = self._box.seal(dict(plan))
        with self._writing() as session:
            found = self._find_stack(session, workspace, stack)
            if found is None:
                raise StackNotFound(workspace, stack)
            session.execute(
                self._insert(PlanRow)
                .values(
                    stack_id=found.id,
                    plan_id=plan_id,
                    revision=revision,
                    document=sealed,
                    created_at=self._now(),
                )
                .on_conflict_do_nothing(index_elements=["stack_id", "plan_id"])
            )

    def get_plan(self, workspace: str, stack: str, plan_id: str) -> dict[str, Any] | None:
        """The plan saved under ``plan_id``, or None."""
        with self._reading() as session:
            document = session.execute(
                select(PlanRow.document)
                .join(Stack, PlanRow.stack_id == Stack.id)
                .join(Workspace, Stack.workspace_id == Workspace.id)
                .where(Workspace.name == workspace, Stack.name == stack, PlanRow.plan_id == plan_id)
            ).scalar_one_or_none()
        if document is None:
            return None
        opened: dict[str, Any] = self._unseal(document, f"plan {plan_id} of {workspace}/{stack}")
        return opened

    def prune_plans(self, workspace: str, stack: str, keep: int = 50) -> int:
        """Forget all but the ``keep`` newest saved plans of the stack; how many went."""
        if keep < 0:
            raise ValueError(f"keep must be zero or more, not {keep}")
        with self._writing() as session:
            found = self._find_stack(session, workspace, stack)
            if found is None:
                return 0
            newest = (
                select(PlanRow.id)
                .where(PlanRow.stack_id == found.id)
                .order_by(PlanRow.id.desc())
                .limit(keep)
            )
            gone = session.execute(
                delete(PlanRow)
                .where(PlanRow.stack_id == found.id, PlanRow.id.not_in(newest.scalar_subquery()))
                .returning(PlanRow.id)
            ).all()
            return len(gone)

    # -- the daemon's schedule -------------------------------------------------------
    def claim_due(self, holder: str, *, limit: int, ttl: timedelta) -> list[tuple[str, str]]:
        """Take the leases of up to ``limit`` due stacks for ``holder``: their
        ``(workspace, name)``, the longest-waiting first.

        Due means applied, failed or left applying by a dead holder, ``next_reconcile_at``
        unset or past, and the stack's lease free or expired. The leases are taken in the
        same transaction; the caller releases each (``release_lease``) when done with it.
        """
        if ttl <= timedelta(0):
            raise ValueError(f"a lease needs a positive ttl, not {ttl}")
        if limit <= 0:
            return []
        with self._writing() as session:
            now = self._now()
            key = literal("stack:") + Workspace.name + literal("/") + Stack.name
            live_lease = (
                select(LeaseRow.id).where(LeaseRow.key == key, LeaseRow.expires_at > now).exists()
            )
            query = (
                select(Workspace.name, Stack.name)
                .join(Workspace, Stack.workspace_id == Workspace.id)
                .where(
                    Stack.status.in_(RECONCILABLE),
                    or_(Stack.next_reconcile_at.is_(None), Stack.next_reconcile_at <= now),
                    ~live_lease,
                )
                .order_by(Stack.next_reconcile_at.asc().nulls_first(), Stack.id)
                .limit(limit)
            )
            if self._postgres:
                query = query.with_for_update(of=Stack, skip_locked=True)
            claimed: list[tuple[str, str]] = []
            for workspace, name in session.execute(query).all():
                if self._take_lease(session, stack_lease_key(workspace, name), holder, now, ttl):
                    claimed.append((workspace, name))
            return claimed

    def _take_lease(
        self, session: Any, key: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        """Win a free or expired lease inside the caller's transaction."""
        won = session.execute(
            self._insert(LeaseRow)
            .values(key=key, holder=holder, acquired_at=now, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(LeaseRow.id)
        ).first()
        if won is None:
            won = session.execute(
                update(LeaseRow)
                .where(LeaseRow.key == key, LeaseRow.expires_at <= now)
                .values(holder=holder, acquired_at=now, expires_at=now + ttl)
                .returning(LeaseRow.id)
                .execution_options(synchronize_session=False)
            ).first()
        return won is not None

    def schedule_next(self, workspace: str, name: str, at: datetime, *, failures: int) -> None:
        """When the daemon should visit the stack next, and its failed visits in a row."""
        self._set_schedule(workspace, name, next_reconcile_at=at, failures=failures)

    def mark_reconciled(self, workspace: str, name: str) -> None:
        """The daemon finished a visit of the stack now."""
        self._set_schedule(workspace, name, last_reconciled_at=self._now())

    def get_schedule(self, workspace: str, name: str) -> ReconcileSchedule | None:
        with self._reading() as session:
            stack = self._find_stack(session, workspace, name)
            if stack is None:
                return None
            return ReconcileSchedule(
                workspace=workspace,
                name=name,
                next_reconcile_at=stack.next_reconcile_at,
                last_reconciled_at=stack.last_reconciled_at,
                failures=stack.failures,
            )

    def last_applied_revision(self, workspace: str, name: str) -> int | None:
        """The revision of the stack's newest successful apply (None if it has none).

        The daemon keeps the providers true to this revision; a newer stored revision
        waits for someone to apply it (an agent applies a plan by its id).
        """
        with self._reading() as session:
            return session.execute(
                select(func.max(Apply.revision))
                .join(Stack, Apply.stack_id == Stack.id)
                .join(Workspace, Stack.workspace_id == Workspace.id)
                .where(
                    Workspace.name == workspace,
                    Stack.name == name,
                    Apply.kind == "apply",
                    Apply.status == "succeeded",
                )
            ).scalar_one_or_none()

    def _set_schedule(self, workspace: str, name: str, **values: Any) -> None:
        with self._writing() as session:
            found = session.execute(
                update(Stack)
                .where(
                    Stack.id
                    == self._stack_query(workspace, name)
                    .with_only_columns(Stack.id)
                    .scalar_subquery()
                )
                .values(**values)
                .returning(Stack.id)
                .execution_options(synchronize_session=False)
            ).first()
            if found is None:
                raise StackNotFound(workspace, name)

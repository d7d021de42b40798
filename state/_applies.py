"""Applies and their journal: the write-ahead log that lets a crashed apply resume.

The apply engine writes a journal row before each provider call and another after it,
from several worker threads at once. Sequence numbers come from a counter on the apply
row, bumped under that row's lock in the same transaction as the insert, so they are
unique, gap-free and in commit order on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import Row, Select, select, update

from vibn.state._core import StoreCore
from vibn.state.errors import StateError
from vibn.state.records import (
    APPLY_KINDS,
    APPLY_STATUSES,
    JOURNAL_PHASES,
    ApplyKind,
    ApplyRecord,
    ApplyStatus,
    JournalEntry,
    JournalPhase,
    check_choice,
)
from vibn.state.schema import Apply, JournalRow, Stack, Workspace


class ApplyOps(StoreCore):
    def begin_apply(
        self,
        workspace: str,
        stack: str,
        *,
        revision: int,
        plan_id: str | None,
        kind: ApplyKind,
        principal: str,
    ) -> str:
        """Open a running apply of the stack and make it the stack's last; its id."""
        check_choice("apply kind", kind, APPLY_KINDS)
        apply_id = str(uuid4())
        with self._writing() as session:
            row = self._stack(session, workspace, stack, lock=True)
            session.add(
                Apply(
                    id=apply_id,
                    stack_id=row.id,
                    revision=revision,
                    plan_id=plan_id,
                    kind=kind,
                    status="running",
                    principal=principal,
                    journal_seq=0,
                    started_at=self._now(),
                )
            )
            row.last_apply_id = apply_id
        return apply_id

    def journal(
        self,
        apply_id: str,
        *,
        address: str,
        kind: str,
        action: str,
        phase: JournalPhase,
        provider_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one step to the apply's journal (safe from many threads)."""
        check_choice("journal phase", phase, JOURNAL_PHASES)
        with self._writing() as session:
            seq = session.execute(
                update(Apply)
                .where(Apply.id == apply_id)
                .values(journal_seq=Apply.journal_seq + 1)
                .returning(Apply.journal_seq)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if seq is None:
                raise StateError(f"no apply {apply_id} to journal")
            session.add(
                JournalRow(
                    apply_id=apply_id,
                    seq=seq,
                    address=address,
                    kind=kind,
                    action=action,
                    phase=phase,
                    provider_id=provider_id,
                    detail=None if detail is None else self._box.seal(dict(detail)),
                    at=self._now(),
                )
            )

    def journal_entries(self, apply_id: str) -> list[JournalEntry]:
        """The apply's journal in ``seq`` order ([] for an unknown apply)."""
        with self._reading() as session:
            rows = session.execute(
                select(JournalRow).where(JournalRow.apply_id == apply_id).order_by(JournalRow.seq)
            ).scalars()
            return [
                JournalEntry(
                    apply_id=row.apply_id,
                    seq=row.seq,
                    address=row.address,
                    kind=row.kind,
                    action=row.action,
                    phase=cast(JournalPhase, row.phase),
                    provider_id=row.provider_id,
                    detail=(
                        None
                        if row.detail is None
                        else self._unseal(row.detail, f"journal entry {row.seq}")
                    ),
                    at=row.at,
                )
                for row in rows
            ]

    def finish_apply(
        self,
        apply_id: str,
        status: ApplyStatus,
        *,
        error: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        check_choice("apply status", status, APPLY_STATUSES)
        with self._writing() as session:
            done = session.execute(
                update(Apply)
                .where(Apply.id == apply_id)
                .values(
                    status=status,
                    error=error,
                    summary=None if summary is None else self._box.seal(dict(summary)),
                    finished_at=self._now(),
                )
                .returning(Apply.id)
                .execution_options(synchronize_session=False)
            ).first()
            if done is None:
                raise StateError(f"no apply {apply_id} to finish")

    def get_apply(self, apply_id: str) -> ApplyRecord | None:
        with self._reading() as session:
            return self._apply_record(
                session.execute(_applies().where(Apply.id == apply_id)).first()
            )

    def last_apply(self, workspace: str, stack: str) -> ApplyRecord | None:
        """The stack's most recently begun apply."""
        with self._reading() as session:
            return self._apply_record(
                session.execute(
                    _applies().where(
                        Workspace.name == workspace,
                        Stack.name == stack,
                        Apply.id == Stack.last_apply_id,
                    )
                ).first()
            )

    def _apply_record(self, found: Row[Apply, str, str] | None) -> ApplyRecord | None:
        if found is None:
            return None
        row, workspace, stack = found
        return ApplyRecord(
            id=row.id,
            workspace=workspace,
            stack=stack,
            revision=row.revision,
            plan_id=row.plan_id,
            kind=cast(ApplyKind, row.kind),
            status=cast(ApplyStatus, row.status),
            principal=row.principal,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            summary=None if row.summary is None else self._unseal(row.summary, "apply summary"),
        )


def _applies() -> Select[Apply, str, str]:
    return (
        select(Apply, Workspace.name, Stack.name)
        .join(Stack, Apply.stack_id == Stack.id)
        .join(Workspace, Stack.workspace_id == Workspace.id)
    )

"""The audit trail (who did what, kept even for refused attempts) and the append-only
event log that the API streams to agents.

Event ids only ever grow, and a reader resumes with ``after_id``. On PostgreSQL ids
come from a sequence, which does not by itself promise that a smaller id commits first;
each insert therefore takes a transaction-scoped advisory lock so ids become visible in
order and a reader polling ``after_id`` never skips one that committed late.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, text

from vibn.state._core import StoreCore
from vibn.state.records import AuditEvent, Event
from vibn.state.schema import AuditRow, EventRow

#: pg_advisory_xact_lock key serialising event inserts ("vibnevt" in ASCII)
_PG_EVENT_LOCK = 0x76_69_62_6E_65_76_74
DEFAULT_LIMIT = 100


class LogOps(StoreCore):
    def audit(
        self,
        principal: str,
        workspace: str,
        action: str,
        *,
        stack: str | None = None,
        revision: int | None = None,
        result: str = "ok",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        with self._writing() as session:
            session.add(
                AuditRow(
                    at=self._now(),
                    principal=principal,
                    workspace=workspace,
                    action=action,
                    stack=stack,
                    revision=revision,
                    result=result,
                    detail=None if detail is None else self._box.seal(dict(detail)),
                )
            )

    def audit_events(
        self, workspace: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[AuditEvent]:
        """The most recent audit events, newest first."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if workspace is not None:
            query = query.where(AuditRow.workspace == workspace)
        with self._reading() as session:
            return [
                AuditEvent(
                    id=row.id,
                    at=row.at,
                    principal=row.principal,
                    workspace=row.workspace,
                    action=row.action,
                    stack=row.stack,
                    revision=row.revision,
                    result=row.result,
                    detail=None if row.detail is None else self._unseal(row.detail, "audit detail"),
                )
                for row in session.execute(query).scalars()
            ]

    def add_event(
        self,
        workspace: str,
        stack: str | None,
        type: str,
        payload: Mapping[str, Any],
        apply_id: str | None = None,
    ) -> int:
        """Append an event; its id."""
        row = EventRow(
            workspace=workspace,
            stack=stack,
            apply_id=apply_id,
            type=type,
            payload=self._box.seal(dict(payload)),
            at=self._now(),
        )
        with self._writing() as session:
            if self._postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_EVENT_LOCK})
            session.add(row)
            session.flush()
            return row.id

    def events(
        self,
        workspace: str,
        stack: str | None = None,
        after_id: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Event]:
        """Events after ``after_id``, oldest first (of one stack, or the whole workspace)."""
        query = (
            select(EventRow)
            .where(EventRow.workspace == workspace, EventRow.id > after_id)
            .order_by(EventRow.id)
            .limit(limit)
        )
        if stack is not None:
            query = query.where(EventRow.stack == stack)
        with self._reading() as session:
            return [
                Event(
                    id=row.id,
                    workspace=row.workspace,
                    stack=row.stack,
                    apply_id=row.apply_id,
                    type=row.type,
                    payload=self._unseal(row.payload, f"event {row.id}"),
                    at=row.at,
                )
                for row in session.execute(query).scalars()
            ]

"""Stacks and their revisions: the desired-state history with optimistic concurrency.

A revision is an immutable copy of a submitted document. Submitting the document that is
already current (same digest) is a no-op, so agents can retry a PUT freely; a caller
that read revision N and submits with ``expected_revision=N`` is refused when someone
else moved the stack on meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from vibn.state._core import StoreCore
from vibn.state.errors import RevisionConflict
from vibn.state.records import (
    STACK_STATUSES,
    RevisionRecord,
    StackRecord,
    StackStatus,
    check_choice,
)
from vibn.state.schema import Resource, Revision, Stack, Workspace

DRIFT_POLICIES = frozenset({"correct", "report"})


class StackOps(StoreCore):
    def get_stack(self, workspace: str, name: str) -> StackRecord | None:
        with self._reading() as session:
            rows = self._stack_rows(session, Workspace.name == workspace, Stack.name == name)
            return rows[0] if rows else None

    def list_stacks(self, workspace: str | None = None) -> list[StackRecord]:
        """Every stack (of one workspace, or of all), destroyed ones included."""
        with self._reading() as session:
            if workspace is None:
                return self._stack_rows(session)
            return self._stack_rows(session, Workspace.name == workspace)

    def put_revision(
        self,
        workspace: str,
        name: str,
        document: Mapping[str, Any],
        digest: str,
        *,
        expected_revision: int | None = None,
    ) -> tuple[int, bool]:
        """Make ``document`` the stack's current revision: ``(revision, created)``.

        Creates the workspace and the stack when they are new (``expected_revision=0``
        insists on that). A document with the current revision's digest creates nothing
        and returns the current number, whatever ``expected_revision`` says — the
        caller's content is already there. Otherwise a stale ``expected_revision``
        raises ``RevisionConflict``. A new revision of a destroyed stack revives it.
        """
        sealed = self._box.seal(dict(document))
        drift = _drift_policy(document)
        with self._writing() as session:
            workspace_id = self._ensure_workspace(session, workspace)
            now = self._now()
            session.execute(
                self._insert(Stack)
                .values(
                    workspace_id=workspace_id,
                    name=name,
                    revision=0,
                    status="new",
                    status_message="",
                    serial=0,
                    lineage=str(uuid4()),
                    drift_policy=drift,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["workspace_id", "name"])
            )
            stack = self._stack(session, workspace, name, lock=True)
            if (
                stack.revision
                and digest
                == session.execute(
                    select(Revision.digest).where(
                        Revision.stack_id == stack.id, Revision.number == stack.revision
                    )
                ).scalar_one_or_none()
            ):
                return stack.revision, False
            if expected_revision is not None and expected_revision != stack.revision:
                raise RevisionConflict(workspace, name, expected_revision, stack.revision)
            number = stack.revision + 1
            session.add(
                Revision(
                    stack_id=stack.id, number=number, document=sealed, digest=digest, created_at=now
                )
            )
            stack.revision = number
            stack.drift_policy = drift
            stack.updated_at = now
            if stack.status == "destroyed":
                stack.status, stack.status_message = "new", ""
            return number, True

    def revisions(self, workspace: str, name: str) -> list[RevisionRecord]:
        """Every revision of the stack, oldest first ([] for an unknown stack)."""
        with self._reading() as session:
            rows = session.execute(
                select(Revision)
                .join(Stack, Revision.stack_id == Stack.id)
                .join(Workspace, Stack.workspace_id == Workspace.id)
                .where(Workspace.name == workspace, Stack.name == name)
                .order_by(Revision.number)
            ).scalars()
            return [
                RevisionRecord(
                    workspace=workspace,
                    stack=name,
                    number=row.number,
                    digest=row.digest,
                    document=self._unseal(row.document, f"revision {row.number} of {name}"),
                    created_at=row.created_at,
                )
                for row in rows
            ]

    def set_stack_status(
        self, workspace: str, name: str, status: StackStatus, message: str = ""
    ) -> None:
        check_choice("stack status", status, STACK_STATUSES)
        with self._writing() as session:
            stack = self._stack(session, workspace, name, lock=True)
            stack.status, stack.status_message = status, message
            stack.updated_at = self._now()

    def delete_stack(self, workspace: str, name: str) -> None:
        """After a destroy: forget the stack's resources and mark it destroyed.

        Revisions, applies and their journals stay, as history; the lineage stays too.
        """
        with self._writing() as session:
            stack = self._stack(session, workspace, name, lock=True)
            session.execute(delete(Resource).where(Resource.stack_id == stack.id))
            stack.status, stack.status_message = "destroyed", ""
            stack.serial += 1
            stack.updated_at = self._now()

    def _stack_rows(self, session: Session, *where: Any) -> list[StackRecord]:
        rows = session.execute(
            select(Stack, Workspace.name, Revision)
            .join(Workspace, Stack.workspace_id == Workspace.id)
            .outerjoin(
                Revision, and_(Revision.stack_id == Stack.id, Revision.number == Stack.revision)
            )
            .where(*where)
            .order_by(Workspace.name, Stack.name)
        ).all()
        return [
            StackRecord(
                workspace=workspace,
                name=stack.name,
                revision=stack.revision,
                status=cast(StackStatus, stack.status),
                status_message=stack.status_message,
                serial=stack.serial,
                lineage=stack.lineage,
                last_apply_id=stack.last_apply_id,
                document=(
                    self._unseal(revision.document, f"the document of {workspace}/{stack.name}")
                    if revision is not None
                    else {}
                ),
                digest=revision.digest if revision is not None else "",
                drift_policy=stack.drift_policy,
                created_at=stack.created_at,
                updated_at=stack.updated_at,
            )
            for stack, workspace, revision in rows
        ]


def _drift_policy(document: Mapping[str, Any]) -> str:
    """``spec.drift`` of the document, ``correct`` when absent or unrecognised."""
    spec = document.get("spec")
    drift = spec.get("drift") if isinstance(spec, Mapping) else None
    return drift if isinstance(drift, str) and drift in DRIFT_POLICIES else "correct"

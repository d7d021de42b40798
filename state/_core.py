"""What every part of the store shares: sessions, the clock, the box and a few lookups.

Each public call runs in its own short session and transaction, so the store can be
used from many threads at once (the apply engine's workers) with no shared session
state. Write transactions go through ``_writing`` (``BEGIN IMMEDIATE`` on SQLite), reads
through ``_reading``. Conflicts are settled inside the database — ``INSERT ... ON
CONFLICT``, conditional ``UPDATE ... RETURNING`` and row locks — never by
read-then-write in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from vibn.state.crypto import SecretBox
from vibn.state.engine import Engines
from vibn.state.errors import StackNotFound, StateError
from vibn.state.schema import Stack, Workspace

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreCore:
    """The shared plumbing of ``Store``; the public methods live in its mixins."""

    def __init__(self, engines: Engines, box: SecretBox, clock: Clock = utc_now) -> None:
        self._engines = engines
        self._box = box
        self._clock = clock
        self._read_sessions = sessionmaker(engines.read, expire_on_commit=False)
        self._write_sessions = sessionmaker(engines.write, expire_on_commit=False)

    # -- sessions ------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with _translated(), self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with _translated(), self._write_sessions() as session, session.begin():
            yield session

    @property
    def _postgres(self) -> bool:
        return self._engines.dialect == "postgresql"

    def _now(self) -> datetime:
        now = self._clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    def _insert(self, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ``ON CONFLICT`` in the dialect at hand."""
        return postgresql.insert(model) if self._postgres else sqlite.insert(model)

    # -- lookups -------------------------------------------------------------------

    def _ensure_workspace(self, session: Session, name: str) -> int:
        now = self._now()
        session.execute(
            self._insert(Workspace)
            .values(name=name, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return session.execute(select(Workspace.id).where(Workspace.name == name)).scalar_one()

    @staticmethod
    def _stack_query(workspace: str, name: str) -> Select[Stack]:
        return (
            select(Stack)
            .join(Workspace, Stack.workspace_id == Workspace.id)
            .where(Workspace.name == workspace, Stack.name == name)
        )

    def _find_stack(
        self, session: Session, workspace: str, name: str, *, lock: bool = False
    ) -> Stack | None:
        query = self._stack_query(workspace, name)
        if lock:
            query = query.with_for_update(of=Stack)
        return session.execute(query).scalar_one_or_none()

    def _stack(self, session: Session, workspace: str, name: str, *, lock: bool = False) -> Stack:
        stack = self._find_stack(session, workspace, name, lock=lock)
        if stack is None:
            raise StackNotFound(workspace, name)
        return stack

    def _bump_serial(self, session: Session, workspace: str, name: str) -> int:
        """Count one recorded change of the stack; returns its id. Locks the stack row,
        so concurrent writers to one stack queue here rather than deadlock later."""
        stack_id = session.execute(
            update(Stack)
            .where(
                Stack.id
                == self._stack_query(workspace, name).with_only_columns(Stack.id).scalar_subquery()
            )
            .values(serial=Stack.serial + 1, updated_at=self._now())
            .returning(Stack.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if stack_id is None:
            raise StackNotFound(workspace, name)
        return stack_id

    def _unseal(self, value: Any, what: str) -> Any:
        return self._box.unseal(value, what=what)


@contextmanager
def _translated() -> Iterator[None]:
    """Database failures surface as ``StateError`` (the driver's own words kept)."""
    try:
        yield
    except DBAPIError as exc:
        raise StateError(f"state database error: {exc.orig}") from exc

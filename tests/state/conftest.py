"""Fixtures for the state store: the same tests on a SQLite file and on PostgreSQL.

PostgreSQL tests share one database created for this test session (named uniquely, so
parallel runs never meet), dropped at the end. Most tests use one migrated schema in it,
emptied before each test; tests about migrations get a new empty schema of their own.
Schemas are selected through the connection's ``search_path``. SQLite tests start from
a copy of a file migrated once per session.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, text

from vibn.state import SecretBox, Store
from vibn.state.schema import Base

PG_ADMIN = os.environ.get("VIBN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(bytes(range(32)))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this session; its libpq URL."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    name = f"vibn_state_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_schema(libpq_url: str, schema: str) -> str:
    return (
        libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)
        + f"?options=-csearch_path%3D{schema}"
    )


@pytest.fixture
def fresh_pg_url(pg_database: str) -> Iterator[str]:
    """A SQLAlchemy URL whose connections live in a new, empty schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield _with_schema(pg_database, schema)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="session")
def shared_pg_schema(pg_database: str) -> str:
    """One schema that the session's stores migrate once and tests then share, emptied
    before each test (creating the tables anew each time would dominate the run)."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shared")
    return "shared"


@pytest.fixture
def pg_url(pg_database: str, shared_pg_schema: str) -> str:
    """A migrated PostgreSQL schema with no rows in it."""
    with psycopg.connect(pg_database, options=f"-csearch_path={shared_pg_schema}") as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in tables:
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table.name)))
    return _with_schema(pg_database, shared_pg_schema)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that tests start from as a copy."""
    path = tmp_path_factory.mktemp("template") / "state.db"
    Store.open(f"sqlite:///{path}", SecretBox.generate()).close()
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("state") / "state.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=BACKENDS)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('fresh')}/state.db"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture
def open_store(db_url: str, clock: FakeClock) -> Iterator[Callable[[SecretBox], Store]]:
    """Opens stores on the test's database (several keys, several handles); closes them."""
    opened: list[Store] = []

    def _open(key: SecretBox) -> Store:
        store = Store.open(db_url, key, clock)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[SecretBox], Store], box: SecretBox) -> Store:
    return open_store(box)


@pytest.fixture
def raw(db_url: str) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    """Runs SQL straight against the database, to see what is really stored."""
    engine = create_engine(db_url)

    def run(query: str) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]

    yield run
    engine.dispose()

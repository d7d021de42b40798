"""Database engines tuned for the two backends the store supports.

SQLite is the zero-setup default and must survive several CLI processes and the apply
engine's worker threads at once: WAL, a generous busy timeout, foreign keys on, and
write transactions opened with ``BEGIN IMMEDIATE`` so two writers queue on the busy
timeout instead of failing with "database is locked" when one upgrades a read lock.
PostgreSQL is the shared store for replicas; a missing database is created on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from vibn.state.errors import StateError

SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITE = "vibn_write"


@dataclass(frozen=True)
class Engines:
    """One connection pool seen two ways: for reads, and for writes."""

    read: Engine
    write: Engine

    @property
    def dialect(self) -> str:
        return self.read.dialect.name

    def dispose(self) -> None:
        self.read.dispose()


def open_engines(url: str) -> Engines:
    """Engines for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(f"not a database URL: {_safe(url)} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite(parsed)
    if backend == "postgresql":
        return _postgresql(parsed)
    raise StateError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _sqlite(url: URL) -> Engines:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise StateError(
            "an in-memory SQLite database is not supported (each connection would see its "
            "own empty database); give a file, e.g. sqlite:///.vibn/state.db"
        )
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=8,
        max_overflow=24,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3's own implicit BEGIN is turned off; ``_on_begin`` emits ours instead
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return Engines(read=engine, write=engine.execution_options(**{_WRITE: True}))


def _postgresql(url: URL) -> Engines:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=24)
    _ensure_pg_database(engine, url)
    return Engines(read=engine, write=engine)


def _ensure_pg_database(engine: Engine, url: URL) -> None:
    """Create the database named in ``url`` when the server does not have it yet.

    A failed connection is checked against ``pg_database`` through the maintenance
    database (psycopg reports a missing database with no SQLSTATE to go by).
    """
    try:
        with engine.connect():
            return
    except OperationalError as exc:
        failure = StateError(f"cannot connect to {_safe(url)}: {exc.orig}")
    name = url.database or ""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first():
                raise failure
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42P04":  # duplicate_database: a racer won
            raise StateError(f"cannot create database {name!r}: {exc.orig}") from None
    except OperationalError:
        raise failure from None
    finally:
        admin.dispose()


def _safe(url: str | URL) -> str:
    """The URL with any password masked, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"

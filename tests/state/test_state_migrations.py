"""Migrations: a fresh database reaches head, the models match it, reopening is a no-op,
and the URLs the store refuses are refused clearly."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql
from sqlalchemy import create_engine

from vibn.state import SecretBox, StateError, Store
from vibn.state.migrate import head
from vibn.state.schema import Base

TABLES = {
    "alembic_version",
    "workspaces",
    "api_keys",
    "stacks",
    "revisions",
    "resources",
    "applies",
    "journal",
    "leases",
    "audit_events",
    "secrets",
    "ledger",
    "events",
    "plans",
}


def test_a_fresh_database_is_migrated_to_head(
    fresh_db_url: str, box: SecretBox, clock: Any
) -> None:
    with Store.open(fresh_db_url, box, clock) as store:
        assert store.migration_status() == (head(), head())
        assert head() == "0002"
        store.put_revision("default", "web", {"spec": {}}, "d1")
    with Store.open(fresh_db_url, box, clock) as again:
        assert again.migration_status() == ("0002", "0002")
        stack = again.get_stack("default", "web")
        assert stack is not None and stack.revision == 1


def test_models_match_the_migrated_schema(store: Store, db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert set(conn.dialect.get_table_names(conn)) == TABLES
    finally:
        engine.dispose()


def test_a_schema_from_a_newer_vibn_is_refused(fresh_db_url: str, box: SecretBox) -> None:
    Store.open(fresh_db_url, box).close()
    engine = create_engine(fresh_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(StateError, match="schema revision 9999, which this vibn does not know"):
        Store.open(fresh_db_url, box)


def test_sqlite_runs_in_wal_mode(tmp_path: Path, box: SecretBox) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    Store.open(url, box).close()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_sqlite_directories_are_created(tmp_path: Path, box: SecretBox) -> None:
    with Store.open(f"sqlite:///{tmp_path}/a/b/state.db", box) as store:
        assert store.migration_status() == ("0002", "0002")
    assert (tmp_path / "a" / "b" / "state.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "in-memory SQLite database is not supported"),
        ("sqlite:///:memory:", "in-memory SQLite database is not supported"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("not a url", "not a database URL"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str, box: SecretBox) -> None:
    with pytest.raises(StateError, match=message):
        Store.open(url, box)


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_created(pg_database: str, box: SecretBox) -> None:
    name = f"vibn_state_new_{uuid.uuid4().hex[:10]}"
    server = pg_database.rsplit("/", 1)[0]
    try:
        with Store.open(
            f"{server.replace('postgresql://', 'postgresql+psycopg://')}/{name}", box
        ) as store:
            assert store.migration_status() == ("0002", "0002")
            store.put_revision("default", "web", {}, "d")
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.postgres
def test_an_unreachable_postgresql_is_a_clear_error(box: SecretBox) -> None:
    with pytest.raises(
        StateError, match=re.escape("cannot connect to postgresql+psycopg://u:***@127.0.0.1:1/db")
    ):
        Store.open("postgresql+psycopg://u:secret@127.0.0.1:1/db", box)

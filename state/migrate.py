"""Alembic migrations, run programmatically from the installed package.

``Store.open`` brings every database to the head revision before use, so a fresh SQLite
file and an old PostgreSQL both just work. The whole upgrade runs in one transaction
that first takes a lock — ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory
lock on PostgreSQL — so processes starting together migrate once, not twice.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from vibn.state.engine import Engines
from vibn.state.errors import StateError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key of the migration lock ("vibnmig" in ASCII)
_PG_LOCK = 0x76_69_62_6E_6D_69_67
#: alembic's ``op`` and ``context`` are module-level proxies: one upgrade per process at once
_local = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return revision


def current(engines: Engines) -> str | None:
    with engines.read.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engines: Engines) -> None:
    """Bring the database to the head revision (a no-op when it is there already)."""
    with _local, engines.write.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        known = ScriptDirectory.from_config(alembic_config())
        at = MigrationContext.configure(conn).get_current_revision()
        if at == known.get_current_head():
            return
        if at is not None and at not in {script.revision for script in known.walk_revisions()}:
            raise StateError(
                f"the state database is at schema revision {at}, which this vibn does not "
                "know: it was written by a newer vibn; upgrade vibn to use it"
            )
        command.upgrade(alembic_config(conn), "head")

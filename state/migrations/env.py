"""Alembic's entry point for vibn's state migrations.

``vibn.state.migrate.upgrade`` hands over an open connection (already inside its locked
transaction). Run by hand — ``alembic -c state/alembic.ini revision --autogenerate`` —
it connects to ``VIBN_DATABASE_URL`` or the ini's ``sqlalchemy.url`` instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from vibn.state.schema import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("VIBN_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set VIBN_DATABASE_URL or sqlalchemy.url to run migrations by hand")
    return url


given = config.attributes.get("connection")
if isinstance(given, Connection):
    _run(given)
elif context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()

"""The state store: the one door to vibn's database.

``Store`` gathers the store's parts (stacks and revisions, resources, applies and their
journal, leases, audit and events, accounts, secrets, the ledger, saved plans and the
daemon's schedule), each a small mixin in
its own module over the shared plumbing of ``_core``. Dependencies are explicit: the
database URL, the ``SecretBox`` and the clock are passed in, never read from the
environment. Every call is its own transaction, so one ``Store`` serves many threads.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import make_url

from vibn.state import migrate
from vibn.state._accounts import AccountOps
from vibn.state._applies import ApplyOps
from vibn.state._core import Clock, utc_now
from vibn.state._leases import LeaseOps
from vibn.state._ledger import LedgerOps
from vibn.state._logs import LogOps
from vibn.state._resources import ResourceOps
from vibn.state._secrets import SecretOps
from vibn.state._service import ServiceOps
from vibn.state._stacks import StackOps
from vibn.state.crypto import SecretBox
from vibn.state.engine import open_engines


class Store(
    StackOps,
    ResourceOps,
    ApplyOps,
    LeaseOps,
    LogOps,
    AccountOps,
    SecretOps,
    LedgerOps,
    ServiceOps,
):
    """vibn's recorded state, in SQLite or PostgreSQL."""

    @classmethod
    def open(cls, url: str, box: SecretBox, clock: Clock = utc_now) -> Store:
        """Connect to ``url`` and migrate it to the head revision.

        ``sqlite:///path/state.db`` creates the file and its directory;
        ``postgresql+psycopg://...`` creates the database when the server lacks it.
        """
        engines = open_engines(url)
        try:
            migrate.upgrade(engines)
        except BaseException:
            engines.dispose()
            raise
        return cls(engines, box, clock)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return make_url(self._engines.read.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engines.dialect

    def migration_status(self) -> tuple[str | None, str]:
        """``(current revision, head revision)`` of the schema."""
        return migrate.current(self._engines), migrate.head()

    def close(self) -> None:
        self._engines.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

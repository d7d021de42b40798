"""vibn's state store: what was applied, by whom, and who is applying now.

SQLAlchemy models with Alembic migrations, on a SQLite file by default or a shared
PostgreSQL for the API and daemon replicas. Secrets are sealed with AES-256-GCM before
they reach the database. Only ``vibn.specs`` is imported from the rest of vibn.
"""

from vibn.state._service import stack_lease_key
from vibn.state.crypto import SecretBox
from vibn.state.errors import (
    InsufficientFunds,
    LeaseHeld,
    RevisionConflict,
    StackNotFound,
    StateError,
)
from vibn.state.records import (
    ApiKeyRecord,
    ApplyKind,
    ApplyRecord,
    ApplyStatus,
    AuditEvent,
    Event,
    JournalEntry,
    JournalPhase,
    Lease,
    LedgerEntry,
    ReconcileSchedule,
    RecordedResource,
    RevisionRecord,
    StackRecord,
    StackStatus,
    WorkspaceRecord,
)
from vibn.state.store import Store

__all__ = [
    "ApiKeyRecord",
    "ApplyKind",
    "ApplyRecord",
    "ApplyStatus",
    "AuditEvent",
    "Event",
    "InsufficientFunds",
    "JournalEntry",
    "JournalPhase",
    "Lease",
    "LeaseHeld",
    "LedgerEntry",
    "ReconcileSchedule",
    "RecordedResource",
    "RevisionConflict",
    "RevisionRecord",
    "SecretBox",
    "StackNotFound",
    "StackRecord",
    "StackStatus",
    "StateError",
    "Store",
    "WorkspaceRecord",
    "stack_lease_key",
]

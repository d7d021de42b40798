"""The recorded model family: what the state store hands back, as frozen dataclasses.

Callers never see ORM rows (which are bound to a session and a thread); they get these
plain values, with secrets back as ``Sensitive``, conditions as ``Condition`` and every
timestamp an aware UTC ``datetime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from vibn.specs.values import Condition

StackStatus = Literal["new", "applying", "applied", "failed", "destroyed"]
ApplyKind = Literal["apply", "destroy"]
ApplyStatus = Literal["running", "succeeded", "failed", "rolled_back"]
JournalPhase = Literal[
    "started",
    "succeeded",
    "failed",
    "rolling_back",
    "rolled_back",
    "rollback_failed",
    # money: the float was debited for a purchase / credited back after a refusal
    "charged",
    "refunded",
]

STACK_STATUSES: frozenset[str] = frozenset(get_args(StackStatus))
APPLY_KINDS: frozenset[str] = frozenset(get_args(ApplyKind))
APPLY_STATUSES: frozenset[str] = frozenset(get_args(ApplyStatus))
JOURNAL_PHASES: frozenset[str] = frozenset(get_args(JournalPhase))


Scope = Literal[
    "stacks:read",
    "stacks:write",
    "stacks:apply",
    "stacks:delete",
    "domains:write",
    "keys:admin",
    "audit:read",
]

#: every scope an API key can carry, with what it allows (one entry per ``Scope``)
KEY_SCOPES: dict[Scope, str] = {
    "stacks:read": "read stacks, plans, revisions and events",
    "stacks:write": "submit stack documents (PUT), including dry runs",
    "stacks:apply": "apply plans",
    "stacks:delete": "destroy stacks",
    "domains:write": "apply plans that register (buy) a domain",
    "keys:admin": "create, list, rotate and revoke the workspace's keys",
    "audit:read": "read the workspace's audit trail",
}


def check_choice(what: str, value: str, choices: frozenset[str]) -> None:
    """Refuse a value outside a closed vocabulary before it reaches the database."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(sorted(choices))}, not {value!r}")


@dataclass(frozen=True)
class StackRecord:
    """A stack and its current revision."""

    workspace: str
    name: str
    revision: int
    status: StackStatus
    status_message: str
    #: bumped on every recorded change to the stack's resources
    serial: int
    #: fixed for the life of the stack; tells one stack's history from another's
    lineage: str
    last_apply_id: str | None
    #: the current revision's document
    document: Mapping[str, Any]
    digest: str
    #: ``correct`` or ``report``, copied from the document's ``spec.drift``
    drift_policy: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ReconcileSchedule:
    """The daemon's bookkeeping on one stack."""

    workspace: str
    name: str
    #: when the daemon should visit next; None means as soon as it can
    next_reconcile_at: datetime | None
    last_reconciled_at: datetime | None
    #: consecutive failed visits (0 after a good one), for exponential backoff
    failures: int


@dataclass(frozen=True)
class RevisionRecord:
    workspace: str
    stack: str
    number: int
    digest: str
    document: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RecordedResource:
    """A resource as the last apply left it."""

    address: str
    kind: str
    provider_id: str | None
    props: Mapping[str, Any]
    outputs: Mapping[str, Any]
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class ApplyRecord:
    id: str
    workspace: str
    stack: str
    revision: int
    plan_id: str | None
    kind: ApplyKind
    status: ApplyStatus
    principal: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    summary: Mapping[str, Any] | None


@dataclass(frozen=True)
class JournalEntry:
    """One step of an apply, written before and after each provider call."""

    apply_id: str
    seq: int
    address: str
    kind: str
    action: str
    phase: JournalPhase
    provider_id: str | None
    detail: Mapping[str, Any] | None
    at: datetime


@dataclass(frozen=True)
class Lease:
    key: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    principal: str
    workspace: str
    action: str
    stack: str | None
    revision: int | None
    result: str
    detail: Mapping[str, Any] | None


@dataclass(frozen=True)
class Event:
    """One entry of the append-only event log; ``id`` only ever grows."""

    id: int
    workspace: str
    stack: str | None
    apply_id: str | None
    type: str
    payload: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class WorkspaceRecord:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key as stored: its hash never leaves the store, only a display prefix."""

    id: int
    workspace: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class LedgerEntry:
    """A movement on a workspace's float, in CAD (positive credits, negative debits)."""

    id: int
    workspace: str
    amount: Decimal
    reason: str
    idempotency_key: str
    at: datetime

"""The database schema as typed SQLAlchemy 2 models.

These classes are the single description of the tables: the Alembic migrations create
exactly this (a test compares them), and the store's queries are written against them.
Rows never leave the store; callers get the dataclasses of ``records``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive UTC text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON documents; JSONB on PostgreSQL so later issues can index into them
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
#: autoincrementing 64-bit ids (SQLite only autoincrements INTEGER PRIMARY KEY)
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    #: sha256 hex of the whole token; the token itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Stack(Base):
    __tablename__ = "stacks"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str] = mapped_column(Text, default="")
    serial: Mapped[int] = mapped_column(Integer, default=0)
    lineage: Mapped[str] = mapped_column(String(36))
    last_apply_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    drift_policy: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when the daemon should visit next; NULL means "as soon as it can"
    next_reconcile_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, index=True
    )
    last_reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: consecutive failed daemon visits, for exponential backoff
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PlanRow(Base):
    """A plan as it was shown, kept so that applying by ``plan_id`` applies exactly it."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("stack_id", "plan_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"))
    plan_id: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("stack_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    digest: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("stack_id", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(100), index=True)
    provider_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    props: Mapped[dict[str, Any]] = mapped_column(Json)
    outputs: Mapped[dict[str, Any]] = mapped_column(Json)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Apply(Base):
    __tablename__ = "applies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stack_id: Mapped[int] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    principal: Mapped[str] = mapped_column(String(200))
    #: the last journal seq handed out; bumped under the row lock, so seqs never collide
    journal_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class JournalRow(Base):
    __tablename__ = "journal"

    apply_id: Mapped[str] = mapped_column(
        ForeignKey("applies.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaseRow(Base):
    """One row per leased key; the unique key makes acquisition an atomic INSERT.

    Later claiming (``FOR UPDATE SKIP LOCKED`` over due keys) scans by ``expires_at``.
    """

    __tablename__ = "leases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    holder: Mapped[str] = mapped_column(String(300))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditRow(Base):
    """Who did what; by name rather than foreign key, so refused attempts are kept too."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_workspace_id", "workspace", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    principal: Mapped[str] = mapped_column(String(300))
    workspace: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    stack: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class Secret(Base):
    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: base64(nonce || AES-256-GCM ciphertext)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerRow(Base):
    """The workspace float, in whole cents of CAD: exact on SQLite and PostgreSQL alike."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_workspace_stack_id", "workspace", "stack", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100))
    stack: Mapped[str | None] = mapped_column(String(100), nullable=True)
    apply_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Initial schema: workspaces, keys, stacks, revisions, resources, applies, journal,
leases, audit events, secrets, the ledger and the event log.

Types are spelled out here rather than imported from ``vibn.state.schema`` so that this
migration keeps meaning what it meant when it was written.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, kind, nullable=nullable)


def _big_id() -> sa.Column[object]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _str(name: str, length: int, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "workspaces",
        _id(),
        _str("name", 100),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("name", name="uq_workspaces_name"),
    )
    op.create_table(
        "api_keys",
        _id(),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        _str("name", 200),
        _str("key_hash", 64),
        _str("prefix", 32),
        _json("scopes"),
        _ts("created_at"),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        _ts("last_used_at", nullable=True),
        _fk("api_keys", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_workspace_id", "api_keys", ["workspace_id"])
    op.create_table(
        "stacks",
        _id(),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        _str("name", 100),
        sa.Column("revision", sa.Integer(), nullable=False),
        _str("status", 16),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        _str("lineage", 36),
        _str("last_apply_id", 36, nullable=True),
        _str("drift_policy", 16),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("stacks", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_stacks"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_stacks_workspace_id_name"),
    )
    op.create_table(
        "revisions",
        _id(),
        sa.Column("stack_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _json("document"),
        _str("digest", 100),
        _ts("created_at"),
        _fk("revisions", "stack_id", "stacks"),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
        sa.UniqueConstraint("stack_id", "number", name="uq_revisions_stack_id_number"),
    )
    op.create_table(
        "resources",
        _id(),
        sa.Column("stack_id", sa.Integer(), nullable=False),
        _str("address", 300),
        _str("kind", 100),
        _str("provider_id", 500, nullable=True),
        _json("props"),
        _json("outputs"),
        _json("conditions"),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("resources", "stack_id", "stacks"),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
        sa.UniqueConstraint("stack_id", "address", name="uq_resources_stack_id_address"),
    )
    op.create_index("ix_resources_kind", "resources", ["kind"])
    op.create_table(
        "applies",
        _str("id", 36),
        sa.Column("stack_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _str("plan_id", 100, nullable=True),
        _str("kind", 16),
        _str("status", 16),
        _str("principal", 200),
        sa.Column("journal_seq", sa.Integer(), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _json("summary", nullable=True),
        _fk("applies", "stack_id", "stacks"),
        sa.PrimaryKeyConstraint("id", name="pk_applies"),
    )
    op.create_index("ix_applies_stack_id", "applies", ["stack_id"])
    op.create_table(
        "journal",
        _str("apply_id", 36),
        sa.Column("seq", sa.Integer(), nullable=False),
        _str("address", 300),
        _str("kind", 100),
        _str("action", 32),
        _str("phase", 32),
        _str("provider_id", 500, nullable=True),
        _json("detail", nullable=True),
        _ts("at"),
        sa.ForeignKeyConstraint(
            ["apply_id"], ["applies.id"], name="fk_journal_apply_id_applies", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("apply_id", "seq", name="pk_journal"),
    )
    op.create_table(
        "leases",
        _id(),
        _str("key", 300),
        _str("holder", 300),
        _ts("acquired_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_leases"),
        sa.UniqueConstraint("key", name="uq_leases_key"),
    )
    op.create_index("ix_leases_expires_at", "leases", ["expires_at"])
    op.create_table(
        "audit_events",
        _big_id(),
        _ts("at"),
        _str("principal", 300),
        _str("workspace", 100),
        _str("action", 100),
        _str("stack", 100, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        _str("result", 100),
        _json("detail", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_workspace_id", "audit_events", ["workspace", "id"])
    op.create_table(
        "secrets",
        _id(),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        _str("name", 200),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("secrets", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_secrets"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_secrets_workspace_id_name"),
    )
    op.create_table(
        "ledger",
        _big_id(),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("idempotency_key", 200),
        _ts("at"),
        _fk("ledger", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger"),
        sa.UniqueConstraint("idempotency_key", name="uq_ledger_idempotency_key"),
    )
    op.create_index("ix_ledger_workspace_id", "ledger", ["workspace_id"])
    op.create_table(
        "events",
        _big_id(),
        _str("workspace", 100),
        _str("stack", 100, nullable=True),
        _str("apply_id", 36, nullable=True),
        _str("type", 100),
        _json("payload"),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_workspace_stack_id", "events", ["workspace", "stack", "id"])


def downgrade() -> None:
    for table in (
        "events",
        "ledger",
        "secrets",
        "audit_events",
        "leases",
        "journal",
        "applies",
        "resources",
        "revisions",
        "stacks",
        "api_keys",
        "workspaces",
    ):
        op.drop_table(table)

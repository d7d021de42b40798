"""The service: saved plans (applied later by ``plan_id``) and the daemon's schedule on
each stack (when to visit next, when it last did, how many visits failed in a row).

Types are spelled out here rather than imported from ``vibn.state.schema`` so that this
migration keeps meaning what it meant when it was written.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("next_reconcile_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_reconciled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("failures", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_index("ix_stacks_next_reconcile_at", "stacks", ["next_reconcile_at"])
    op.create_table(
        "plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stack_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stack_id"], ["stacks.id"], name="fk_plans_stack_id_stacks", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.UniqueConstraint("stack_id", "plan_id", name="uq_plans_stack_id_plan_id"),
    )


def downgrade() -> None:
    op.drop_table("plans")
    op.drop_index("ix_stacks_next_reconcile_at", table_name="stacks")
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("failures")
        batch.drop_column("last_reconciled_at")
        batch.drop_column("next_reconcile_at")

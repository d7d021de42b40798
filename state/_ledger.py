"""The workspace float ledger, in CAD: what domain purchases draw on.

Money is kept exactly, as whole cents, and every entry carries an idempotency key so a
retried purchase or top-up is recorded once. Reusing a key for a different movement is
an error rather than a silent no-op, because it means two operations got mixed up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from vibn.state._core import StoreCore
from vibn.state.errors import InsufficientFunds, StateError
from vibn.state.records import LedgerEntry
from vibn.state.schema import LedgerRow, Workspace

CENT = Decimal("0.01")


class LedgerOps(StoreCore):
    def ledger_entry(
        self,
        workspace: str,
        amount: Decimal | int,
        reason: str,
        idempotency_key: str,
        *,
        no_overdraft: bool = False,
    ) -> tuple[LedgerEntry, bool]:
        """Record a movement once: ``(entry, created)``.

        ``amount`` is CAD with at most two decimals (positive credits the float, negative
        debits it). Replaying an ``idempotency_key`` returns the entry it first made.
        With ``no_overdraft`` a new debit the float cannot cover raises
        ``InsufficientFunds``; the check and the insert happen in one transaction, under
        a lock on the workspace row, so two concurrent purchases cannot both pass it.
        """
        cents = _cents(amount)
        with self._writing() as session:
            workspace_id = self._ensure_workspace(session, workspace)
            if no_overdraft and cents < 0:
                self._check_cover(session, workspace, workspace_id, cents, idempotency_key)
            created = session.execute(
                self._insert(LedgerRow)
                .values(
                    workspace_id=workspace_id,
                    amount_cents=cents,
                    reason=reason,
                    idempotency_key=idempotency_key,
                    at=self._now(),
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(LedgerRow.id)
            ).first()
            found = session.execute(
                select(LedgerRow, Workspace.name)
                .join(Workspace, LedgerRow.workspace_id == Workspace.id)
                .where(LedgerRow.idempotency_key == idempotency_key)
            ).one()
            row, owner = found
            if created is None and (owner, row.amount_cents) != (workspace, cents):
                raise StateError(
                    f"ledger idempotency key {idempotency_key!r} was already used for "
                    f"{_amount(row.amount_cents)} CAD in workspace {owner}"
                )
            return _entry(row, owner), created is not None

    def _check_cover(
        self, session: Any, workspace: str, workspace_id: int, cents: int, key: str
    ) -> None:
        session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
        ).scalar_one()
        replay = session.execute(
            select(LedgerRow.id).where(LedgerRow.idempotency_key == key)
        ).first()
        if replay is not None:
            return
        total = session.execute(
            select(func.coalesce(func.sum(LedgerRow.amount_cents), 0)).where(
                LedgerRow.workspace_id == workspace_id
            )
        ).scalar_one()
        if int(total) + cents < 0:
            raise InsufficientFunds(workspace, _amount(int(total)), _amount(-cents))

    def balance(self, workspace: str) -> Decimal:
        """The workspace's float in CAD (0.00 when it has no entries)."""
        with self._reading() as session:
            total = session.execute(
                select(func.coalesce(func.sum(LedgerRow.amount_cents), 0))
                .join(Workspace, LedgerRow.workspace_id == Workspace.id)
                .where(Workspace.name == workspace)
            ).scalar_one()
        return _amount(int(total))

    def ledger_entries(self, workspace: str) -> list[LedgerEntry]:
        """The workspace's ledger, oldest first."""
        with self._reading() as session:
            rows = session.execute(
                select(LedgerRow)
                .join(Workspace, LedgerRow.workspace_id == Workspace.id)
                .where(Workspace.name == workspace)
                .order_by(LedgerRow.id)
            ).scalars()
            return [_entry(row, workspace) for row in rows]


def _cents(amount: Decimal | int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise ValueError(f"a ledger amount must be a Decimal, not {amount!r}")
    exact = Decimal(amount)
    if not exact.is_finite():
        raise ValueError(f"a ledger amount must be finite, not {amount}")
    if exact != exact.quantize(CENT):
        raise ValueError(f"a ledger amount is whole cents of CAD; {amount} has more decimals")
    return int(exact * 100)


def _amount(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _entry(row: LedgerRow, workspace: str) -> LedgerEntry:
    return LedgerEntry(
        id=row.id,
        workspace=workspace,
        amount=_amount(row.amount_cents),
        reason=row.reason,
        idempotency_key=row.idempotency_key,
        at=row.at,
    )

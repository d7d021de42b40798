"""Paying for domains from the workspace float: a price in the plan, one debit per purchase.

Money moves in the reconciler, never in a driver: a driver that costs money quotes
(``quote(desired, current) -> Decimal``, the registrar's CAD price), the plan shows that
price plus the workspace markup and the float's balance (and refuses a plan the float
cannot cover), and apply debits the float *before* the registrar is asked, under an
idempotency key that names the purchase. A retried or resumed apply meets the same key,
so it never pays twice; and because the key proves the workspace paid, the driver may
then adopt the domain the registrar already holds instead of registering it again. A
purchase the registrar definitively refuses is refunded under its own key; the next
attempt at the same domain gets a fresh purchase key (``…:register:{attempt}``).
Unknown outcomes (timeouts, a killed process) are never refunded: the next apply finds
out and adopts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, runtime_checkable

from vibn.providers.base import Desired, Observed
from vibn.state import Store

CENT = Decimal("0.01")


@runtime_checkable
class Quoting(Protocol):
    """A driver whose creates or updates cost money at the provider."""

    def quote(self, desired: Desired, current: Observed | None) -> Decimal: ...


@dataclass(frozen=True)
class Charge:
    """One purchase a plan implies."""

    address: str
    what: str
    amount: Decimal
    key: str
    #: the workspace already paid for it (a resumed apply, or a domain it kept)
    owned: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "what": self.what,
            "amount": str(self.amount),
            "currency": "CAD",
            "already_paid": self.owned,
        }


class Payments:
    """The workspace float seen through purchases: quotes, debits, refunds."""

    def __init__(self, store: Store, markup_percent: Decimal = Decimal("0")) -> None:
        self.store = store
        self.markup = markup_percent

    def price(self, cost: Decimal) -> Decimal:
        """What the workspace pays for a registrar cost: cost plus markup, in cents."""
        return (cost * (1 + self.markup / 100)).quantize(CENT, rounding=ROUND_HALF_UP)

    def _keys(self, workspace: str) -> dict[str, Decimal]:
        return {e.idempotency_key: e.amount for e in self.store.ledger_entries(workspace)}

    def registration(
        self, workspace: str, address: str, desired: Desired, driver: Quoting
    ) -> Charge:
        """The charge for registering ``desired``'s domain (nothing when already paid)."""
        name, period = str(desired.props["name"]), int(desired.props["period"])
        keys = self._keys(workspace)
        base = f"domain:{workspace}:{name}"
        attempt = sum(1 for k in keys if k.startswith(f"{base}:refund:"))
        key = f"{base}:register:{attempt}"
        what = f"register {name} for {period} year{'s' if period > 1 else ''}"
        if key in keys:
            return Charge(address, what, -keys[key], key, owned=True)
        return Charge(address, what, self.price(driver.quote(desired, None)), key)

    def renewal(
        self, workspace: str, address: str, desired: Desired, current: Observed, driver: Quoting
    ) -> Charge | None:
        """The charge for renewing to the desired period (None when nothing is bought)."""
        cost = driver.quote(desired, current)
        if cost <= 0:
            return None
        name = str(desired.props["name"])
        years = int(desired.props["period"]) - int(current.props.get("period") or 0)
        expires = current.outputs.get("expires", "")
        key = f"domain:{workspace}:{name}:renew:{expires}:{years}"
        what = f"renew {name} for {years} more year{'s' if years > 1 else ''}"
        owned = key in self._keys(workspace)
        return Charge(address, what, self.price(cost), key, owned=owned)

    def pay(self, workspace: str, charge: Charge) -> bool:
        """Debit the float once for ``charge``; True when it had been paid before."""
        if charge.amount <= 0:
            return True
        _, created = self.store.ledger_entry(
            workspace, -charge.amount, charge.what, charge.key, no_overdraft=True
        )
        return not created

    def refund(self, workspace: str, charge: Charge, why: str) -> None:
        """Give back a purchase the provider definitively refused."""
        if charge.amount <= 0:
            return
        # a refunded registration opens the next attempt (see ``registration``)
        if ":register:" in charge.key:
            refund_key = charge.key.replace(":register:", ":refund:")
        else:
            refund_key = f"{charge.key}:refunded"
        self.store.ledger_entry(
            workspace, charge.amount, f"refund: {charge.what} ({why})"[:200], refund_key
        )


def total(charges: Mapping[str, Charge]) -> Decimal:
    """What a plan will draw from the float (purchases not yet paid)."""
    return sum((c.amount for c in charges.values() if not c.owned), Decimal("0"))

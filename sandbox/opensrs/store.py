"""The OpenSRS emulator's records and run-time knobs.

One reseller account (``RESELLER``, its private key the sandbox token): the end-user
profiles (``reg_username`` -> password and domains), the domains it holds (dates,
name servers, expire action, lock, contacts) and its orders live in
``<state dir>/opensrs.json``, one JSON document behind one lock, written before each
changing reply leaves (``GcpStore``: persistence, a clock offset and the
``/_sandbox/opensrs/settings`` plane are not Google-specific).

The knobs (``POST /_sandbox/opensrs/settings``):

* ``balance`` — the reseller's funds in CAD (a number or a decimal string). Registrations
  and renewals processed now are paid from it; one it cannot cover is pended.
* ``prices`` — ``{"com": "17.99"}`` sets the new, renewal and transfer price of a TLD;
  ``{"com": {"renewal": "19.99"}}`` one of them; ``{"com": null}`` stops selling the TLD.
* ``taken`` — domains the registry holds for someone else, besides the built-in ones
  (``google.com``, ``example.com``, ``taken.com``... and every ``taken-*`` name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from vibn.sandbox.gcp_rest import GcpSettings, GcpStore
from vibn.sandbox.gcp_rest.service import Clock

RESELLER = "vibn-sandbox"
TABLES = ("profiles", "domains", "orders", "cookies")
Record = dict[str, Any]
CENT = Decimal("0.01")
FIRST_ORDER_ID = 3735281
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
REG_TYPES = ("new", "renewal", "transfer")
#: CAD per year, ICANN fee included: what the reseller pays OpenSRS
DEFAULT_PRICES: dict[str, str] = {
    "com": "17.99",
    "net": "19.99",
    "org": "18.99",
    "ca": "14.50",
    "io": "54.00",
    "app": "21.00",
    "dev": "19.00",
}
#: registered at the registry by someone else: LOOKUP says 211, SW_REGISTER 485
REGISTRY_TAKEN = frozenset(
    {"google.com", "example.com", "example.net", "example.org", "taken.com", "taken.ca"}
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def default_prices() -> dict[str, dict[str, str] | None]:
    return {tld: dict.fromkeys(REG_TYPES, price) for tld, price in DEFAULT_PRICES.items()}


def money(value: Any, what: str) -> Decimal:
    """A non-negative amount in cents (ValueError naming ``what`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{what} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{what} must be a number") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what} must be a non-negative number")
    return amount.quantize(CENT)


def valid_hostname(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(x) for x in labels)


@dataclass
class OpenSrsSettings(GcpSettings):
    balance: str = "10000.00"
    #: TLD -> reg_type -> CAD; a TLD set to None is not sold (kept, so a restart keeps it so)
    prices: dict[str, dict[str, str] | None] = field(default_factory=default_prices)
    taken: list[str] = field(default_factory=list)

    def update(self, changes: Mapping[str, Any]) -> None:
        rest = dict(changes)
        balance = money(rest.pop("balance"), "balance") if "balance" in rest else None
        prices = self._prices(rest.pop("prices")) if "prices" in rest else None
        taken = self._taken(rest.pop("taken")) if "taken" in rest else None
        super().update(rest)
        if balance is not None:
            self.balance = str(balance)
        if prices is not None:
            self.prices = prices
        if taken is not None:
            self.taken = taken

    def _prices(self, value: Any) -> dict[str, dict[str, str] | None]:
        if not isinstance(value, Mapping):
            raise ValueError("prices must be an object of TLD -> price")
        table = {tld: None if row is None else dict(row) for tld, row in self.prices.items()}
        for raw_tld, row in value.items():
            tld = str(raw_tld).lower().lstrip(".")
            if row is None:
                table[tld] = None
            elif isinstance(row, Mapping):
                unknown = set(row) - set(REG_TYPES)
                if unknown:
                    raise ValueError(f"prices.{tld}: unknown reg_type {sorted(unknown)[0]!r}")
                merged = table.get(tld) or dict.fromkeys(REG_TYPES, "0.00")
                for reg_type, price in row.items():
                    merged[reg_type] = str(money(price, f"prices.{tld}.{reg_type}"))
                table[tld] = merged
            else:
                table[tld] = dict.fromkeys(REG_TYPES, str(money(row, f"prices.{tld}")))
        return table

    @staticmethod
    def _taken(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("taken must be a list of domain names")
        return sorted({v.strip().lower().rstrip(".") for v in value})


def stamp(t: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC), OpenSRS's date format."""
    return datetime.fromtimestamp(t, UTC).strftime(DATE_FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)


def add_years(text: str, years: int) -> str:
    """``text`` moved ``years`` on (29 February becomes 28 February off leap years)."""
    when = parse_stamp(text)
    try:
        moved = when.replace(year=when.year + years)
    except ValueError:
        moved = when.replace(year=when.year + years, day=28)
    return moved.strftime(DATE_FORMAT)


class OpenSrsStore(GcpStore):
    """Profiles, domains (keyed by name) and orders (keyed by id) of the reseller."""

    settings: OpenSrsSettings

    def __init__(self, path: Path | None, clock: Clock, settings: OpenSrsSettings) -> None:
        super().__init__(path, clock, TABLES, settings)

    def profiles(self) -> dict[str, Record]:
        return self.table("profiles")

    def domains(self) -> dict[str, Record]:
        return self.table("domains")

    def orders(self) -> dict[str, Record]:
        return self.table("orders")

    def domain(self, name: str) -> Record | None:
        return self.domains().get(name.lower())

    def price(self, name: str, reg_type: str) -> Decimal | None:
        """The yearly price of ``name``'s TLD for ``reg_type``; None when it is not sold."""
        row = self.settings.prices.get(name.rsplit(".", 1)[-1])
        return None if row is None else Decimal(row[reg_type])

    def balance(self) -> Decimal:
        return Decimal(self.settings.balance)

    def charge(self, amount: Decimal) -> None:
        self.settings.balance = str((self.balance() - amount).quantize(CENT))
        self.mark_dirty()

    def registry_taken(self, name: str) -> bool:
        """Held by anyone: this reseller, or someone else at the registry."""
        return (
            name in REGISTRY_TAKEN
            or name in self.settings.taken
            or name.startswith("taken-")
            or name in self.domains()
        )

    def new_order(self, **fields: Any) -> Record:
        order_id = str(FIRST_ORDER_ID + len(self.orders()))
        order = {"id": order_id, "created": stamp(self.now()), **fields}
        self.orders()[order_id] = order
        self.mark_dirty()
        return order

    def nameservers_of(self, name: str) -> list[str] | None:
        """The registrar's name servers for a domain it holds (the public DNS delegation)."""
        with self.lock:
            held = self.domain(name.strip().lower().rstrip("."))
            return None if held is None else list(held["nameservers"])

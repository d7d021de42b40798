"""Money: a registration's price in the plan, one debit per purchase, refunds, rollbacks
that keep what was paid for, and detaching instead of cancelling.

The registrar here is a fake with the real driver's shape: no ownership marks (it
observes only what the records name), ``quote``, a 485-style refusal for a taken
domain, and adoption only when the apply says the workspace paid.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from vibn.providers.base import Desired, ObserveContext, Observed, Scope
from vibn.providers.errors import ConflictError
from vibn.reconciler.engine import Engine, EngineError
from vibn.specs.model import Stack
from vibn.state import SecretBox, Store

from .fake import FACTS, FakeDriver, World, shop_stack

PRICE = Decimal("15.00")
DOMAIN_KINDS = {
    "gcp.dns_zone": frozenset({"name", "dns_name"}),
    "gcp.dns_records": frozenset({"zone"}),
    "dns.domain_status": frozenset(),
}


class Registrar:
    """An OpenSRS-like registry: names -> (period, nameservers); a reseller balance."""

    kind: ClassVar[str] = "opensrs.domain"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = True
    observe_after: ClassVar[tuple[str, ...]] = ()
    retained: ClassVar[bool] = True

    def __init__(self, taken: set[str] | None = None) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.taken = taken or set()
        self.registrations = 0
        self.fail_after_register = False

    def quote(self, desired: Desired, current: Observed | None) -> Decimal:
        years = int(desired.props["period"]) - (int(current.props["period"]) if current else 0)
        return PRICE * max(years, 0)

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        return [
            self._observed(rec.address, rec.stack, scope.workspace, rec.props["name"])
            for rec in ctx.recorded(self.kind)
            if rec.stack in scope.stacks and rec.props["name"] in self.held
        ]

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        if name in self.taken or name in self.held:
            if name in self.held and desired.props.get("adopt"):
                self.held[name].update(nameservers=list(desired.props["nameservers"]))
                return self._observed(desired.address, desired.owner.stack, "", name)
            raise ConflictError("opensrs", f"{name} is already registered", status=485)
        self.registrations += 1
        self.held[name] = {
            "period": desired.props["period"],
            "auto_renew": desired.props["auto_renew"],
            "nameservers": list(desired.props["nameservers"]),
        }
        if self.fail_after_register:
            raise TimeoutError("connection lost after the registrar answered")
        return self._observed(desired.address, desired.owner.stack, "", name)

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = str(desired.props["name"])
        self.held[name].update(
            period=desired.props["period"],
            auto_renew=desired.props["auto_renew"],
            nameservers=list(desired.props["nameservers"]),
        )
        return self._observed(desired.address, desired.owner.stack, "", name)

    def delete(self, current: Observed) -> None:  # pragma: no cover - must never be called
        raise AssertionError("a registration was cancelled")

    def _observed(self, address: str, stack: str, ws: str, name: str) -> Observed:
        from vibn.providers.base import Owner

        held = self.held[name]
        props = {"name": name, **held}
        return Observed(address, self.kind, name, Owner(ws or "default", stack, address), props)


def stack(**domain: Any) -> Stack:
    spec = {"name": "shop-demo.com", "register": True, **domain}
    return shop_stack(domain=spec, databases=[])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}", SecretBox(b"\x01" * 32))
    s.set_secret("default", "SESSION_SECRET", "hunter2")
    return s


@pytest.fixture
def registrar() -> Registrar:
    return Registrar(taken={"google.com"})


def engine_for(store: Store, world: World, registrar: Registrar) -> Engine:
    drivers: dict[str, Any] = {
        kind: FakeDriver(kind, world, replace_fields=f.replace_fields, data_bearing=f.data_bearing)
        for kind, f in FACTS.items()
    }
    for kind, fields in DOMAIN_KINDS.items():
        drivers[kind] = FakeDriver(kind, world, replace_fields=fields)
    drivers[registrar.kind] = registrar
    return Engine(store, drivers, b"f" * 32, domain_markup_percent=Decimal("10"))


def debits(store: Store) -> list[Decimal]:
    return [e.amount for e in store.ledger_entries("default") if e.amount < 0]


def apply(engine: Engine, doc: Stack) -> Any:
    return engine.apply(engine.plan(doc).plan.to_json())


def test_plan_shows_price_with_markup_and_balance_and_refuses_a_short_float(
    store: Store, registrar: Registrar
) -> None:
    engine = engine_for(store, World(), registrar)
    plan = engine.plan(stack()).plan
    assert plan.charges == [
        {
            "address": "domain.registration",
            "what": "register shop-demo.com for 1 year",
            "amount": "16.50",
            "currency": "CAD",
            "already_paid": False,
        }
    ]
    assert plan.float_balance == "0.00"
    assert any("float is 0.00 CAD and this plan buys 16.50 CAD" in e for e in plan.errors)
    with pytest.raises(EngineError, match="credit it first"):
        engine.apply(plan.to_json())
    assert registrar.registrations == 0 and debits(store) == []


def test_registration_is_paid_once_and_replans_to_noop(store: Store, registrar: Registrar) -> None:
    engine = engine_for(store, World(), registrar)
    store.ledger_entry("default", Decimal("50"), "top-up", "topup-1")
    result = apply(engine, stack())
    assert result.ok, result.error
    assert registrar.registrations == 1
    assert debits(store) == [Decimal("-16.50")]
    assert store.balance("default") == Decimal("33.50")
    again = engine.plan(stack()).plan
    assert not again.has_changes and again.charges == []


def test_a_resumed_apply_adopts_instead_of_registering_or_paying_again(
    store: Store, registrar: Registrar
) -> None:
    """The registrar registered, and vibn never heard: no record, an unknown outcome.
    (tests/e2e/test_domain_crash.py kills a real process at this point.)"""
    engine = engine_for(store, World(), registrar)
    store.ledger_entry("default", Decimal("50"), "top-up", "topup-1")
    registrar.fail_after_register = True
    first = apply(engine, stack())
    assert first.status == "rolled_back" and "connection lost" in (first.error or "")
    # an unknown outcome is not refunded: the money may have bought the domain
    assert registrar.registrations == 1 and debits(store) == [Decimal("-16.50")]
    assert store.balance("default") == Decimal("33.50")
    registrar.fail_after_register = False
    plan = engine.plan(stack()).plan
    assert plan.charges[0]["already_paid"] is True
    result = engine.apply(plan.to_json())
    assert result.ok, result.error
    assert registrar.registrations == 1, "registered twice"
    assert debits(store) == [Decimal("-16.50")], "paid twice"
    assert not engine.plan(stack()).plan.has_changes


def test_a_refused_registration_is_refunded(store: Store, registrar: Registrar) -> None:
    engine = engine_for(store, World(), registrar)
    store.ledger_entry("default", Decimal("50"), "top-up", "topup-1")
    result = apply(engine, stack(name="google.com"))
    assert result.status == "rolled_back"
    assert "google.com is already registered" in (result.error or "")
    assert store.balance("default") == Decimal("50.00")
    phases = {e.phase for e in store.journal_entries(result.apply_id)}
    assert {"charged", "refunded"} <= phases
    # the next attempt is a new purchase, not a replay of the refunded one
    retry = engine.plan(stack(name="google.com")).plan
    assert retry.charges[0]["already_paid"] is False


def test_a_failure_after_payment_keeps_the_domain_and_its_ledger_entry(
    store: Store, registrar: Registrar
) -> None:
    world = World()
    engine = engine_for(store, world, registrar)
    store.ledger_entry("default", Decimal("50"), "top-up", "topup-1")
    world.fail_on[("create", "domain.status")] = 1
    result = apply(engine, stack())
    assert result.status == "rolled_back"
    assert "Kept: domain.registration" in (result.error or "")
    assert "shop-demo.com" in registrar.held
    assert debits(store) == [Decimal("-16.50")]
    # the next apply finishes the job without buying anything
    result = apply(engine, stack())
    assert result.ok, result.error
    assert registrar.registrations == 1 and debits(store) == [Decimal("-16.50")]


def test_dropping_the_domain_detaches_it_and_never_cancels(
    store: Store, registrar: Registrar
) -> None:
    engine = engine_for(store, World(), registrar)
    store.ledger_entry("default", Decimal("50"), "top-up", "topup-1")
    assert apply(engine, stack()).ok
    plan = engine.plan(shop_stack(databases=[])).plan
    detach = [a for a in plan.actions if a.address == "domain.registration"]
    assert [a.action.value for a in detach] == ["detach"]
    assert "never cancels" in detach[0].reason
    result = engine.apply(plan.to_json())
    assert result.ok, result.error
    assert "shop-demo.com" in registrar.held
    assert all(r.address != "domain.registration" for r in store.resources("default", "shop"))
    destroy = engine.plan(shop_stack(databases=[]), destroy=True).plan
    assert all(a.kind != "opensrs.domain" for a in destroy.actions)


def test_a_longer_period_is_a_paid_renewal(store: Store, registrar: Registrar) -> None:
    engine = engine_for(store, World(), registrar)
    store.ledger_entry("default", Decimal("100"), "top-up", "topup-1")
    assert apply(engine, stack()).ok
    plan = engine.plan(stack(period=3)).plan
    assert [c["what"] for c in plan.charges] == ["renew shop-demo.com for 2 more years"]
    assert plan.charges[0]["amount"] == "33.00"
    assert engine.apply(plan.to_json()).ok
    assert registrar.held["shop-demo.com"]["period"] == 3
    assert debits(store) == [Decimal("-16.50"), Decimal("-33.00")]
    assert not engine.plan(stack(period=3)).plan.has_changes

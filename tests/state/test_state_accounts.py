"""Workspace secrets, API keys and the CAD ledger."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from vibn.specs.values import Sensitive
from vibn.state import SecretBox, StateError, Store


def test_secrets_crud(store: Store, clock: Any) -> None:
    assert store.get_secret("default", "STRIPE_KEY") is None
    store.set_secret("default", "STRIPE_KEY", "sk_live_1")
    store.set_secret("default", "A_TOKEN", Sensitive("tok"))
    store.set_secret("other", "STRIPE_KEY", "sk_other")
    assert store.get_secret("default", "STRIPE_KEY") == Sensitive("sk_live_1")
    assert store.list_secrets("default") == ["A_TOKEN", "STRIPE_KEY"]
    clock.advance(minutes=1)
    store.set_secret("default", "STRIPE_KEY", "sk_live_2")
    assert store.get_secret("default", "STRIPE_KEY") == Sensitive("sk_live_2")
    assert store.get_secret("other", "STRIPE_KEY") == Sensitive("sk_other")
    assert store.delete_secret("default", "STRIPE_KEY") is True
    assert store.delete_secret("default", "STRIPE_KEY") is False
    assert store.delete_secret("nobody", "STRIPE_KEY") is False
    assert store.list_secrets("default") == ["A_TOKEN"]
    assert store.list_secrets("nobody") == []


def test_secrets_are_encrypted_at_rest(
    store: Store, raw: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    store.set_secret("default", "DB_PASSWORD", "correct-horse-battery-staple")
    [(ciphertext,)] = raw("SELECT ciphertext FROM secrets")
    assert "correct-horse" not in ciphertext
    dump = repr(raw("SELECT * FROM secrets"))
    assert "correct-horse" not in dump


def test_secret_with_the_wrong_key_is_a_clear_error(
    store: Store, open_store: Callable[[SecretBox], Store]
) -> None:
    store.set_secret("default", "DB_PASSWORD", "pw")
    other = open_store(SecretBox.generate())
    with pytest.raises(StateError) as caught:
        other.get_secret("default", "DB_PASSWORD")
    assert str(caught.value) == (
        "cannot decrypt secret default/DB_PASSWORD: wrong VIBN_SECRETS_KEY? "
        "(it was stored with a different key)"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_api_keys(store: Store, clock: Any, raw: Callable[[str], list[tuple[Any, ...]]]) -> None:
    token, record = store.create_api_key(
        "default", scopes=["stacks:read", "stacks:write"], name="agent"
    )
    assert token.startswith("vibn_") and len(token) > 40
    assert record.prefix == token[:12]
    assert (record.workspace, record.name, record.scopes) == (
        "default",
        "agent",
        ("stacks:read", "stacks:write"),
    )
    assert token not in repr(raw("SELECT * FROM api_keys"))

    clock.advance(minutes=1)
    used = store.authenticate_api_key(token)
    assert used is not None and used.id == record.id and used.last_used_at == clock.now
    assert store.authenticate_api_key(token + "x") is None
    assert store.list_api_keys("default") == [used]

    assert store.revoke_api_key("other", record.id) is False
    assert store.revoke_api_key("default", record.id) is True
    assert store.revoke_api_key("default", record.id) is False
    assert store.authenticate_api_key(token) is None
    [revoked] = store.list_api_keys("default")
    assert revoked.revoked_at == clock.now


def test_expired_api_key_does_not_authenticate(store: Store, clock: Any) -> None:
    token, record = store.create_api_key(
        "default", scopes=[], expires_at=clock.now + timedelta(hours=1)
    )
    assert store.authenticate_api_key(token) is not None
    clock.advance(hours=1)
    assert store.authenticate_api_key(token) is None
    assert record.active(clock.now - timedelta(seconds=1))


def test_ledger_is_idempotent(store: Store, clock: Any) -> None:
    assert store.balance("default") == Decimal("0.00")
    entry, created = store.ledger_entry("default", Decimal("100.00"), "top-up", "topup-1")
    assert created and entry.amount == Decimal("100.00") and entry.at == clock.now
    again, created_again = store.ledger_entry("default", Decimal("100"), "top-up", "topup-1")
    assert not created_again and again == entry
    store.ledger_entry("default", Decimal("-18.99"), "register mysaas.ca", "domain-mysaas.ca-1")
    store.ledger_entry("other", 5, "top-up", "other-1")
    assert store.balance("default") == Decimal("81.01")
    assert store.balance("other") == Decimal("5.00")
    assert [e.idempotency_key for e in store.ledger_entries("default")] == [
        "topup-1",
        "domain-mysaas.ca-1",
    ]


def test_ledger_key_reused_for_another_movement_is_refused(store: Store) -> None:
    store.ledger_entry("default", Decimal("10.00"), "top-up", "k")
    with pytest.raises(
        StateError, match=r"'k' was already used for 10\.00 CAD in workspace default"
    ):
        store.ledger_entry("default", Decimal("12.00"), "top-up", "k")
    with pytest.raises(StateError, match="already used"):
        store.ledger_entry("other", Decimal("10.00"), "top-up", "k")
    assert store.balance("default") == Decimal("10.00")


@pytest.mark.parametrize("amount", [Decimal("0.001"), Decimal("NaN"), 1.5, "3"])
def test_ledger_amounts_are_whole_cents(store: Store, amount: Any) -> None:
    with pytest.raises(ValueError):
        store.ledger_entry("default", amount, "x", "k")


def test_concurrent_replays_record_once(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda _: store.ledger_entry("default", Decimal("-9.99"), "renew", "renew-1"),
                range(16),
            )
        )
    assert sum(created for _, created in results) == 1
    assert store.balance("default") == Decimal("-9.99")


def test_workspaces(store: Store, clock: Any) -> None:
    created = store.ensure_workspace("acme")
    clock.advance(minutes=1)
    assert store.ensure_workspace("acme") == created
    store.ensure_workspace("beta")
    assert [w.name for w in store.list_workspaces()] == ["acme", "beta"]
    assert created.created_at == clock.now - timedelta(minutes=1)

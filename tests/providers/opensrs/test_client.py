"""The OpenSRS client against the emulator: typed answers, typed errors carrying
OpenSRS's code and text, and retries that never buy a domain twice."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    QuotaError,
    TransientError,
)
from vibn.providers.opensrs import OpenSrsClient, RetryPolicy, response_code
from vibn.sandbox.opensrs import RESELLER
from vibn.sandbox.server import RunningSandbox

from .conftest import CONTACT, NS, Control


def register(client: OpenSrsClient, domain: str, period: int = 1) -> str:
    return client.register(domain, period, NS, True, "stackowner", "s3cretPass99", CONTACT)


def test_lookup(client: OpenSrsClient) -> None:
    assert client.lookup("free-name.com").available
    taken = client.lookup("google.com")
    assert (taken.available, taken.code) == (False, 211)


def test_suggest_lists_exact_matches_first(client: OpenSrsClient) -> None:
    found = client.suggest("taken-idea", ["com", ".io"], 4)
    assert [(s.domain, s.available, s.source) for s in found] == [
        ("taken-idea.com", False, "lookup"),
        ("taken-idea.io", False, "lookup"),
        ("gettaken-idea.com", True, "suggestion"),
        ("gettaken-idea.io", True, "suggestion"),
    ]


def test_price_and_balance(client: OpenSrsClient, control: Control) -> None:
    assert client.price("a.com") == Decimal("17.99")
    assert client.price("a.com", 2, "renewal") == Decimal("35.98")
    control.settings(balance="42.5")
    assert client.balance() == Decimal("42.50")


def test_an_unsupported_tld_has_no_price(client: OpenSrsClient) -> None:
    with pytest.raises(InvalidError) as err:
        client.price("shop.xyz")
    assert response_code(err.value) == 400
    assert err.value.resource == "shop.xyz"


def test_a_wrong_key_is_an_auth_error(osrs: RunningSandbox) -> None:
    bad = OpenSrsClient(osrs.providers["opensrs"].url, RESELLER, "wrong")
    with bad, pytest.raises(AuthError) as err:
        bad.balance()
    assert response_code(err.value) == 401


def test_register_renew_and_change(client: OpenSrsClient) -> None:
    order = register(client, "life-cycle.com")
    assert order.isdigit()
    info = client.info("life-cycle.com")
    assert info is not None
    assert info.nameservers == tuple(NS)
    assert (info.auto_renew, info.let_expire) == (True, False)
    assert info.expires.year == info.created.year + 1
    renewal = client.renew("life-cycle.com", info.expires.year, 2, False)
    assert renewal.expires == info.expires.replace(year=info.expires.year + 2)
    client.set_nameservers("life-cycle.com", ["ns1.other.com", "ns2.other.com"])
    client.set_auto_renew("life-cycle.com", True)
    client.set_auto_renew("life-cycle.com", True)  # 220: nothing to change
    after = client.info("life-cycle.com")
    assert after is not None
    assert after.nameservers == ("ns1.other.com", "ns2.other.com")
    assert after.auto_renew
    assert client.info("never-registered.com") is None
    assert client.profile_holds("life-cycle.com", "stackowner", "s3cretPass99")
    assert not client.profile_holds("life-cycle.com", "stackowner", "wrongPass999")


def test_a_taken_domain_is_a_conflict(client: OpenSrsClient) -> None:
    with pytest.raises(ConflictError) as err:
        register(client, "google.com")
    assert response_code(err.value) == 485
    assert err.value.details["response_text"] == "Domain taken"  # type: ignore[index]
    assert "forced_pending" in err.value.details["attributes"]  # type: ignore[index]


def test_errors_map_by_code(client: OpenSrsClient) -> None:
    with pytest.raises(InvalidError) as invalid:
        client.register("bad_name.com", 1, NS, True, "stackowner", "s3cretPass99", CONTACT)
    assert response_code(invalid.value) == 465
    with pytest.raises(NotFoundError):
        client.set_nameservers("never-registered.com", NS)
    register(client, "renewed.com")
    with pytest.raises(InvalidError, match="Domain Already Renewed"):
        client.renew("renewed.com", datetime.now(UTC).year - 1, 1, True)


def test_a_pended_registration_is_a_quota_error(client: OpenSrsClient, control: Control) -> None:
    control.settings(balance="5")
    with pytest.raises(QuotaError, match="pended as order"):
        register(client, "no-money.com")
    assert client.info("no-money.com") is None


def test_transient_http_faults_are_retried(
    client: OpenSrsClient, control: Control, waits: list[float]
) -> None:
    control.fault(status=503, body_match="GET_PRICE", times=2)
    assert client.price("a.com") == Decimal("17.99")
    assert len(waits) == 2
    assert waits[0] <= waits[1] <= 0.05


def test_retries_give_up_with_a_transient_error(
    client: OpenSrsClient, control: Control, waits: list[float]
) -> None:
    control.fault(status=502, body_match="LOOKUP", times=None)
    with pytest.raises(TransientError, match="HTTP 502"):
        client.lookup("a.com")
    assert len(waits) == 3


def test_resubmit_codes_are_retried_even_for_a_registration(
    client: OpenSrsClient, control: Control, waits: list[float]
) -> None:
    control.fault(
        status=200,
        body={"response_code": 705, "response_text": "Timed out"},
        body_match="SW_REGISTER",
    )
    assert register(client, "after-705.com").isdigit()
    assert control.posts() == 2
    assert control.calls()["SW_REGISTER DOMAIN"] == 1
    assert len(waits) == 1


def test_an_unknown_outcome_is_never_resent(
    client: OpenSrsClient, control: Control, waits: list[float]
) -> None:
    control.fault(status=503, body_match="SW_REGISTER", after=True)
    with pytest.raises(TransientError):
        register(client, "maybe-bought.com")
    assert control.calls()["SW_REGISTER DOMAIN"] == 1
    assert waits == []
    assert client.info("maybe-bought.com") is not None


def test_a_closed_port_is_retried_then_transient(
    waits: list[float], fast_retry: RetryPolicy
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = OpenSrsClient(f"http://127.0.0.1:{port}", RESELLER, "k", retry=fast_retry)
    with c, pytest.raises(TransientError, match="cannot connect"):
        c.register("x.com", 1, NS, True, "u12", "p" * 10, CONTACT)
    assert len(waits) == 3

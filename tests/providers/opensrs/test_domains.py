"""Contract tests of the ``opensrs.domain`` driver against the OpenSRS emulator.

Register -> observe -> renew -> name servers -> auto_renew; the price a plan shows; the
adoption that saves a resumed apply from registering twice (and only for the workspace
that paid and whose profile holds the domain); a taken name; what is never done
(shortening, cancelling).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from vibn.providers.base import Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ConflictError, InvalidError, TransientError
from vibn.providers.opensrs import OpenSrsClient, OpenSrsDomainDriver
from vibn.providers.opensrs.domains import profile_password, profile_username

from .conftest import CONTACT, NS, STACK, WS, Control, Ctx

KIND = "opensrs.domain"
ADDRESS = "domain.registration"
SCOPE = Scope(WS, frozenset({STACK}))


@pytest.fixture
def driver(client: OpenSrsClient) -> OpenSrsDomainDriver:
    return OpenSrsDomainDriver(client, CONTACT, "profile-secret")


def desired(name: str = "my-saas.com", workspace: str = WS, **props: Any) -> Desired:
    base = {"name": name, "period": 1, "auto_renew": True, "nameservers": sorted(NS)}
    return Desired(ADDRESS, KIND, Owner(workspace, STACK, ADDRESS), {**base, **props})


def recorded(observed: Observed, stack: str = STACK) -> Recorded:
    return Recorded(
        observed.address, KIND, observed.provider_id, observed.props, observed.outputs, stack=stack
    )


def test_the_driver_protocol(driver: OpenSrsDomainDriver) -> None:
    typed: Driver = driver
    assert (typed.kind, typed.replace_fields, typed.data_bearing) == (KIND, {"name"}, True)
    assert typed.observe_after == ()
    assert OpenSrsDomainDriver.retained


def test_register_observe_renew_and_change(
    driver: OpenSrsDomainDriver, client: OpenSrsClient, control: Control
) -> None:
    control.settings(balance="100")
    want = desired(nameservers=["NS-Cloud-A2.googledomains.com.", "ns-cloud-a1.googledomains.com"])
    assert driver.quote(want, None) == Decimal("17.99")
    created = driver.create(want)
    assert created.provider_id == "my-saas.com"
    assert created.owner == Owner(WS, STACK, ADDRESS)
    assert created.props == {
        "name": "my-saas.com",
        "period": 1,
        "auto_renew": True,
        "nameservers": sorted(NS),
    }
    assert created.outputs["order_id"].isdigit()
    assert created.outputs["nameservers"] == sorted(NS)
    assert client.balance() == Decimal("82.01")

    control.clear_calls()
    ctx = Ctx(
        records={KIND: [recorded(created), recorded(replace(created, address="other"), "blog")]}
    )
    [seen] = driver.observe(SCOPE, ctx)
    assert seen == created
    assert control.calls() == {"GET DOMAIN": 1}

    later = desired(
        period=3, auto_renew=False, nameservers=["ns1.elsewhere.com", "ns2.elsewhere.com"]
    )
    assert driver.quote(later, seen) == Decimal("35.98")
    updated = driver.update(later, seen)
    assert updated.props == {
        "name": "my-saas.com",
        "period": 3,
        "auto_renew": False,
        "nameservers": ["ns1.elsewhere.com", "ns2.elsewhere.com"],
    }
    assert (
        updated.outputs["expires"]
        == f"{int(created.outputs['expires'][:4]) + 2}{created.outputs['expires'][4:]}"
    )
    assert updated.outputs["order_id"] == created.outputs["order_id"]
    assert client.balance() == Decimal("46.03")
    assert driver.quote(later, updated) == Decimal("0")
    assert driver.observe(SCOPE, Ctx(records={KIND: [recorded(updated)]})) == [updated]


def test_only_the_changes_are_sent(driver: OpenSrsDomainDriver, control: Control) -> None:
    created = driver.create(desired())
    control.clear_calls()
    driver.update(desired(auto_renew=False), created)
    assert control.calls() == {"GET DOMAIN": 2, "MODIFY DOMAIN": 1}


def test_a_domain_the_registrar_no_longer_holds_is_absent(driver: OpenSrsDomainDriver) -> None:
    gone = Recorded(ADDRESS, KIND, "gone.com", {"name": "gone.com"}, {}, stack=STACK)
    assert driver.observe(SCOPE, Ctx(records={KIND: [gone]})) == []


def test_a_taken_domain_is_a_conflict_naming_it(driver: OpenSrsDomainDriver) -> None:
    with pytest.raises(ConflictError, match=r"google\.com is already registered"):
        driver.create(desired("google.com", adopt=True))


def test_a_resumed_apply_adopts_what_it_registered(
    driver: OpenSrsDomainDriver, client: OpenSrsClient, control: Control
) -> None:
    control.fault(status=503, body_match="SW_REGISTER", after=True)
    with pytest.raises(TransientError):
        driver.create(desired())
    balance = client.balance()
    with pytest.raises(ConflictError, match="already registered"):
        driver.create(desired())
    resumed = desired(adopt=True, auto_renew=False, nameservers=["ns1.new.com", "ns2.new.com"])
    adopted = driver.create(resumed)
    assert adopted.props == {
        "name": "my-saas.com",
        "period": 1,
        "auto_renew": False,
        "nameservers": ["ns1.new.com", "ns2.new.com"],
    }
    assert adopted.outputs["order_id"] is None
    assert client.balance() == balance
    assert control.calls()["SW_REGISTER DOMAIN"] == 3


def test_another_workspace_never_adopts_it(driver: OpenSrsDomainDriver) -> None:
    driver.create(desired())
    with pytest.raises(ConflictError, match=r"my-saas\.com is already registered"):
        driver.create(desired(workspace="rival", adopt=True))


def test_a_registration_is_never_shortened_or_cancelled(driver: OpenSrsDomainDriver) -> None:
    created = driver.create(desired(period=2))
    shorter = driver.update(desired(period=1), created)
    # "at least one year" holds: nothing is bought or cut, the real length stays visible
    assert shorter.props["period"] == 1 and shorter.outputs["years"] == 2
    assert driver.quote(desired(period=1), shorter) == 0
    with pytest.raises(InvalidError, match="never cancels"):
        driver.delete(created)
    assert driver.observe(SCOPE, Ctx(records={KIND: [recorded(created)]}))[0].props["period"] == 2


def test_an_unsupported_tld_cannot_be_quoted(driver: OpenSrsDomainDriver) -> None:
    with pytest.raises(InvalidError):
        driver.quote(desired("my-saas.xyz"), None)


@pytest.mark.parametrize(
    ("workspace", "expected"),
    [("acme", "vibnacme"), ("shop2", "vibnshop2")],
)
def test_profile_usernames_are_readable_when_they_can_be(workspace: str, expected: str) -> None:
    assert profile_username(workspace) == expected


@pytest.mark.parametrize("workspace", ["my-shop", "Acme", "a" * 40, "é"])
def test_profile_usernames_always_fit_opensrs(workspace: str) -> None:
    name = profile_username(workspace)
    assert 3 <= len(name) <= 20 and name.isalnum() and name.isascii()
    assert name != profile_username(workspace + "x")


def test_profile_passwords_are_deterministic_and_valid() -> None:
    first = profile_password("acme", "secret")
    assert first == profile_password("acme", "secret")
    assert first not in (profile_password("acme", "other"), profile_password("acme2", "secret"))
    assert len(first) == 20 and first.isalnum()
    assert any(c.isalpha() for c in first) and any(c.isdigit() for c in first)


def test_a_taken_domain_cannot_be_quoted_for_purchase(driver: OpenSrsDomainDriver) -> None:
    """The plan refuses a domain someone else holds before anything is paid."""
    with pytest.raises(ConflictError, match="registered by someone else"):
        driver.quote(desired("google.com"), None)
    assert driver.quote(desired("my-saas.com"), None) > 0

"""SW_REGISTER: required fields (460), syntax (465), taken (485 + forced_pending), payment
from the reseller balance, pended orders, profiles and name servers."""

from __future__ import annotations

from typing import Any

import pytest

from ..helpers import FakeClock
from .conftest import OWNER, Control, Xcp, registration


def all_info(api: Xcp, domain: str) -> dict[str, Any]:
    attributes: dict[str, Any] = api.ok("GET", attributes={"type": "all_info"}, domain=domain)[
        "attributes"
    ]
    return attributes


def balance(api: Xcp) -> str:
    return str(api.ok("GET_BALANCE")["attributes"]["balance"])


def test_a_registration_is_paid_and_held(api: Xcp, control: Control) -> None:
    control.settings(balance="100")
    reply = api.register("new-shop.com", period="2", auto_renew="0")
    attributes = reply["attributes"]
    assert reply["response_code"] == "200"
    assert attributes["registration_code"] == "200"
    assert attributes["registration_text"] == "Domain registration successfully completed."
    assert balance(api) == "64.02"
    info = all_info(api, "new-shop.com")
    assert info["registry_createdate"] == "2026-09-21 14:13:20"
    assert info["registry_expiredate"] == info["expiredate"] == "2028-09-21 14:13:20"
    assert (info["auto_renew"], info["let_expire"]) == ("0", "0")
    assert info["contact_set"]["owner"]["email"] == OWNER["email"]
    assert info["contact_set"]["tech"]["org_name"] == "vibn sandbox reseller"


def test_order_ids_increase(api: Xcp) -> None:
    first = int(api.register("one-shop.com")["attributes"]["id"])
    second = int(api.register("two-shop.com")["attributes"]["id"])
    assert second == first + 1


@pytest.mark.parametrize(
    "field",
    [
        "domain",
        "reg_type",
        "period",
        "reg_username",
        "reg_password",
        "custom_nameservers",
        "custom_tech_contact",
        "contact_set",
    ],
)
def test_a_missing_required_field_is_460(api: Xcp, field: str) -> None:
    reply = api.call("SW_REGISTER", attributes=registration("miss.com", **{field: None}))
    assert (reply["is_success"], reply["response_code"]) == ("0", "460")
    assert field in reply["response_text"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"domain": "bad_name.com"}, "465"),
        ({"period": "11"}, "465"),
        ({"period": "0"}, "465"),
        ({"reg_type": "trade"}, "465"),
        ({"reg_type": "transfer"}, "487"),
        ({"reg_username": "vibn-acme"}, "465"),
        ({"reg_username": "ab"}, "465"),
        ({"reg_password": "short1"}, "465"),
        ({"reg_password": "has spaces in it 1"}, "465"),
        ({"auto_renew": "yes"}, "465"),
        ({"handle": "later"}, "465"),
        ({"contact_set": {"owner": OWNER, "admin": OWNER}}, "460"),
        (
            {
                "contact_set": {
                    "owner": {**OWNER, "email": "nope"},
                    "admin": OWNER,
                    "billing": OWNER,
                }
            },
            "465",
        ),
        (
            {
                "contact_set": {
                    "owner": {**OWNER, "phone": "416-555-0123"},
                    "admin": OWNER,
                    "billing": OWNER,
                }
            },
            "465",
        ),
        (
            {"contact_set": {"owner": {**OWNER, "state": ""}, "admin": OWNER, "billing": OWNER}},
            "465",
        ),
        ({"custom_tech_contact": "1"}, "460"),
        ({"nameserver_list": [{"name": "ns1.only.com", "sortorder": "1"}]}, "465"),
        (
            {
                "nameserver_list": [
                    {"name": "ns1.x.com.", "sortorder": "1"},
                    {"name": "ns2.x.com", "sortorder": "2"},
                ]
            },
            "465",
        ),
        (
            {
                "nameserver_list": [
                    {"name": "ns1.gone.invalid", "sortorder": "1"},
                    {"name": "ns2.x.com", "sortorder": "2"},
                ]
            },
            "435",
        ),
        ({"nameserver_list": None}, "460"),
    ],
)
def test_refusals(api: Xcp, changes: dict[str, Any], code: str) -> None:
    reply = api.call("SW_REGISTER", attributes=registration("refused.com", **changes))
    assert (reply["is_success"], reply["response_code"]) == ("0", code), reply
    assert api.ok("LOOKUP", attributes={"domain": "refused.com"})["response_code"] == "210"


@pytest.mark.parametrize("domain", ["google.com", "taken-shop.com"])
def test_a_taken_domain_is_485_with_a_forced_pending_order(api: Xcp, domain: str) -> None:
    before = balance(api)
    reply = api.call("SW_REGISTER", attributes=registration(domain))
    assert (reply["is_success"], reply["response_code"]) == ("0", "485")
    assert reply["response_text"] == "Domain taken"
    assert reply["attributes"]["forced_pending"].isdigit()
    assert balance(api) == before


def test_registering_twice_is_485(api: Xcp) -> None:
    api.register("twice.com")
    assert api.call("SW_REGISTER", attributes=registration("twice.com"))["response_code"] == "485"


def test_an_insufficient_balance_pends_the_order(api: Xcp, control: Control) -> None:
    control.settings(balance="10.00")
    reply = api.call("SW_REGISTER", attributes=registration("broke.com"))
    assert (reply["is_success"], reply["response_code"]) == ("1", "200")
    assert reply["attributes"]["forced_pending"] == reply["attributes"]["id"]
    assert "insufficient funds" in reply["attributes"]["registration_text"]
    assert balance(api) == "10.00"
    missing = api.call("GET", attributes={"type": "all_info"}, domain="broke.com")
    assert missing["response_code"] == "480"


def test_handle_save_only_records_an_order(api: Xcp) -> None:
    before = balance(api)
    reply = api.register("saved.com", handle="save")
    assert "forced_pending" not in reply["attributes"]
    assert balance(api) == before
    assert api.ok("LOOKUP", attributes={"domain": "saved.com"})["response_code"] == "210"


def test_the_reseller_default_name_servers(api: Xcp) -> None:
    api.register("defaults.com", custom_nameservers="0", nameserver_list=None)
    names = [ns["name"] for ns in all_info(api, "defaults.com")["nameserver_list"]]
    assert names == ["ns1.systemdns.com", "ns2.systemdns.com", "ns3.systemdns.com"]


def test_a_profile_keeps_its_password(api: Xcp) -> None:
    api.register("first.com")
    reply = api.call(
        "SW_REGISTER", attributes=registration("second.com", reg_password="0therPass99")
    )
    assert (reply["is_success"], reply["response_code"]) == ("0", "415")
    api.register("second.com", reg_username="someoneelse", reg_password="0therPass99")


def test_a_leap_day_registration_expires_on_the_28th(api: Xcp, clock: FakeClock) -> None:
    clock.now = 1_835_438_400.0  # 2028-02-29 12:00:00 UTC
    api.register("leap.com")
    assert all_info(api, "leap.com")["registry_expiredate"] == "2029-02-28 12:00:00"

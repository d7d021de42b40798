"""LOOKUP, NAME_SUGGEST, GET_PRICE and GET_BALANCE: codes, statuses and fields.

A taken name is still a successful LOOKUP (211); the registry's pre-taken names
(``google.com``, ``taken-*``...) and the reseller's own domains are taken; a TLD the
reseller does not sell cannot be priced (400).
"""

from __future__ import annotations

import pytest

from .conftest import Control, Xcp


@pytest.mark.parametrize(
    ("domain", "code", "status"),
    [
        ("fresh-name.com", "210", "available"),
        ("Fresh-Name.CA", "210", "available"),
        ("google.com", "211", "taken"),
        ("example.com", "211", "taken"),
        ("taken-anything.io", "211", "taken"),
    ],
)
def test_lookup_answers_available_or_taken(api: Xcp, domain: str, code: str, status: str) -> None:
    reply = api.ok("LOOKUP", attributes={"domain": domain})
    assert reply["response_code"] == code
    assert reply["response_text"] == ("Domain available" if code == "210" else "Domain taken")
    assert reply["attributes"]["status"] == status


def test_a_domain_the_reseller_registered_is_taken(api: Xcp) -> None:
    api.register("mine.com")
    assert api.ok("LOOKUP", attributes={"domain": "mine.com"})["response_code"] == "211"


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({}, "460"),
        ({"domain": "no_underscores.com"}, "465"),
        ({"domain": "-dash.com"}, "465"),
        ({"domain": "www.sub.com"}, "465"),
        ({"domain": "nodot"}, "465"),
        ({"domain": "fine.xyz"}, "465"),
    ],
)
def test_lookup_refusals(api: Xcp, attributes: dict[str, str], code: str) -> None:
    reply = api.call("LOOKUP", attributes=attributes)
    assert (reply["is_success"], reply["response_code"]) == ("0", code)


def test_taken_names_can_be_added_through_settings(api: Xcp, control: Control) -> None:
    control.settings(taken=["Someones.NET"])
    assert api.ok("LOOKUP", attributes={"domain": "someones.net"})["response_code"] == "211"


def test_name_suggest_has_a_block_per_service(api: Xcp) -> None:
    attributes = {
        "searchstring": "taken-shop",
        "services": ["lookup", "suggestion", "premium"],
        "tlds": [".com", ".io", ".xyz"],
        "maximum": "5",
    }
    reply = api.ok("NAME_SUGGEST", attributes=attributes)
    lookup = reply["attributes"]["lookup"]
    assert lookup["is_success"] == "1" and lookup["response_code"] == "200"
    assert lookup["items"] == [
        {"domain": "taken-shop.com", "status": "taken"},
        {"domain": "taken-shop.io", "status": "taken"},
    ]
    assert lookup["count"] == "2"
    suggestion = reply["attributes"]["suggestion"]
    assert suggestion["count"] == "5" and len(suggestion["items"]) == 5
    names = [i["domain"] for i in suggestion["items"]]
    assert names[:2] == ["gettaken-shop.com", "gettaken-shop.io"]
    assert all(i["status"] == "available" for i in suggestion["items"])
    assert reply["attributes"]["premium"]["items"] == []


def test_name_suggest_defaults_and_refusals(api: Xcp) -> None:
    reply = api.ok("NAME_SUGGEST", attributes={"searchstring": "acme.com"})
    assert set(reply["attributes"]) == {"lookup", "suggestion"}
    assert [i["domain"] for i in reply["attributes"]["lookup"]["items"]] == [
        "acme.com",
        "acme.net",
        "acme.org",
    ]
    assert api.call("NAME_SUGGEST", attributes={})["response_code"] == "460"
    bad = {"searchstring": "acme", "services": ["crystal_ball"]}
    assert api.call("NAME_SUGGEST", attributes=bad)["response_code"] == "465"


@pytest.mark.parametrize(
    ("domain", "period", "reg_type", "price"),
    [
        ("a.com", "1", "new", "17.99"),
        ("a.com", "3", "new", "53.97"),
        ("a.ca", "2", "renewal", "29.00"),
        ("a.io", "1", "transfer", "54.00"),
        ("a.dev", None, None, "19.00"),
    ],
)
def test_get_price(
    api: Xcp, domain: str, period: str | None, reg_type: str | None, price: str
) -> None:
    attributes = {"domain": domain, "period": period, "reg_type": reg_type}
    reply = api.ok("GET_PRICE", attributes={k: v for k, v in attributes.items() if v})
    assert reply["response_code"] == "200"
    assert reply["attributes"]["price"] == price
    assert reply["attributes"]["is_registry_premium"] == "0"


def test_a_tld_not_sold_has_no_price(api: Xcp) -> None:
    reply = api.call("GET_PRICE", attributes={"domain": "shop.xyz"})
    assert (reply["is_success"], reply["response_code"]) == ("0", "400")
    assert "price" in reply["response_text"].lower()


def test_prices_come_from_settings(api: Xcp, control: Control) -> None:
    control.settings(prices={"com": {"renewal": "21.50"}, "xyz": "3.00", "io": None})
    assert api.ok("GET_PRICE", attributes={"domain": "a.com"})["attributes"]["price"] == "17.99"
    renewal = {"domain": "a.com", "reg_type": "renewal", "period": "2"}
    assert api.ok("GET_PRICE", attributes=renewal)["attributes"]["price"] == "43.00"
    assert api.ok("GET_PRICE", attributes={"domain": "a.xyz"})["attributes"]["price"] == "3.00"
    assert api.call("GET_PRICE", attributes={"domain": "a.io"})["response_code"] == "400"


def test_get_price_refuses_a_bad_period(api: Xcp) -> None:
    reply = api.call("GET_PRICE", attributes={"domain": "a.com", "period": "11"})
    assert reply["response_code"] == "465"


@pytest.mark.parametrize("obj", ["DOMAIN", "BALANCE", "balance"])
def test_get_balance(api: Xcp, control: Control, obj: str) -> None:
    control.settings(balance=250.5)
    reply = api.ok("GET_BALANCE", obj)
    assert reply["attributes"] == {"balance": "250.50", "hold_balance": "0.00"}

"""Calls on a held domain: GET, RENEW, ADVANCED_UPDATE_NAMESERVERS, MODIFY, SET COOKIE,
GET_DOMAINS_BY_EXPIREDATE, and the delegation the sandbox's public DNS sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.server import start_in_thread

from ..helpers import client as http_client
from .conftest import NAMESERVERS, Control, Xcp


@pytest.fixture
def held(api: Xcp) -> str:
    api.register("held-shop.com", period="1")
    return "held-shop.com"


def info(api: Xcp, domain: str, kind: str = "all_info") -> dict[str, Any]:
    found: dict[str, Any] = api.ok("GET", attributes={"type": kind}, domain=domain)["attributes"]
    return found


def renew(api: Xcp, domain: str, year: str, period: str = "1", **extra: str) -> Any:
    attributes = {
        "domain": domain,
        "currentexpirationyear": year,
        "period": period,
        "handle": "process",
        "auto_renew": "1",
        **extra,
    }
    return api.call("RENEW", attributes=attributes)


def test_get_types(api: Xcp, held: str) -> None:
    ns = info(api, held, "nameservers")["nameserver_list"]
    assert ns == [
        {"name": NAMESERVERS[0], "ipaddress": "", "sortorder": "1"},
        {"name": NAMESERVERS[1], "ipaddress": "", "sortorder": "2"},
    ]
    assert info(api, held, "status")["lock_state"] == "1"
    assert info(api, held, "expire_action") == {"auto_renew": "1", "let_expire": "0"}
    assert set(info(api, held)) >= {
        "auto_renew",
        "let_expire",
        "expiredate",
        "registry_createdate",
        "registry_expiredate",
        "registry_updatedate",
        "sponsoring_rsp",
        "contact_set",
        "nameserver_list",
    }
    same = api.ok("GET", attributes={"type": "all_info", "domain": held})["attributes"]
    assert same == info(api, held)


@pytest.mark.parametrize(
    ("attributes", "top", "code"),
    [
        ({"type": "all_info"}, {"domain": "google.com"}, "480"),
        ({"type": "all_info"}, {"domain": "nobody-has-it.com"}, "480"),
        ({"type": "all_info"}, {}, "460"),
        ({}, {"domain": "held-shop.com"}, "460"),
        ({"type": "horoscope"}, {"domain": "held-shop.com"}, "465"),
        ({"type": "all_info"}, {"cookie": "123:456"}, "415"),
    ],
)
def test_get_refusals(
    api: Xcp, held: str, attributes: dict[str, str], top: dict[str, str], code: str
) -> None:
    reply = api.call("GET", attributes=attributes, **top)
    assert (reply["is_success"], reply["response_code"]) == ("0", code)


def test_renew_extends_and_charges(api: Xcp, control: Control, held: str) -> None:
    control.settings(balance="100.00")
    reply = renew(api, held, "2027", "2")
    assert (reply["is_success"], reply["response_code"]) == ("1", "200")
    attributes = reply["attributes"]
    assert attributes["order_id"] == attributes["id"]
    assert attributes["registration expiration date"] == "2029-09-21 14:13:20"
    assert attributes["auto_renew"] == "1"
    assert info(api, held)["registry_expiredate"] == "2029-09-21 14:13:20"
    assert api.ok("GET_BALANCE")["attributes"]["balance"] == "64.02"


def test_renew_needs_the_current_expiry_year(api: Xcp, held: str) -> None:
    assert renew(api, held, "2027")["is_success"] == "1"
    again = renew(api, held, "2027")
    assert (again["is_success"], again["response_code"]) == ("0", "465")
    assert again["response_text"] == "Domain Already Renewed"
    assert renew(api, held, "2031")["response_code"] == "465"
    assert info(api, held)["registry_expiredate"].startswith("2028-")


@pytest.mark.parametrize(
    ("domain", "extra", "code"),
    [
        ("nobody-has-it.com", {}, "480"),
        ("held-shop.com", {"period": "10"}, "465"),
        ("held-shop.com", {"auto_renew": ""}, "460"),
    ],
)
def test_renew_refusals(api: Xcp, held: str, domain: str, extra: dict[str, str], code: str) -> None:
    period = extra.pop("period", "1")
    reply = renew(api, domain, "2027", period, **extra)
    assert (reply["is_success"], reply["response_code"]) == ("0", code)


def test_renew_beyond_the_balance_is_pended(api: Xcp, control: Control, held: str) -> None:
    control.settings(balance="1")
    reply = renew(api, held, "2027")
    assert reply["is_success"] == "1" and reply["attributes"]["forced_pending"]
    assert info(api, held)["registry_expiredate"].startswith("2027-")


def test_assign_replaces_the_name_servers(api: Xcp, held: str) -> None:
    attributes = {
        "domain": held,
        "op_type": "assign",
        "assign_ns": ["NS1.Other.com", "ns2.other.com"],
    }
    reply = api.ok("ADVANCED_UPDATE_NAMESERVERS", attributes=attributes)
    assert reply["response_code"] == "200"
    names = [ns["name"] for ns in info(api, held, "nameservers")["nameserver_list"]]
    assert names == ["ns1.other.com", "ns2.other.com"]


def test_add_remove_name_servers(api: Xcp, held: str) -> None:
    attributes = {
        "domain": held,
        "op_type": "add_remove",
        "add_ns": ["ns3.extra.com"],
        "remove_ns": [NAMESERVERS[0]],
    }
    api.ok("ADVANCED_UPDATE_NAMESERVERS", attributes=attributes)
    names = [ns["name"] for ns in info(api, held, "nameservers")["nameserver_list"]]
    assert names == [NAMESERVERS[1], "ns3.extra.com"]


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({"op_type": "assign"}, "460"),
        (
            {"op_type": "assign", "assign_ns": ["ns1.a.com", "ns2.a.com"], "add_ns": ["ns3.a.com"]},
            "465",
        ),
        ({"op_type": "assign", "assign_ns": ["ns1.a.com"]}, "465"),
        ({"op_type": "assign", "assign_ns": ["ns1.a.invalid", "ns2.a.com"]}, "435"),
        ({"op_type": "shuffle"}, "465"),
        ({}, "460"),
    ],
)
def test_name_server_refusals(api: Xcp, held: str, attributes: dict[str, Any], code: str) -> None:
    reply = api.call("ADVANCED_UPDATE_NAMESERVERS", attributes={"domain": held, **attributes})
    assert (reply["is_success"], reply["response_code"]) == ("0", code)


def test_modify_expire_action(api: Xcp, held: str) -> None:
    off = {"data": "expire_action", "auto_renew": "0", "let_expire": "1"}
    assert api.ok("MODIFY", attributes=off, domain=held)["response_code"] == "200"
    assert info(api, held, "expire_action") == {"auto_renew": "0", "let_expire": "1"}
    again = api.ok("MODIFY", attributes=off, domain=held)
    assert again["response_code"] == "220"
    both = {"data": "expire_action", "auto_renew": "1", "let_expire": "1"}
    assert api.call("MODIFY", attributes=both, domain=held)["response_code"] == "465"
    assert api.call("MODIFY", attributes={"data": "colour"}, domain=held)["response_code"] == "465"
    lock = {"data": "status", "lock_state": "0"}
    api.ok("MODIFY", attributes=lock, domain=held)
    assert info(api, held, "status")["lock_state"] == "0"


def test_set_cookie_checks_the_profile(api: Xcp, held: str) -> None:
    good = {"domain": held, "reg_username": "stackowner", "reg_password": "s3cretPass99"}
    cookie = api.ok("SET", "COOKIE", good)["attributes"]["cookie"]
    assert info_by_cookie(api, cookie)["registry_expiredate"].startswith("2027-")
    wrong = {**good, "reg_password": "n0tThePass99"}
    assert api.call("SET", "COOKIE", wrong)["response_code"] == "415"
    api.register("others.com", reg_username="someoneelse", reg_password="0therPass99")
    theirs = {**good, "domain": "others.com"}
    assert api.call("SET", "COOKIE", theirs)["response_code"] == "415"


def info_by_cookie(api: Xcp, cookie: str) -> dict[str, Any]:
    found: dict[str, Any] = api.ok("GET", attributes={"type": "all_info"}, cookie=cookie)[
        "attributes"
    ]
    return found


def test_domains_by_expiry_date(api: Xcp, held: str) -> None:
    api.register("later-shop.com", period="3", auto_renew="0")
    attributes = {"exp_from": "2027-01-01", "exp_to": "2030-12-31", "limit": "1"}
    page = api.ok("GET_DOMAINS_BY_EXPIREDATE", attributes=attributes)["attributes"]
    assert (page["total"], page["remainder"], page["page"]) == ("2", "1", "1")
    assert page["exp_domains"] == [
        {
            "name": held,
            "expiredate": "2027-09-21 14:13:20",
            "f_auto_renew": "Y",
            "f_let_expire": "N",
        }
    ]
    second = api.ok("GET_DOMAINS_BY_EXPIREDATE", attributes={**attributes, "page": "2"})
    assert second["attributes"]["exp_domains"][0]["name"] == "later-shop.com"
    assert second["attributes"]["remainder"] == "0"


def test_the_public_dns_sees_the_delegation(tmp_path: Path) -> None:
    dns = PublicDns()
    with start_in_thread(tmp_path, names=["opensrs"], public_dns=dns) as running:
        ep = running.providers["opensrs"]
        with http_client(ep.url) as http:
            api = Xcp(http, ep.token)
            assert dns.resolve("deleg-shop.com", "NS") == []
            api.register("deleg-shop.com")
            assert dns.resolve("deleg-shop.com", "NS") == [ns + "." for ns in NAMESERVERS]
            attributes = {
                "domain": "deleg-shop.com",
                "op_type": "assign",
                "assign_ns": ["ns1.b.com", "ns2.b.com"],
            }
            api.ok("ADVANCED_UPDATE_NAMESERVERS", attributes=attributes)
            assert dns.resolve("Deleg-Shop.com.", "NS") == ["ns1.b.com.", "ns2.b.com."]

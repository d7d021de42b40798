"""Calls on a domain the reseller holds: RENEW, GET, ADVANCED_UPDATE_NAMESERVERS, MODIFY,
SET COOKIE and GET_DOMAINS_BY_EXPIREDATE.

With reseller credentials a call names its domain (``domain`` at the top level or in the
attributes); one the reseller does not hold is 480. RENEW must quote the current
expiry year (465 otherwise: "Domain Already Renewed" when it is an earlier year, as in
OpenSRS's test environment) and may not take the registration past ten years.
``SET COOKIE`` checks a profile's password and that the profile holds the domain (415
otherwise); the cookie it returns stands for the domain in later calls.
"""

from __future__ import annotations

import secrets
from typing import Any

from vibn.sandbox.opensrs.register import checked_nameservers, settle
from vibn.sandbox.opensrs.store import add_years, parse_stamp, stamp
from vibn.sandbox.opensrs.wire import Call, Reply, XcpFault, invalid, missing

NO_CHANGE = "Command completed successfully. No changes were made."


def _bit(value: bool) -> str:
    return "1" if value else "0"


def renew(call: Call) -> Reply:
    call.require("domain", "currentexpirationyear", "period", "handle", "auto_renew")
    record = call.held()
    given, actual = call.text("currentexpirationyear"), record["expires"][:4]
    if given != actual:
        if given.isdigit() and int(given) < int(actual):
            raise invalid("Domain Already Renewed")
        raise invalid(f"Invalid currentexpirationyear {given!r}: it does not match the registry")
    period = call.number("period", 1, 1, 10)
    expires = add_years(record["expires"], period)
    if parse_stamp(expires) > parse_stamp(add_years(stamp(call.now), 10)):
        raise invalid("Renewal would take the registration past the 10-year maximum")
    auto_renew = call.flag("auto_renew")
    unit = call.store.price(record["name"], "renewal")
    if unit is None:
        raise XcpFault(400, f"Unable to get price for {record['name']}")
    name = record["name"]
    order, pended = settle(call, unit * period, domain=name, type="renewal", period=period)
    attributes: dict[str, Any] = {"order_id": order["id"], "id": order["id"]}
    if pended is not None:
        if pended != "saved":
            attributes["forced_pending"] = order["id"]
        return Reply(attributes=attributes)
    record.update(expires=expires, auto_renew=auto_renew, updated=stamp(call.now))
    if auto_renew:
        record["let_expire"] = False
    call.store.mark_dirty()
    attributes.update(
        {
            "admin_email": record["contacts"]["admin"]["email"],
            "auto_renew": _bit(auto_renew),
            "registration expiration date": expires,
        }
    )
    return Reply(attributes=attributes)


def _nameserver_list(record: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"name": ns, "ipaddress": "", "sortorder": str(i)}
        for i, ns in enumerate(record["nameservers"], start=1)
    ]


def _all_info(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "auto_renew": _bit(record["auto_renew"]),
        "let_expire": _bit(record["let_expire"]),
        "expiredate": record["expires"],
        "registry_createdate": record["created"],
        "registry_expiredate": record["expires"],
        "registry_updatedate": record["updated"],
        "sponsoring_rsp": "1",
        "affiliate_id": "",
        "contact_set": record["contacts"],
        "nameserver_list": _nameserver_list(record),
    }


def get(call: Call) -> Reply:
    call.require("type")
    kind = call.text("type")
    record = call.held()
    if kind == "all_info":
        return Reply(attributes=_all_info(record))
    if kind == "nameservers":
        return Reply(attributes={"nameserver_list": _nameserver_list(record)})
    if kind == "status":
        return Reply(attributes={"lock_state": _bit(record["lock"]), "can_modify": "1"})
    if kind == "expire_action":
        return Reply(
            attributes={
                "auto_renew": _bit(record["auto_renew"]),
                "let_expire": _bit(record["let_expire"]),
            }
        )
    if kind in ("owner", "admin", "billing", "tech"):
        return Reply(attributes={"contact_set": {kind: record["contacts"][kind]}})
    raise invalid(f"Invalid type: {kind}")


def _hosts(call: Call, name: str) -> list[str]:
    value = call.attrs.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"Invalid {name}: expected an array of host names")
    return [v.strip().lower() for v in value]


def update_nameservers(call: Call) -> Reply:
    call.require("op_type")
    record = call.held()
    op_type = call.text("op_type")
    if op_type == "assign":
        if "add_ns" in call.attrs or "remove_ns" in call.attrs:
            raise invalid("assign_ns cannot be combined with add_ns or remove_ns")
        if not call.attrs.get("assign_ns"):
            raise missing("assign_ns")
        hosts = checked_nameservers(_hosts(call, "assign_ns"))
    elif op_type == "add_remove":
        if not call.attrs.get("add_ns") and not call.attrs.get("remove_ns"):
            raise missing("add_ns")
        removed = set(_hosts(call, "remove_ns")) if call.attrs.get("remove_ns") else set()
        added = _hosts(call, "add_ns") if call.attrs.get("add_ns") else []
        kept = [ns for ns in record["nameservers"] if ns not in removed]
        hosts = checked_nameservers(kept + [ns for ns in added if ns not in kept])
    else:
        raise invalid(f"Invalid op_type: {op_type}")
    if hosts == record["nameservers"]:
        return Reply()
    record.update(nameservers=hosts, updated=stamp(call.now))
    call.store.mark_dirty()
    return Reply()


def modify(call: Call) -> Reply:
    call.require("data")
    data = call.text("data")
    record = call.held()
    if data == "expire_action":
        call.require("auto_renew", "let_expire")
        auto_renew, let_expire = call.flag("auto_renew"), call.flag("let_expire")
        if auto_renew and let_expire:
            raise invalid("auto_renew and let_expire cannot both be set")
        changes: dict[str, Any] = {"auto_renew": auto_renew, "let_expire": let_expire}
    elif data == "status":
        call.require("lock_state")
        changes = {"lock": call.flag("lock_state")}
    else:
        raise invalid(f"Invalid data: {data}")
    if all(record[k] == v for k, v in changes.items()):
        return Reply(220, NO_CHANGE)
    record.update(changes, updated=stamp(call.now))
    call.store.mark_dirty()
    return Reply()


def set_cookie(call: Call) -> Reply:
    call.require("domain", "reg_username", "reg_password")
    domain = call.text("domain").lower()
    profile = call.store.profiles().get(call.text("reg_username"))
    if profile is None or profile["password"] != call.text("reg_password"):
        raise XcpFault(415, "Authentication Error.")
    if domain not in profile["domains"] or call.store.domain(domain) is None:
        raise XcpFault(415, "Authentication Error: the profile does not hold " + domain)
    cookie = f"{secrets.randbelow(10**10)}:{secrets.randbelow(10**6)}"
    call.store.table("cookies")[cookie] = {"domain": domain, "created": stamp(call.now)}
    call.store.mark_dirty()
    record = call.store.domain(domain) or {}
    return Reply(
        attributes={
            "cookie": cookie,
            "domain_count": str(len(profile["domains"])),
            "expiredate": record.get("expires", ""),
            "f_owner": "1",
            "permission": "",
            "last_access_time": str(int(call.now)),
        }
    )


def expiring(call: Call) -> Reply:
    call.require("exp_from", "exp_to")
    low, high = call.text("exp_from"), call.text("exp_to")
    for value in (low, high):
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise invalid(f"Invalid date {value!r}: expected YYYY-MM-DD")
    limit = call.number("limit", 40, 1, 100_000)
    page = call.number("page", 1, 1, 1_000_000)
    found = sorted(
        (d for d in call.store.domains().values() if low <= d["expires"][:10] <= high),
        key=lambda d: (d["expires"], d["name"]),
    )
    chunk = found[(page - 1) * limit : page * limit]
    rows = [
        {
            "name": d["name"],
            "expiredate": d["expires"],
            "f_auto_renew": "Y" if d["auto_renew"] else "N",
            "f_let_expire": "Y" if d["let_expire"] else "N",
        }
        for d in chunk
    ]
    return Reply(
        attributes={
            "page": str(page),
            "total": str(len(found)),
            "remainder": _bit(page * limit < len(found)),
            "exp_domains": rows,
        }
    )

"""SW_REGISTER: a new registration, placed in an end-user profile and paid from the balance.

Checked in OpenSRS's order: the toolkit's required attributes (460), ``reg_type``, the
domain, ``period`` (1-10), the profile's ``reg_username`` (3-20 letters and digits) and
``reg_password`` (10-20 characters) and the contact set (465); name servers must be
well-formed (465) and exist at the registry (435: the sandbox's registry knows every
host except those under ``.invalid`` and ``.test``). A taken name is refused with 485
and a ``forced_pending`` order, as the live system does. ``handle=save`` only records a
pending order; ``handle=process`` registers now and pays, unless the balance cannot
cover the price: then the order is pended and the reply carries ``forced_pending``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from vibn.sandbox.opensrs.store import add_years, stamp, valid_hostname
from vibn.sandbox.opensrs.wire import Call, Reply, XcpFault, checked_domain, invalid, missing

REQUIRED = (
    "domain",
    "reg_type",
    "period",
    "reg_username",
    "reg_password",
    "custom_nameservers",
    "custom_tech_contact",
    "contact_set",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "org_name",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "country",
    "postal_code",
    "phone",
    "fax",
    "email",
)
CONTACT_REQUIRED = (
    "first_name",
    "last_name",
    "address1",
    "city",
    "country",
    "postal_code",
    "phone",
    "email",
)
#: the reseller's tech contact, used when ``custom_tech_contact=0``
RESELLER_TECH = {
    "first_name": "Sandbox",
    "last_name": "Reseller",
    "org_name": "vibn sandbox reseller",
    "address1": "1 Front St W",
    "city": "Toronto",
    "state": "ON",
    "country": "CA",
    "postal_code": "M5J 2X5",
    "phone": "+1.4165550100",
    "email": "tech@reseller.invalid",
}
#: the reseller's default name servers (``custom_nameservers=0``)
DEFAULT_NAMESERVERS = ("ns1.systemdns.com", "ns2.systemdns.com", "ns3.systemdns.com")
_USERNAME = re.compile(r"^[A-Za-z0-9]{3,20}$")
_PASSWORD = re.compile(r"^[A-Za-z0-9!@$^,.~|=\-+_{}#]{10,20}$")
_PHONE = re.compile(r"^\+\d{1,3}\.\d{4,14}(x\d{1,6})?$")
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_UNKNOWN_HOSTS = (".invalid", ".test")


def checked_nameservers(names: list[str]) -> list[str]:
    """Lower-cased host names, 2 to 13 of them, known to the registry."""
    hosts = [n.strip().lower() for n in names]
    if not 2 <= len(hosts) <= 13:
        raise invalid("Invalid nameserver list: between 2 and 13 name servers are required")
    for host in hosts:
        if not valid_hostname(host):
            raise invalid(f"Invalid nameserver syntax: {host!r}")
        if host.endswith(_UNKNOWN_HOSTS):
            raise XcpFault(435, f"Nameserver {host} does not exist at the registry")
    if len(set(hosts)) != len(hosts):
        raise invalid("Invalid nameserver list: a name server is listed twice")
    return hosts


def _nameserver_list(call: Call) -> list[str]:
    if not call.flag("custom_nameservers"):
        return list(DEFAULT_NAMESERVERS)
    listed = call.attrs.get("nameserver_list")
    if not listed:
        raise missing("nameserver_list")
    if not isinstance(listed, list) or not all(isinstance(i, Mapping) for i in listed):
        raise invalid("Invalid nameserver_list: expected an array of {name, sortorder}")

    def order(item: Mapping[str, Any]) -> int:
        value = str(item.get("sortorder") or "")
        if not value.isdigit():
            raise invalid(f"Invalid sortorder {value!r} in nameserver_list")
        return int(value)

    ordered = sorted(listed, key=order)
    return checked_nameservers([str(item.get("name") or "") for item in ordered])


def _contact(role: str, value: Any, tld: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise missing(f"contact_set.{role}")
    contact = {k: str(value.get(k) or "").strip() for k in CONTACT_FIELDS}
    for name in CONTACT_REQUIRED:
        if not contact[name]:
            raise invalid(f"Invalid Contact Information: {role} {name} is required")
    country = contact["country"] = contact["country"].upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise invalid(f"Invalid Contact Information: {role} country must be an ISO code")
    if not contact["state"] and (country in ("CA", "US") or tld in ("ca", "us")):
        raise invalid(f"Invalid Contact Information: {role} state is required")
    if not _PHONE.match(contact["phone"]):
        raise invalid(f"Invalid Contact Information: {role} phone must look like +1.4165550123")
    if not _EMAIL.match(contact["email"]):
        raise invalid(f"Invalid Contact Information: {role} email is not an address")
    return contact


def _contacts(call: Call, tld: str) -> dict[str, dict[str, str]]:
    given = call.attrs.get("contact_set")
    if not isinstance(given, Mapping):
        raise invalid("Invalid contact_set: expected owner, admin and billing contacts")
    roles = ["owner", "admin", "billing"] + (["tech"] if call.flag("custom_tech_contact") else [])
    found = {role: _contact(role, given.get(role), tld) for role in roles}
    found.setdefault("tech", dict(RESELLER_TECH))
    return found


def settle(call: Call, price: Decimal, **order: Any) -> tuple[dict[str, Any], str | None]:
    """Record the order and pay it now when ``handle=process`` and the balance covers it;
    the second value says why it was pended instead (None when it was paid)."""
    handle = call.text("handle", "process") or "process"
    if handle not in ("process", "save"):
        raise invalid(f"Invalid handle: {handle}")
    if handle == "save":
        return call.store.new_order(status="pending", amount=str(price), **order), "saved"
    if call.store.balance() < price:
        why = f"insufficient funds: the balance is {call.store.balance()} CAD, needs {price}"
        return call.store.new_order(status="pending", amount=str(price), reason=why, **order), why
    call.store.charge(price)
    return call.store.new_order(status="completed", amount=str(price), **order), None


def _profile(call: Call, username: str, password: str) -> dict[str, Any]:
    if not _USERNAME.match(username):
        raise invalid("Invalid reg_username: 3-20 characters, letters and digits only")
    if not _PASSWORD.match(password):
        raise invalid("Invalid reg_password: 10-20 characters (A-Z a-z 0-9 !@$^,.~|=-+_{}#)")
    profile: dict[str, Any] = call.store.profiles().get(username) or {
        "password": password,
        "domains": [],
        "created": stamp(call.now),
    }
    if profile["password"] != password:
        raise XcpFault(415, "Authentication Error: wrong password for the profile " + username)
    return profile


def sw_register(call: Call) -> Reply:
    call.require(*REQUIRED)
    reg_type = call.text("reg_type")
    if reg_type == "transfer":
        raise XcpFault(487, "Domain not transferable: the sandbox registry runs no transfers")
    if reg_type != "new":
        raise invalid(f"Invalid reg_type: {reg_type}")
    domain = checked_domain(call)
    period = call.number("period", 1, 1, 10)
    username, password = call.text("reg_username"), call.text("reg_password")
    tld = domain.rsplit(".", 1)[1]
    contacts = _contacts(call, tld)
    nameservers = _nameserver_list(call)
    auto_renew, lock = call.flag("auto_renew"), call.flag("f_lock_domain")
    profile = _profile(call, username, password)
    if call.store.registry_taken(domain):
        order = call.store.new_order(
            domain=domain, type="new", period=period, status="pending", reason="Domain taken"
        )
        raise XcpFault(485, "Domain taken", {"forced_pending": order["id"]})
    unit = call.store.price(domain, "new")
    assert unit is not None
    order, pended = settle(call, unit * period, domain=domain, type="new", period=period)
    if pended is not None:
        attributes = {"id": order["id"], "registration_text": f"Order pended: {pended}"}
        if pended != "saved":
            attributes.update(forced_pending=order["id"], registration_code="440")
        return Reply(attributes=attributes)
    now = stamp(call.now)
    call.store.domains()[domain] = {
        "name": domain,
        "profile": username,
        "created": now,
        "updated": now,
        "expires": add_years(now, period),
        "nameservers": nameservers,
        "auto_renew": auto_renew,
        "let_expire": False,
        "lock": lock,
        "whois_privacy": call.flag("f_whois_privacy"),
        "contacts": contacts,
        "order_id": order["id"],
    }
    profile["domains"] = sorted({*profile["domains"], domain})
    call.store.profiles()[username] = profile
    call.store.mark_dirty()
    return Reply(
        200,
        "Registration successful",
        {
            "id": order["id"],
            "registration_code": "200",
            "registration_text": "Domain registration successfully completed.",
            "admin_email": contacts["admin"]["email"],
        },
    )

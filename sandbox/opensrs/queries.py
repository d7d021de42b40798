"""The read-only calls: LOOKUP, NAME_SUGGEST, GET_PRICE and GET_BALANCE.

None of them needs a domain of the reseller's; they consult the registry (pre-taken
names plus what the reseller holds), the price table and the balance. LOOKUP of a taken
name still succeeds (``is_success=1``, code 211); GET_PRICE of a TLD the reseller does
not sell is code 400, as OpenSRS answers when it finds no price.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.opensrs.wire import Call, Reply, XcpFault, checked_domain, invalid

#: NAME_SUGGEST's "suggestion" service: stems around the search string, in this order
PREFIXES = ("get", "try", "my", "the")
SUFFIXES = ("app", "hq", "online", "labs")
DEFAULT_TLDS = (".com", ".net", ".org")
SERVICES = ("lookup", "suggestion", "premium", "personal_names")


def lookup(call: Call) -> Reply:
    call.require("domain")
    domain = checked_domain(call)
    if call.store.registry_taken(domain):
        return Reply(211, "Domain taken", {"status": "taken", "price_status": "undef"})
    return Reply(210, "Domain available", {"status": "available", "price_status": "undef"})


def _status(call: Call, domain: str) -> str:
    return "taken" if call.store.registry_taken(domain) else "available"


def _list(call: Call, name: str, default: tuple[str, ...]) -> list[str]:
    value = call.attrs.get(name)
    if value is None or value == "":
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"Invalid {name}: expected an array of strings")
    return [v.strip().lower() for v in value if v.strip()]


def _block(items: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "count": str(len(items)),
        "is_success": "1",
        "response_code": "200",
        "response_text": "Command completed successfully",
        "items": items,
    }


def name_suggest(call: Call) -> Reply:
    call.require("searchstring")
    search = call.text("searchstring").lower()
    stem = search.split(".", 1)[0]
    stem = "".join(ch for ch in stem if ch.isalnum() or ch == "-").strip("-")
    if not stem:
        raise invalid("Invalid searchstring")
    services = _list(call, "services", ("lookup", "suggestion"))
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        raise invalid(f"Invalid service: {unknown[0]}")
    tlds = ["." + t.lstrip(".") for t in _list(call, "tlds", DEFAULT_TLDS)]
    sold = [t for t in tlds if call.store.price("x" + t, "new") is not None]
    maximum = call.number("maximum", 25, 1, 100)
    attributes: dict[str, Any] = {}
    if "lookup" in services:
        names = [stem + tld for tld in sold][:maximum]
        attributes["lookup"] = _block([{"domain": d, "status": _status(call, d)} for d in names])
    if "suggestion" in services:
        stems = [p + stem for p in PREFIXES] + [stem + s for s in SUFFIXES]
        names = [s + tld for s in stems for tld in sold][:maximum]
        attributes["suggestion"] = _block(
            [{"domain": d, "status": _status(call, d)} for d in names]
        )
    for service in ("premium", "personal_names"):
        if service in services:
            attributes[service] = _block([])
    return Reply(attributes=attributes)


def get_price(call: Call) -> Reply:
    call.require("domain")
    domain = call.text("domain").lower().rstrip(".")
    reg_type = call.text("reg_type", "new") or "new"
    if reg_type not in ("new", "renewal", "transfer", "trade"):
        raise invalid(f"Invalid reg_type: {reg_type}")
    period = call.number("period", 1, 1, 10)
    tld = domain.rsplit(".", 1)[-1]
    if call.store.price(domain, "new") is None:
        raise XcpFault(400, f"Unable to get price: no price found for TLD .{tld}")
    checked_domain(call, domain)
    unit = call.store.price(domain, "transfer" if reg_type == "trade" else reg_type)
    assert unit is not None
    price = unit * (1 if reg_type in ("transfer", "trade") else period)
    attributes: dict[str, Any] = {"price": str(price), "is_registry_premium": "0"}
    if call.flag("all_periods") and reg_type in ("new", "renewal"):
        attributes["prices"] = {str(y): str(unit * y) for y in range(1, 11)}
    return Reply(attributes=attributes)


def get_balance(call: Call) -> Reply:
    return Reply(attributes={"balance": call.store.settings.balance, "hold_balance": "0.00"})

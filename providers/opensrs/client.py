"""A small, thread-safe client of the OpenSRS XCP API: typed calls, typed answers.

Drivers and the CLI speak in method calls (``lookup``, ``suggest``, ``price``,
``register``, ``renew``, ``info``...) and get dataclasses back, or the typed errors of
``vibn.providers.errors`` carrying OpenSRS's ``response_text`` and ``response_code``
(see ``transport`` for signing, retries and which calls are never resent). Money is
``Decimal`` in CAD, the reseller's cost; dates are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from vibn.providers.errors import AuthError, InvalidError, NotFoundError, ProviderError, QuotaError
from vibn.providers.opensrs.transport import (
    PROVIDER,
    Reply,
    RetryPolicy,
    XcpTransport,
    int_or_zero,
    refusal,
    response_code,
)

__all__ = [
    "Availability",
    "Contact",
    "DomainInfo",
    "OpenSrsClient",
    "Renewal",
    "RetryPolicy",
    "Suggestion",
    "response_code",
]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Contact:
    """An owner, admin or billing contact (``phone`` as ``+1.4165550123``, ISO country)."""

    first_name: str
    last_name: str
    org_name: str
    address1: str
    city: str
    state: str
    country: str
    postal_code: str
    phone: str
    email: str

    def wire(self) -> dict[str, str]:
        return {**asdict(self), "address2": "", "address3": "", "fax": ""}


@dataclass(frozen=True)
class Availability:
    domain: str
    available: bool
    #: 210 available, 211 taken, 221 taken with a registration pending
    code: int


@dataclass(frozen=True)
class Suggestion:
    domain: str
    available: bool
    #: ``available``, ``taken`` or ``in_progress``
    status: str
    #: the NAME_SUGGEST service that found it: ``lookup`` or ``suggestion``
    source: str


@dataclass(frozen=True)
class DomainInfo:
    """A domain the reseller holds (GET ``all_info``); dates in UTC."""

    domain: str
    created: datetime
    expires: datetime
    auto_renew: bool
    let_expire: bool
    nameservers: tuple[str, ...]


@dataclass(frozen=True)
class Renewal:
    order_id: str
    expires: datetime | None


def parse_date(text: str) -> datetime:
    """An OpenSRS ``YYYY-MM-DD HH:MM:SS`` (or ``YYYY-MM-DD``) date, as UTC."""
    text = text.strip()
    fmt = DATE_FORMAT if " " in text else "%Y-%m-%d"
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ProviderError(PROVIDER, f"unreadable date {text!r} in a reply") from exc


def _host(name: str) -> str:
    return name.strip().lower().rstrip(".")


class OpenSrsClient:
    """The XCP calls vibn makes, as the reseller ``username`` signing with ``key``."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        key: str,
        *,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = httpx.Timeout(60.0, connect=10.0),
    ) -> None:
        self._xcp = XcpTransport(endpoint, username, key, http=http, retry=retry, timeout=timeout)
        self.url = self._xcp.url

    def close(self) -> None:
        self._xcp.close()

    def __enter__(self) -> OpenSrsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------------------

    def lookup(self, domain: str) -> Availability:
        reply = self._xcp.call("LOOKUP", "DOMAIN", {"domain": domain}, resource=domain)
        if reply.code not in (210, 211, 221):
            raise ProviderError(PROVIDER, f"LOOKUP answered {reply.code} {reply.text}")
        return Availability(domain, reply.code == 210, reply.code)

    def suggest(self, name: str, tlds: Sequence[str], maximum: int = 10) -> list[Suggestion]:
        """Exact matches of ``name`` in ``tlds`` (``com`` or ``.com``), then suggestions."""
        attributes = {
            "searchstring": name,
            "services": ["lookup", "suggestion"],
            "tlds": ["." + t.strip().lstrip(".") for t in tlds],
            "maximum": maximum,
        }
        reply = self._xcp.call("NAME_SUGGEST", "DOMAIN", attributes, resource=name)
        found: dict[str, Suggestion] = {}
        for service in ("lookup", "suggestion"):
            block = reply.attributes.get(service)
            if not isinstance(block, Mapping):
                continue
            if block.get("is_success") != "1":
                code, text = int_or_zero(block.get("response_code")), block.get("response_text")
                raise refusal(Reply(code, str(text or ""), {}), f"NAME_SUGGEST {service}", name)
            for item in block.get("items") or []:
                domain, status = str(item.get("domain", "")), str(item.get("status", ""))
                if domain and domain not in found:
                    found[domain] = Suggestion(domain, status == "available", status, service)
        return list(found.values())[:maximum]

    def price(self, domain: str, period: int = 1, reg_type: str = "new") -> Decimal:
        """The reseller's cost in CAD of ``reg_type`` (``new``, ``renewal``, ``transfer``)
        for ``period`` years; InvalidError when OpenSRS has no price (code 400)."""
        attributes = {"domain": domain, "period": period, "reg_type": reg_type}
        reply = self._xcp.call(
            "GET_PRICE", "DOMAIN", attributes, resource=domain, refusals={400: InvalidError}
        )
        return _money(reply.attributes.get("price"), "GET_PRICE price")

    def balance(self) -> Decimal:
        reply = self._xcp.call("GET_BALANCE", "DOMAIN", {}, resource="reseller balance")
        return _money(reply.attributes.get("balance"), "GET_BALANCE balance")

    def info(self, domain: str) -> DomainInfo | None:
        """The domain as the reseller account holds it; None when it holds no such domain."""
        try:
            reply = self._xcp.call(
                "GET", "DOMAIN", {"type": "all_info"}, resource=domain, domain=domain
            )
        except NotFoundError:
            return None
        a = reply.attributes
        listed = [ns for ns in a.get("nameserver_list") or [] if isinstance(ns, Mapping)]
        listed.sort(key=lambda ns: int_or_zero(ns.get("sortorder")))
        return DomainInfo(
            domain=domain,
            created=parse_date(str(a.get("registry_createdate") or "")),
            expires=parse_date(str(a.get("registry_expiredate") or a.get("expiredate") or "")),
            auto_renew=a.get("auto_renew") == "1",
            let_expire=a.get("let_expire") == "1",
            nameservers=tuple(_host(str(ns.get("name", ""))) for ns in listed),
        )

    def profile_holds(self, domain: str, profile_user: str, profile_password: str) -> bool:
        """Whether the end-user profile holds ``domain`` (SET COOKIE succeeds)."""
        attributes = {
            "domain": domain,
            "reg_username": profile_user,
            "reg_password": profile_password,
        }
        try:
            self._xcp.call("SET", "COOKIE", attributes, resource=domain)
        except AuthError:
            return False
        return True

    # --- changing -----------------------------------------------------------------------

    def register(
        self,
        domain: str,
        period: int,
        nameservers: Sequence[str],
        auto_renew: bool,
        profile_user: str,
        profile_password: str,
        contacts: Contact | Mapping[str, Contact],
        *,
        lock: bool = True,
    ) -> str:
        """Register ``domain`` now (SW_REGISTER new, ``handle=process``); the order id.

        ``contacts`` is one contact for owner, admin and billing, or one per role; the
        tech contact is the reseller's. A pended order (the reseller balance cannot
        pay) raises QuotaError naming the order."""
        if isinstance(contacts, Contact):
            contacts = dict.fromkeys(("owner", "admin", "billing"), contacts)
        attributes = {
            "domain": domain,
            "reg_type": "new",
            "period": period,
            "handle": "process",
            "reg_username": profile_user,
            "reg_password": profile_password,
            "auto_renew": auto_renew,
            "f_lock_domain": lock,
            "custom_tech_contact": 0,
            "custom_nameservers": 1,
            "nameserver_list": [
                {"name": ns, "sortorder": i} for i, ns in enumerate(nameservers, start=1)
            ],
            "contact_set": {role: c.wire() for role, c in contacts.items()},
        }
        reply = self._xcp.call("SW_REGISTER", "DOMAIN", attributes, resource=domain, resend=False)
        _refuse_pended(reply, "SW_REGISTER", domain)
        return str(reply.attributes.get("id") or "")

    def renew(
        self, domain: str, current_expiry_year: int, period: int, auto_renew: bool
    ) -> Renewal:
        """Add ``period`` years (RENEW, ``handle=process``); the year must be the
        registry's current expiry year."""
        attributes = {
            "domain": domain,
            "currentexpirationyear": current_expiry_year,
            "period": period,
            "handle": "process",
            "auto_renew": auto_renew,
        }
        reply = self._xcp.call("RENEW", "DOMAIN", attributes, resource=domain, resend=False)
        _refuse_pended(reply, "RENEW", domain)
        expires = reply.attributes.get("registration expiration date")
        return Renewal(
            str(reply.attributes.get("order_id") or reply.attributes.get("id") or ""),
            parse_date(expires) if isinstance(expires, str) and expires else None,
        )

    def set_nameservers(self, domain: str, nameservers: Sequence[str]) -> None:
        """Replace the whole name-server set (ADVANCED_UPDATE_NAMESERVERS ``assign``)."""
        attributes = {"domain": domain, "op_type": "assign", "assign_ns": list(nameservers)}
        self._xcp.call("ADVANCED_UPDATE_NAMESERVERS", "DOMAIN", attributes, resource=domain)

    def set_auto_renew(self, domain: str, on: bool) -> None:
        """MODIFY ``expire_action``: renew automatically, or expire normally."""
        attributes = {"data": "expire_action", "auto_renew": on, "let_expire": 0}
        self._xcp.call("MODIFY", "DOMAIN", attributes, resource=domain, domain=domain)


def _refuse_pended(reply: Reply, action: str, domain: str) -> None:
    """A "successful" reply carrying ``forced_pending`` was pended, not done (the official
    toolkit turns it into a failure too): most often the reseller balance cannot pay."""
    pended = reply.attributes.get("forced_pending")
    if pended:
        why = reply.attributes.get("registration_text") or "the order was pended"
        raise QuotaError(
            PROVIDER,
            f"{action} was pended as order {pended}: {why}",
            resource=domain,
            details={"response_code": reply.code, "forced_pending": str(pended)},
        )


def _money(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ProviderError(PROVIDER, f"{what} is not a number: {value!r}") from exc

"""What the OpenSRS handlers trade in: one parsed call, its reply, and refusals.

Every reply is the same ``dt_assoc`` (``protocol=XCP``, ``action=REPLY``, the request's
``object``, ``is_success``, ``response_code``, ``response_text``, optional
``attributes``), answered with HTTP 200: OpenSRS reports application errors inside the
XML, never in the status line. A handler returns a ``Reply`` or raises ``XcpFault``;
``missing`` (460), ``invalid`` (465) and the domain checks give the documented codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from vibn.sandbox.opensrs import ops
from vibn.sandbox.opensrs.store import OpenSrsStore, valid_hostname

OK_TEXT = "Command completed successfully"


@dataclass
class Reply:
    code: int = 200
    text: str = OK_TEXT
    attributes: Mapping[str, Any] | None = None
    success: bool = True


class XcpFault(Exception):
    """A refused call: ``is_success=0`` with ``code`` and ``text``."""

    def __init__(self, code: int, text: str, attributes: Mapping[str, Any] | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.attributes = attributes

    def reply(self) -> Reply:
        return Reply(self.code, self.text, self.attributes, success=False)


@dataclass
class Call:
    """One authenticated request: ``action``/``object`` upper-cased, its attributes."""

    action: str
    object: str
    request: Mapping[str, Any]
    store: OpenSrsStore
    now: float
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        value = self.attrs.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def flag(self, name: str, default: bool = False) -> bool:
        """A ``0``/``1`` attribute (465 for anything else)."""
        value = self.text(name)
        if value == "":
            return default
        if value not in ("0", "1"):
            raise invalid(f"Invalid value for {name}: {value!r} (expected 0 or 1)")
        return value == "1"

    def number(self, name: str, default: int, low: int, high: int) -> int:
        value = self.text(name)
        if value == "":
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            raise invalid(f"Invalid {name}: {value!r} (expected {low} to {high})")
        return int(value)

    def require(self, *names: str) -> None:
        for name in names:
            value = self.attrs.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise missing(name)

    def target(self) -> str:
        """The domain a call names: ``domain`` (attribute or top level), else its ``cookie``."""
        value = self.attrs.get("domain") or self.request.get("domain")
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
        cookie = self.request.get("cookie")
        if not isinstance(cookie, str) or not cookie:
            raise missing("domain")
        session = self.store.table("cookies").get(cookie)
        if session is None:
            raise XcpFault(415, "Authentication Error: the cookie is unknown or expired")
        return str(session["domain"])

    def held(self) -> dict[str, Any]:
        """The reseller's record of the call's domain (480 when it holds no such domain)."""
        name = self.target()
        record = self.store.domain(name)
        if record is None:
            raise XcpFault(480, f"Domain {name} not found in the reseller's account")
        return record


def missing(name: str) -> XcpFault:
    return XcpFault(460, f"Missing required attribute: {name}")


def invalid(text: str) -> XcpFault:
    return XcpFault(465, text)


def checked_domain(call: Call, name: str | None = None) -> str:
    """A second-level domain of a TLD the reseller sells (465 otherwise)."""
    raw = name if name is not None else call.text("domain")
    if not raw:
        raise missing("domain")
    domain = raw.lower().rstrip(".")
    if not valid_hostname(domain) or domain.count(".") != 1:
        raise invalid("Invalid domain syntax")
    if call.store.price(domain, "new") is None:
        raise invalid(f"Invalid domain syntax: TLD .{domain.rsplit('.', 1)[1]} is not supported")
    return domain


def document(object_: str, reply: Reply) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "protocol": "XCP",
        "action": "REPLY",
        "object": object_,
        "is_success": "1" if reply.success else "0",
        "response_code": str(reply.code),
        "response_text": reply.text,
    }
    if reply.attributes is not None:
        doc["attributes"] = reply.attributes
    return doc


def respond(object_: str, reply: Reply) -> Response:
    """The HTTP response: status 200, ``text/xml``, with ``Content-Length``."""
    return Response(ops.render(document(object_, reply)), 200, media_type="text/xml")

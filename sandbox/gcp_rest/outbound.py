"""Delivering a job's or task's HTTP request to its target, as Google would.

Cloud Scheduler and Cloud Tasks both push an HTTP request built from a stored
target: the user's headers minus the ones Google computes or reserves, its own
``User-Agent``, an ``Authorization`` header when an OIDC or OAuth token is
configured, and metadata headers of the service. The sandbox cannot mint
Google-signed tokens, so an OIDC token here is an *unsigned* JWT (``alg:
none``) with the claims Google would put in it: a handler that verifies
signatures must refuse it, one that only reads claims can be tested.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from vibn.sandbox.gcp_rest.errors import CODES, rpc_code_for_http

_RESERVED = ("host", "content-length", "user-agent", "x-google-", "x-appengine-")
_tls: ssl.SSLContext | None = None


@dataclass(frozen=True)
class Outbound:
    """One HTTP request to a target."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


@dataclass(frozen=True)
class Delivery:
    """What came of it: the HTTP status, or why there was none."""

    status: int | None
    error: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def rpc_status(self) -> dict[str, Any]:
        """As google.rpc.Status (``{}`` for success), the way ``Job.status`` reports it."""
        if self.status is not None:
            code = rpc_code_for_http(self.status)
            return {"code": code} if code else {}
        timed_out = self.error.startswith("DEADLINE_EXCEEDED")
        code = CODES["DEADLINE_EXCEEDED" if timed_out else "UNAVAILABLE"][1]
        return {"code": code, "message": self.error}

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "seconds": round(self.seconds, 3)}


def _b64url(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unsigned_oidc_token(email: str, audience: str, now: float) -> str:
    """An OIDC-shaped JWT with Google's claims and no signature (``alg: none``)."""
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "azp": email,
        "email": email,
        "email_verified": True,
        "sub": email,
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}."


def target_headers(
    user: Mapping[str, str],
    url: str,
    auth: Mapping[str, Any],
    service_headers: Mapping[str, str],
    now: float,
) -> dict[str, str]:
    """The headers a target receives: the user's (reserved ones dropped) and Google's."""
    headers = {k: v for k, v in user.items() if not k.lower().startswith(_RESERVED)}
    headers.update(service_headers)
    oidc, oauth = auth.get("oidcToken"), auth.get("oauthToken")
    if isinstance(oidc, Mapping):
        audience = str(oidc.get("audience") or url)
        email = str(oidc.get("serviceAccountEmail", ""))
        headers["Authorization"] = "Bearer " + unsigned_oidc_token(email, audience, now)
    elif isinstance(oauth, Mapping):
        headers["Authorization"] = "Bearer ya29.sandbox-unsigned-access-token"
    return headers


def _tls_context() -> ssl.SSLContext:
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context()
    return _tls


async def deliver(request: Outbound) -> Delivery:
    """Send ``request``; never raises for network trouble (it is the outcome)."""
    start = time.monotonic()
    try:
        async with httpx.AsyncClient(
            trust_env=False, follow_redirects=True, timeout=request.timeout, verify=_tls_context()
        ) as client:
            resp = await client.request(
                request.method, request.url, headers=request.headers, content=request.body or None
            )
    except httpx.TimeoutException as exc:
        return Delivery(None, f"DEADLINE_EXCEEDED: {exc!r}", time.monotonic() - start)
    except httpx.HTTPError as exc:
        return Delivery(None, f"UNAVAILABLE: {exc!r}", time.monotonic() - start)
    return Delivery(resp.status_code, "", time.monotonic() - start)

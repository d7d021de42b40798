"""The XCP transport: sign, POST, retry, and turn refusals into typed errors.

Every OpenSRS call is an OPS envelope POSTed to the endpoint's ``/`` with the reseller's
``X-Username`` and an ``X-Signature`` over the exact body (``xcp``). OpenSRS answers HTTP
200 and puts success or failure in the XML (``is_success``, ``response_code``,
``response_text``); a refusal becomes the ``vibn.providers.errors`` exception for its
code, carrying OpenSRS's text and code (``details["response_code"]``).

Transient faults (timeouts, connection failures, HTTP 429 and 5xx, and OpenSRS's codes
300/310 "limit reached" and 705 "timed out, resubmit") are retried with tenacity:
exponential backoff with jitter, ``sleep`` injectable. A call that spends money
(``resend=False``: SW_REGISTER, RENEW) is resent only when it cannot have been acted on:
the connection was never made, or OpenSRS itself answered 300/310/705. After an unknown
outcome (a read timeout, a 5xx) it raises ``TransientError`` at once, and the next apply
finds out what the registrar holds, so a domain is never bought twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    ProviderError,
    QuotaError,
    TransientError,
)
from vibn.providers.opensrs import xcp
from vibn.providers.retry import RetryPolicy as RetryPolicy  # re-exported for callers
from vibn.providers.retry import retrying

PROVIDER = "opensrs"
#: OpenSRS's "try again" codes: rate limit, connection limit, registry timeout
TRANSIENT_CODES = frozenset({300, 310, 705})
ERRORS: Mapping[int, type[ProviderError]] = {
    401: AuthError,
    410: AuthError,
    415: AuthError,
    480: NotFoundError,
    221: ConflictError,
    437: ConflictError,
    485: ConflictError,
    486: ConflictError,
    555: ConflictError,
    430: InvalidError,
    435: InvalidError,
    460: InvalidError,
    465: InvalidError,
    487: InvalidError,
    440: QuotaError,
    **dict.fromkeys(TRANSIENT_CODES, TransientError),
}


#: a registrar: patient, as Coolify; OpenSRS sends no ``Retry-After``
DEFAULT_RETRY = RetryPolicy(attempts=5, initial=0.5, maximum=8.0)


@dataclass(frozen=True)
class Reply:
    """A successful reply (``is_success=1``, or 220 "no changes were made")."""

    code: int
    text: str
    attributes: Mapping[str, Any]


class _Retry(Exception):
    """One attempt failed in a way that may be sent again; ``error`` if retries run out."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


def response_code(error: BaseException) -> int | None:
    """The OpenSRS ``response_code`` an error carries (None for transport failures)."""
    details = getattr(error, "details", None)
    code = details.get("response_code") if isinstance(details, Mapping) else None
    return code if isinstance(code, int) else None


class XcpTransport:
    """Signed XCP calls to one endpoint as one reseller. Safe to share between threads."""

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
        self.url = endpoint.rstrip("/") + "/"
        self._username = username
        self._key = key
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._retry = retry or DEFAULT_RETRY

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def call(
        self,
        action: str,
        object_: str,
        attributes: Mapping[str, Any],
        *,
        resource: str,
        resend: bool = True,
        refusals: Mapping[int, type[ProviderError]] | None = None,
        **top: Any,
    ) -> Reply:
        body = xcp.request(action, object_, attributes, **top)
        headers = {
            "Content-Type": "text/xml",
            "X-Username": self._username,
            "X-Signature": xcp.signature(body, self._key),
        }
        tries = retrying(self._retry, lambda exc: isinstance(exc, _Retry))
        try:
            reply: Reply = tries(
                self._once, action, body, headers, resource, resend, refusals or {}
            )
        except _Retry as exhausted:
            raise exhausted.error from exhausted
        return reply

    def _once(
        self,
        action: str,
        body: bytes,
        headers: Mapping[str, str],
        resource: str,
        resend: bool,
        refusals: Mapping[int, type[ProviderError]],
    ) -> Reply:
        """One POST: the reply, or ``_Retry`` when it may be sent again, or the error."""
        where = f"{action} {resource}"
        try:
            response = self._http.post(self.url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retry(TransientError(PROVIDER, f"{where}: cannot connect: {exc}")) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            unknown = TransientError(PROVIDER, f"{where}: no answer (outcome unknown): {exc}")
            if resend:
                raise _Retry(unknown) from exc
            raise unknown from exc
        if response.status_code != 200:
            error: ProviderError = _http_error(where, response)
            if response.status_code == 429 or (resend and isinstance(error, TransientError)):
                raise _Retry(error)
            raise error
        try:
            doc = xcp.decode(response.content)
        except xcp.XcpFormatError as exc:
            raise ProviderError(PROVIDER, f"{where}: unreadable reply: {exc}") from exc
        if not isinstance(doc, Mapping):
            raise ProviderError(PROVIDER, f"{where}: the reply is not a dt_assoc")
        attributes = doc.get("attributes")
        reply = Reply(
            int_or_zero(doc.get("response_code")),
            str(doc.get("response_text") or ""),
            attributes if isinstance(attributes, Mapping) else {},
        )
        # 220 "no changes were made" is a success whatever is_success says
        if doc.get("is_success") == "1" or reply.code == 220:
            return reply
        error = refusal(reply, action, resource, refusals)
        if reply.code in TRANSIENT_CODES:
            raise _Retry(error)
        raise error


def refusal(
    reply: Reply,
    action: str,
    resource: str,
    refusals: Mapping[int, type[ProviderError]] | None = None,
) -> ProviderError:
    """The typed error for a refused call, in OpenSRS's words and with its code."""
    kind = (refusals or {}).get(reply.code) or ERRORS.get(reply.code, ProviderError)
    return kind(
        PROVIDER,
        f"{action}: {reply.text} (response code {reply.code})",
        resource=resource,
        details={
            "response_code": reply.code,
            "response_text": reply.text,
            "attributes": dict(reply.attributes),
        },
    )


def _http_error(where: str, response: httpx.Response) -> ProviderError:
    status = response.status_code
    message = f"{where}: HTTP {status} {response.reason_phrase}"
    if status >= 500:
        return TransientError(PROVIDER, message, status=status)
    if status == 429:
        return QuotaError(PROVIDER, message, status=status)
    if status in (401, 403):
        return AuthError(PROVIDER, message + " (is this IP allow-listed?)", status=status)
    return ProviderError(PROVIDER, message, status=status)


def int_or_zero(value: Any) -> int:
    """A numeric string as an int (0 when it is not one)."""
    try:
        return int(str(value).strip())
    except ValueError:
        return 0

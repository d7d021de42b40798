"""AWS Signature Version 4 checking, as the SES endpoint does it before anything else.

A fake that accepts unsigned or wrongly scoped requests would let a client bug (no
credentials, the wrong region, a non-Canadian endpoint) through to production, so every
API request must carry ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
ses/aws4_request, SignedHeaders=..., Signature=...`` and an ``X-Amz-Date``. The checks
run in AWS's order and answer with AWS's codes (all HTTP 403): no header is
``MissingAuthenticationTokenException``; a header missing a part is
``IncompleteSignatureException``; a scope naming another service or region, a date more
than 15 minutes off, or a signature that does not match is ``InvalidSignatureException``;
an access key the endpoint does not know is ``UnrecognizedClientException``.

The signature is recomputed from the request bytes following the SigV4 specification
(canonical request, string to sign, HMAC-SHA256 key chain), written here rather than
borrowed from botocore so that the client's signer is checked by an independent
implementation. The signing date is compared with the machine's clock, never the
emulator's (tests move that one by days).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from vibn.sandbox.ses.wire import SesError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "ses"
SKEW_SECONDS = 15 * 60
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Signed:
    """What the SigV4 check needs of one HTTP request (bytes as they came on the wire)."""

    method: str
    raw_path: str
    query_string: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


def _fail(code: str, message: str) -> SesError:
    return SesError(code, message, 403)


def _parts(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for piece in value.split(","):
        key, sep, val = piece.strip().partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def parse(request: Signed) -> tuple[list[str], list[str], str, str]:
    """``(scope parts, signed headers, signature, amz date)`` or the 403 AWS gives."""
    auth = request.header("authorization")
    if not auth:
        raise _fail("MissingAuthenticationTokenException", "Missing Authentication Token")
    scheme, _, rest = auth.strip().partition(" ")
    parts = _parts(rest) if scheme == ALGORITHM else {}
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not parts.get(name)
    ]
    date = request.header("x-amz-date")
    if not date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a")
        missing[-1] += " 'Date' header."
    if missing:
        raise _fail("IncompleteSignatureException", " ".join(missing) + f" Authorization={auth}")
    assert date is not None
    credential = parts["Credential"]
    scope = credential.split("/")
    if len(scope) != 5:
        raise _fail(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'",
        )
    if scope[4] != "aws4_request":
        raise _fail(
            "IncompleteSignatureException",
            f"Credential should be scoped with a valid terminator: 'aws4_request', not "
            f"'{scope[4]}'.",
        )
    return scope, parts["SignedHeaders"].lower().split(";"), parts["Signature"], date.strip()


def canonical_request(request: Signed, signed_headers: Sequence[str]) -> str:
    """The SigV4 canonical request. The URI is encoded once more over its wire form
    (every AWS service but S3 signs it so) and the query is sorted and re-encoded."""
    uri = quote(request.raw_path or "/", safe="/~")
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    query = "&".join(
        f"{k}={v}"
        for k, v in sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    )
    headers = "".join(
        f"{name}:{' '.join((request.header(name) or '').split())}\n" for name in signed_headers
    )
    payload = request.header("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    return "\n".join(
        [request.method.upper(), uri, query, headers, ";".join(signed_headers), payload]
    )


def signature(secret: str, date: str, region: str, string_to_sign: str) -> str:
    key = f"AWS4{secret}".encode()
    for part in (date, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _check_time(amz_date: str, now: float) -> None:
    try:
        signed_at = datetime.strptime(amz_date, _STAMP).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise _fail(
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.",
        ) from None

    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime(_STAMP)

    if signed_at < now - SKEW_SECONDS:
        raise _fail(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {stamp(now - SKEW_SECONDS)} "
            f"({stamp(now)} - 15 min.)",
        )
    if signed_at > now + SKEW_SECONDS:
        raise _fail(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than "
            f"{stamp(now + SKEW_SECONDS)} ({stamp(now)} + 15 min.)",
        )


def verify(
    request: Signed, *, region: str, access_key: str, secret: str, now: float | None = None
) -> None:
    """Accept a request correctly signed for ``ses`` in ``region`` with this key pair,
    or raise the ``SesError`` AWS answers with."""
    scope, signed_headers, given, amz_date = parse(request)
    key_id, date, scope_region, service, _ = scope
    if service != SERVICE:
        raise _fail(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
        )
    if scope_region != region:
        raise _fail(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{scope_region}'.",
        )
    if date != amz_date[:8]:
        raise _fail(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    _check_time(amz_date, time.time() if now is None else now)
    if key_id != access_key:
        raise _fail(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    if "host" not in signed_headers:
        raise _fail(
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    canonical = canonical_request(request, signed_headers)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join([ALGORITHM, amz_date, f"{date}/{region}/{SERVICE}/aws4_request", digest])
    expected = signature(secret, date, region, to_sign)
    if not hmac.compare_digest(expected, given):
        raise _fail(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
        )

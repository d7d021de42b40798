"""SES SMTP credentials derived from an IAM key pair, for apps that send over SMTP.

An app sends mail through ``email-smtp.<region>.amazonaws.com`` with the IAM access key
id as the user name and a password derived from the secret access key. The derivation
is AWS's documented one ("Obtaining Amazon SES SMTP credentials by converting existing
AWS credentials"): the SigV4 signing-key chain over the fixed date ``11111111``, the
region, ``ses`` and ``aws4_request``, one more HMAC over ``SendRawEmail``, the version
byte ``0x04`` in front, base64. A password is only valid in the region it was made for,
so the region is residency-checked like every other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from vibn.specs.model import AWS_REGIONS

_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"
SMTP_PORT = 587


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def derive_smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password for ``secret_access_key`` in any region (no residency check;
    ``smtp_password`` is what vibn calls)."""
    key = _sign(f"AWS4{secret_access_key}".encode(), _DATE)
    for part in (region, _SERVICE, _TERMINAL):
        key = _sign(key, part)
    return base64.b64encode(_VERSION + _sign(key, _MESSAGE)).decode("ascii")


def _canadian(region: str) -> str:
    if region not in AWS_REGIONS:
        raise ValueError(
            f"SES SMTP region {region!r} is outside Canada; vibn keeps all customer data in "
            f"Canada (allowed: {', '.join(AWS_REGIONS)})"
        )
    return region


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password for a secret access key in a Canadian region."""
    return derive_smtp_password(secret_access_key, _canadian(region))


def smtp_endpoint(region: str) -> str:
    """The SES SMTP host of a Canadian region (STARTTLS on ``SMTP_PORT``)."""
    return f"email-smtp.{_canadian(region)}.amazonaws.com"


SMTP_HOST = smtp_endpoint("ca-central-1")

"""What every AWS driver shares: the Canadian-only client wiring, typed errors, retries.

vibn's absolute rule is that no customer data leaves Canada, and mail content passes
through SES, so the region is chosen here and nowhere else: ``ca-central-1`` unless
configured, and a configured region outside Canada (``AwsSettings.region``, then
``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's ``region``) is refused with
an error naming the setting. Everything else boto3 already reads is left to it
(``AWS_ENDPOINT_URL_SESV2``, ``AWS_ENDPOINT_URL``, ``[services]`` in ``~/.aws/config``,
the credential chain) unless ``AwsSettings`` names it explicitly.

botocore raises ``ClientError`` (and its own connection errors); vibn's reconciler
speaks ``vibn.providers.errors``. ``translate`` maps one to the other keeping AWS's
code and message; ``call`` retries only transient faults (5xx, throttling, connection
failures) with exponential backoff and jitter. boto3's own retries are turned off so
that one policy, with an injectable sleep, decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectTimeoutError as BotoConnectTimeout,
)

from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    ProviderError,
    QuotaError,
    TransientError,
)
from vibn.providers.retry import RetryPolicy as RetryPolicy  # re-exported for the drivers
from vibn.providers.retry import retrying
from vibn.specs.model import AWS_REGIONS

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

T = TypeVar("T")
PROVIDER = "aws"
DEFAULT_REGION = "ca-central-1"


class AwsConfigError(ValueError):
    """AWS settings vibn refuses to use; the message names the setting."""


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS. ``None`` leaves a value to boto3's own lookup (environment,
    ``~/.aws/config``, instance roles), except the region, which vibn always decides."""

    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    #: the 12-digit account, for ARNs vibn writes (the EventBridge bus); not needed to call
    account_id: str | None = None
    #: name of the setting ``region`` came from, for error messages
    region_setting: str = "aws.region"


def _profile_region() -> tuple[str | None, str]:
    """The ``region`` of the active profile in ``~/.aws/config`` (not the environment)."""
    session = botocore.session.Session()
    profile = session.profile or "default"
    try:
        region = session.get_scoped_config().get("region")
    except ProfileNotFound:
        region = None
    return (str(region) if region else None), f"region of AWS profile {profile!r}"


def resolve_region(settings: AwsSettings, environ: Mapping[str, str] | None = None) -> str:
    """The Canadian region to use, or ``AwsConfigError`` naming the non-Canadian setting."""
    env = os.environ if environ is None else environ
    candidates: list[tuple[str | None, str]] = [
        (settings.region, settings.region_setting),
        (env.get("AWS_REGION"), "AWS_REGION"),
        (env.get("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"),
    ]
    for value, source in candidates:
        if value:
            return _canadian(value, source)
    value, source = _profile_region()
    return _canadian(value, source) if value else DEFAULT_REGION


def _canadian(region: str, source: str) -> str:
    region = region.strip()
    if region not in AWS_REGIONS:
        raise AwsConfigError(
            f"{source}={region!r} is outside Canada; vibn keeps all customer data in Canada "
            f"(allowed AWS regions: {', '.join(AWS_REGIONS)}). Set {source} to ca-central-1."
        )
    return region


#: boto3 retries nothing (``call`` does); bounded timeouts so a hung endpoint is a fault
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="vibn",
)


def ses_client(settings: AwsSettings, environ: Mapping[str, str] | None = None) -> SESV2Client:
    """A boto3 ``sesv2`` client in a Canadian region (see the module docstring)."""
    region = resolve_region(settings, environ)
    kwargs: dict[str, Any] = {"region_name": region, "config": CLIENT_CONFIG}
    if settings.endpoint_url:
        kwargs["endpoint_url"] = settings.endpoint_url
    if settings.access_key_id and settings.secret_access_key:
        kwargs["aws_access_key_id"] = settings.access_key_id
        kwargs["aws_secret_access_key"] = settings.secret_access_key
        if settings.session_token:
            kwargs["aws_session_token"] = settings.session_token
    client: SESV2Client = boto3.session.Session().client("sesv2", **kwargs)
    return client


def error_code(exc: BaseException) -> str:
    """AWS's error code of a ``ClientError`` ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) else None


_AUTH_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
}
_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "Throttling"}
_TRANSIENT_TYPES = (
    EndpointConnectionError,
    BotoConnectTimeout,
    ReadTimeoutError,
    ConnectionClosedError,
    ConnectionError,
    TimeoutError,
)


def translate(exc: BaseException, resource: str | None = None) -> ProviderError:
    """The vibn error for a botocore exception, with AWS's code and message."""
    if not isinstance(exc, ClientError):
        if isinstance(exc, NoCredentialsError):
            return AuthError(PROVIDER, str(exc), resource=resource)
        kind = TransientError if isinstance(exc, _TRANSIENT_TYPES) else InvalidError
        return kind(PROVIDER, str(exc), resource=resource)
    code, status = error_code(exc), _status(exc)
    message = f"{code}: {exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    err: type[ProviderError]
    if code == "NotFoundException" or status == 404:
        err = NotFoundError
    elif code == "AlreadyExistsException" or status == 409:
        err = ConflictError
    elif code in _AUTH_CODES or status in (401, 403):
        err = AuthError
    elif code in _THROTTLED or status == 429 or code == "LimitExceededException":
        err = QuotaError
    elif status is not None and status >= 500:
        err = TransientError
    else:
        err = InvalidError
    return err(PROVIDER, message, status=status, resource=resource, details={"code": code})


def transient(exc: BaseException) -> bool:
    """Worth retrying: throttling, 5xx, and connection failures."""
    if isinstance(exc, ClientError):
        status = _status(exc)
        return error_code(exc) in _THROTTLED or status == 429 or (status or 0) >= 500
    return isinstance(exc, _TRANSIENT_TYPES)


def _retry_after(exc: BaseException | None) -> float | None:
    if not isinstance(exc, ClientError):
        return None
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        value = headers.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def call(fn: Callable[[], T], resource: str | None = None, policy: RetryPolicy | None = None) -> T:
    """Run one AWS call, retrying transient faults, raising vibn's typed errors."""
    tries = retrying(policy or RetryPolicy(), transient, _retry_after)
    try:
        return tries(fn)
    except (ClientError, BotoCoreError, ConnectionError, TimeoutError) as exc:
        raise translate(exc, resource) from exc

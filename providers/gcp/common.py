"""What every Google Cloud driver shares: typed errors, transient-fault retries, owner
labels, and the clients' endpoint and credential wiring.

Google's clients raise ``google.api_core.exceptions`` (and google-api-python-client its
``HttpError``); vibn's reconciler speaks ``vibn.providers.errors``. ``translate`` maps
one to the other once, here, keeping the provider's own message and naming the
resource; ``call`` retries only transient faults (5xx, timeouts, 429) with exponential
backoff and jitter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials, Credentials
from googleapiclient.errors import HttpError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from vibn.providers.base import SHARED, Owner
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    ProviderError,
    QuotaError,
    TransientError,
)

T = TypeVar("T")
PROVIDER = "gcp"


@dataclass(frozen=True)
class GcpEndpoints:
    """Where each API answers; ``None`` means Google's public endpoint."""

    project: str
    storage: str | None = None
    scheduler: str | None = None
    tasks: str | None = None
    logging: str | None = None
    anonymous: bool = False

    def credentials(self) -> Credentials | None:
        """Anonymous for emulators; otherwise None (Google's default credential chain)."""
        return AnonymousCredentials() if self.anonymous else None  # type: ignore[no-untyped-call]


def owner_labels(owner: Owner) -> dict[str, str]:
    """GCP labels marking ownership; workspace-shared objects carry no stack label."""
    labels = owner.labels()
    if owner.stack == SHARED:
        labels["vibn-stack"] = "shared"
    return labels


def owner_from_labels(labels: dict[str, str] | None, workspace: str) -> Owner | None:
    labels = labels or {}
    if labels.get("vibn-workspace") != workspace or "vibn-address" not in labels:
        return None
    stack = labels.get("vibn-stack", "")
    return Owner(workspace, SHARED if stack == "shared" else stack, labels["vibn-address"])


def _status_of(exc: BaseException) -> int | None:
    if isinstance(exc, gexc.GoogleAPICallError):
        return int(exc.code) if isinstance(exc.code, int) else None
    if isinstance(exc, HttpError):
        return int(exc.resp.status)
    return None


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, gexc.GoogleAPICallError):
        return str(exc.message)
    if isinstance(exc, HttpError):
        try:
            return str(json.loads(exc.content)["error"]["message"])
        except (ValueError, KeyError, TypeError):
            return exc.reason or str(exc)
    return str(exc)


_TRANSIENT_TYPES = (gexc.ServerError, gexc.DeadlineExceeded, TimeoutError, ConnectionError)


def translate(exc: BaseException, resource: str | None = None) -> ProviderError:
    """The vibn error for a Google client exception (keeps Google's message)."""
    status = _status_of(exc)
    message = _message_of(exc)
    kind: type[ProviderError]
    if isinstance(exc, gexc.NotFound) or status == 404:
        kind = NotFoundError
    elif isinstance(exc, gexc.Conflict | gexc.FailedPrecondition) or status in (409, 412):
        kind = ConflictError
    elif isinstance(exc, gexc.Unauthenticated | gexc.PermissionDenied) or status in (401, 403):
        kind = AuthError
    elif isinstance(exc, gexc.TooManyRequests | gexc.ResourceExhausted) or status == 429:
        kind = QuotaError
    elif (status is not None and status >= 500) or isinstance(exc, _TRANSIENT_TYPES):
        kind = TransientError
    else:
        kind = InvalidError
    return kind(PROVIDER, message, status=status, resource=resource, details=None)


def _transient(exc: BaseException) -> bool:
    status = _status_of(exc)
    if status is not None:
        return status >= 500 or status == 429
    return isinstance(exc, _TRANSIENT_TYPES)


def call(fn: Callable[[], T], resource: str | None = None, *, attempts: int = 4) -> T:
    """Run one API call, retrying transient faults, raising vibn's typed errors."""
    retrying = Retrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(initial=0.2, max=5.0),
        reraise=True,
    )
    try:
        return retrying(fn)
    except ProviderError:
        raise
    except Exception as exc:
        if isinstance(exc, gexc.GoogleAPICallError | HttpError | TimeoutError | ConnectionError):
            raise translate(exc, resource) from exc
        raise


def json_safe(value: Any) -> Any:
    """Plain JSON values (proto-plus and client objects often hold odd types)."""
    return json.loads(json.dumps(value, default=str))

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
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import storage  # type: ignore[attr-defined]
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

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
from vibn.providers.retry import RetryPolicy as RetryPolicy  # re-exported for the drivers
from vibn.providers.retry import retrying

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
    dns: str | None = None
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


#: requests' own connection errors and timeouts (google-cloud-storage and the GAPIC REST
#: transports ride on requests) are not the built-in ``ConnectionError``/``TimeoutError``
_TRANSIENT_TYPES = (
    gexc.ServerError,
    gexc.DeadlineExceeded,
    TimeoutError,
    ConnectionError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


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


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def call(
    fn: Callable[[], T],
    resource: str | None = None,
    *,
    attempts: int = 4,
    policy: RetryPolicy | None = None,
) -> T:
    """Run one API call, retrying transient faults, raising vibn's typed errors.

    ``policy`` (default: ``attempts`` tries with the standard backoff) says how."""
    tries = retrying(policy or RetryPolicy(attempts=attempts), _transient, _retry_after)
    try:
        return tries(fn)
    except ProviderError:
        raise
    except Exception as exc:
        if isinstance(exc, (gexc.GoogleAPICallError, HttpError, *_TRANSIENT_TYPES)):
            raise translate(exc, resource) from exc
        raise


def all_pages(fetch: Callable[[str], Any], items: Callable[[Any], Iterable[T]]) -> list[T]:
    """Every item of a paged list: ``fetch(page_token)`` is one call (retried on its own)."""
    found: list[T] = []
    token = ""
    while True:
        response = fetch(token)
        found.extend(items(response))
        token = response.next_page_token
        if not token:
            return found


def json_safe(value: Any) -> Any:
    """Plain JSON values (proto-plus and client objects often hold odd types)."""
    return json.loads(json.dumps(value, default=str))


#: where vibn's Google Cloud objects live unless a spec says otherwise (Montréal)
DEFAULT_LOCATION = "northamerica-northeast1"


def parents_to_list(project: str, collection: str, names: Iterable[object]) -> list[str]:
    """The ``projects/P/locations/L`` parents one observation lists: the default region's
    and that of every recorded ``…/locations/L/{collection}/ID`` name (one list call per
    parent, never one get per object)."""
    found = {f"projects/{project}/locations/{DEFAULT_LOCATION}"}
    for name in names:
        if not isinstance(name, str):
            continue
        head, sep, _ = name.partition(f"/{collection}/")
        parts = head.split("/")
        if sep and len(parts) == 4 and parts[0] == "projects" and parts[2] == "locations":
            found.add(head)
    return sorted(found)


def duration_text(value: timedelta | None) -> str:
    """A duration the way compile writes them (``180s``, ``0.1s``): what the clients
    return as ``timedelta``, in the form the planner compares."""
    seconds = value.total_seconds() if value is not None else 0.0
    return f"{seconds:g}s"


def parse_duration(text: str) -> timedelta:
    """``"0.1s"`` -> ``timedelta``, the type the clients take for a Duration field."""
    return timedelta(seconds=float(text.removesuffix("s")))


class ClientPool:
    """Clients of one kind, lent to one thread at a time and reused afterwards.

    Neither google-cloud-storage's requests session nor httplib2 (under the discovery
    client) promises thread safety, and drivers are called from apply's worker threads:
    a thread borrows a client for the length of one driver call (``with pool.lease()``),
    so the pool grows to the number of concurrent calls and no further. ``close`` closes
    every client it made (their sockets would otherwise be left to the garbage collector).
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._free: list[Any] = []
        self._made: list[Any] = []

    @contextmanager
    def lease(self) -> Iterator[Any]:
        with self._lock:
            client = self._free.pop() if self._free else None
        if client is None:
            client = self._make()
            with self._lock:
                self._made.append(client)
        try:
            yield client
        finally:
            with self._lock:
                self._free.append(client)

    def close(self) -> None:
        with self._lock:
            made, self._made, self._free = self._made, [], []
        for client in made:
            client.close()


class GcpClients:
    """The Storage client and the Logging and DNS discovery clients for one set of endpoints,
    pooled (see ``ClientPool``). Anonymous credentials when the endpoints say so
    (emulators); otherwise Google's default credential chain."""

    def __init__(self, endpoints: GcpEndpoints) -> None:
        self.endpoints = endpoints
        self._storage = ClientPool(self._new_storage)
        self._logging = ClientPool(self._new_logging)
        self._dns = ClientPool(self._new_dns)

    def storage(self) -> AbstractContextManager[Any]:
        """``with clients.storage() as client``: google-cloud-storage's ``Client``."""
        return self._storage.lease()

    def logging(self) -> AbstractContextManager[Any]:
        """``with clients.logging() as api``: google-api-python-client's ``logging v2``
        resource (REST, for log buckets and sinks)."""
        return self._logging.lease()

    def dns(self) -> AbstractContextManager[Any]:
        """``with clients.dns() as api``: google-api-python-client's ``dns v1`` resource
        (it carries zone labels and per-record-set calls; google-cloud-dns does not)."""
        return self._dns.lease()

    def close(self) -> None:
        self._storage.close()
        self._logging.close()
        self._dns.close()

    def _new_storage(self) -> Any:
        url = self.endpoints.storage
        return storage.Client(
            project=self.endpoints.project,
            credentials=self.endpoints.credentials(),
            client_options={"api_endpoint": url} if url else None,
        )

    def _new_logging(self) -> Any:
        url = self.endpoints.logging
        return build(
            "logging",
            "v2",
            static_discovery=True,
            cache_discovery=False,
            credentials=self.endpoints.credentials(),
            client_options={"api_endpoint": url} if url else None,
        )

    def _new_dns(self) -> Any:
        url = self.endpoints.dns
        return build(
            "dns",
            "v1",
            static_discovery=True,
            cache_discovery=False,
            credentials=self.endpoints.credentials(),
            client_options={"api_endpoint": url} if url else None,
        )


class GcpDriver:
    """What every driver over the pooled clients holds: the clients, the project and the
    retry policy (Storage, Logging, Cloud DNS)."""

    def __init__(
        self, clients: GcpClients, endpoints: GcpEndpoints, retry: RetryPolicy | None = None
    ) -> None:
        self._clients = clients
        self._project = endpoints.project
        self._retry = retry


class DiscoveryDriver(GcpDriver):
    """What the drivers speaking REST through google-api-python-client's discovery
    client share (Logging, Cloud DNS): one retried request, and paged listing."""

    def _run(self, request: Any, resource: str) -> dict[str, Any]:
        answer = call(request.execute, resource, policy=self._retry)
        return dict(answer or {})

    def _list(self, collection: Any, key: str, resource: str, **params: Any) -> list[Any]:
        """Every item of a paged list (one request per page)."""
        items: list[Any] = []
        request = collection.list(**params)
        while request is not None:
            page = self._run(request, resource)
            items.extend(page.get(key) or [])
            request = collection.list_next(request, page)
        return items

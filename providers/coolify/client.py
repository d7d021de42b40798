"""A thin, thread-safe httpx client of Coolify's REST API (``/api/v1``).

It exists so that the drivers speak in method calls and typed errors, never in status
codes: transient faults (timeouts, connection failures, 429, 5xx) are retried here with
tenacity (exponential backoff with jitter, honouring ``Retry-After``), and every other
failure becomes a ``vibn.providers.errors`` exception carrying Coolify's own ``message``.
Responses are returned as plain JSON values; shaping them is the drivers' business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

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
from vibn.providers.retry import RetryPolicy as RetryPolicy  # re-exported for callers
from vibn.providers.retry import retrying

PROVIDER = "coolify"
JSON = Any
#: (method, route template such as ``/applications/{uuid}``, HTTP status or 0 on a transport fault)
RequestHook = Callable[[str, str, int], None]

DATABASE_ENGINES = frozenset(
    {"postgresql", "mysql", "mariadb", "mongodb", "redis", "keydb", "dragonfly", "clickhouse"}
)


#: Coolify is one server, often busy deploying: more patience than the cloud APIs get
DEFAULT_RETRY = RetryPolicy(attempts=5, initial=0.5, maximum=8.0)


class _Transient(Exception):
    """One retryable attempt's failure, with the typed error to raise if retries run out."""

    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


class CoolifyClient:
    """Coolify's REST API as method calls returning JSON. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | httpx.Timeout = httpx.Timeout(30.0, connect=10.0),
        transport: httpx.BaseTransport | None = None,
        on_request: RequestHook | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=api_base(base_url),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._on_request = on_request
        self._retry = retry or DEFAULT_RETRY

    @property
    def base_url(self) -> str:
        """The ``/api/v1`` root requests go to."""
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        self._http.close()

    # --- meta and servers -------------------------------------------------------------

    def version(self) -> str:
        return self._send("GET", "/version").text.strip()

    def list_servers(self) -> list[JSON]:
        return list(self._call("GET", "/servers"))

    # --- projects and environments ------------------------------------------------------

    def list_projects(self) -> list[JSON]:
        return list(self._call("GET", "/projects"))

    def get_project(self, uuid: str) -> JSON:
        return self._call("GET", "/projects/{uuid}", uuid=uuid)

    def create_project(self, name: str, description: str | None = None) -> JSON:
        return self._call("POST", "/projects", body={"name": name, "description": description})

    def update_project(self, uuid: str, body: Mapping[str, Any]) -> JSON:
        return self._call("PATCH", "/projects/{uuid}", body=body, uuid=uuid)

    def delete_project(self, uuid: str) -> JSON:
        """Raises ``ConflictError`` while the project still holds resources."""
        try:
            return self._call("DELETE", "/projects/{uuid}", uuid=uuid)
        except InvalidError as err:
            if "resources" not in err.message.lower():
                raise
            raise ConflictError(PROVIDER, err.message, status=err.status) from err

    def list_environments(self, project_uuid: str) -> list[JSON]:
        return list(self._call("GET", "/projects/{uuid}/environments", uuid=project_uuid))

    def create_environment(self, project_uuid: str, name: str) -> JSON:
        return self._call(
            "POST", "/projects/{uuid}/environments", body={"name": name}, uuid=project_uuid
        )

    # --- applications -------------------------------------------------------------------

    def list_applications(self, tag: str | None = None) -> list[JSON]:
        params = {"tag": tag} if tag else None
        return list(self._call("GET", "/applications", params=params))

    def get_application(self, uuid: str) -> JSON:
        return self._call("GET", "/applications/{uuid}", uuid=uuid)

    def create_application(self, source: str, body: Mapping[str, Any]) -> JSON:
        """``source`` is ``public`` (a public git repository) or ``dockerimage``."""
        if source not in ("public", "dockerimage"):
            raise ValueError(f"unsupported application source {source!r}")
        return self._call("POST", f"/applications/{source}", body=body)

    def update_application(self, uuid: str, body: Mapping[str, Any]) -> JSON:
        return self._call("PATCH", "/applications/{uuid}", body=body, uuid=uuid)

    def delete_application(self, uuid: str, *, delete_volumes: bool = True) -> JSON:
        params = {"delete_volumes": delete_volumes, "docker_cleanup": True}
        return self._call("DELETE", "/applications/{uuid}", params=params, uuid=uuid)

    def start_application(self, uuid: str, *, force: bool = False) -> JSON:
        """Queue a deployment; the answer carries its ``deployment_uuid``."""
        params = {"force": True} if force else None
        return self._call("POST", "/applications/{uuid}/start", params=params, uuid=uuid)

    # --- application environment variables ----------------------------------------------

    def list_envs(self, app_uuid: str) -> list[JSON]:
        return list(self._call("GET", "/applications/{uuid}/envs", uuid=app_uuid))

    def upsert_envs(self, app_uuid: str, data: Sequence[Mapping[str, Any]]) -> list[JSON]:
        body = {"data": list(data)}
        return list(self._call("PATCH", "/applications/{uuid}/envs/bulk", body=body, uuid=app_uuid))

    def delete_env(self, app_uuid: str, env_uuid: str) -> JSON:
        return self._call(
            "DELETE", "/applications/{uuid}/envs/{env_uuid}", uuid=app_uuid, env_uuid=env_uuid
        )

    # --- deployments --------------------------------------------------------------------

    def get_deployment(self, uuid: str) -> JSON:
        return self._call("GET", "/deployments/{uuid}", uuid=uuid)

    def list_app_deployments(self, app_uuid: str, *, skip: int = 0, take: int = 10) -> list[JSON]:
        """Newest first. Coolify answers ``{"count", "deployments"}`` despite its document."""
        params = {"skip": skip, "take": take}
        out = self._call("GET", "/deployments/applications/{uuid}", params=params, uuid=app_uuid)
        return list(out["deployments"] if isinstance(out, dict) else out)

    def cancel_deployment(self, uuid: str) -> JSON:
        return self._call("POST", "/deployments/{uuid}/cancel", uuid=uuid)

    # --- databases ----------------------------------------------------------------------

    def list_databases(self) -> list[JSON]:
        return list(self._call("GET", "/databases"))

    def get_database(self, uuid: str) -> JSON:
        return self._call("GET", "/databases/{uuid}", uuid=uuid)

    def create_database(self, engine: str, body: Mapping[str, Any]) -> JSON:
        if engine not in DATABASE_ENGINES:
            raise ValueError(f"unsupported database engine {engine!r}")
        return self._call("POST", f"/databases/{engine}", body=body)

    def update_database(self, uuid: str, body: Mapping[str, Any]) -> JSON:
        return self._call("PATCH", "/databases/{uuid}", body=body, uuid=uuid)

    def delete_database(self, uuid: str, *, delete_volumes: bool = True) -> JSON:
        params = {"delete_volumes": delete_volumes, "docker_cleanup": True}
        return self._call("DELETE", "/databases/{uuid}", params=params, uuid=uuid)

    def start_database(self, uuid: str) -> JSON:
        return self._call("POST", "/databases/{uuid}/start", uuid=uuid)

    def restart_database(self, uuid: str) -> JSON:
        return self._call("POST", "/databases/{uuid}/restart", uuid=uuid)

    # --- scheduled database backups -----------------------------------------------------

    def list_backups(self, db_uuid: str) -> list[JSON]:
        return list(self._call("GET", "/databases/{uuid}/backups", uuid=db_uuid))

    def create_backup(self, db_uuid: str, body: Mapping[str, Any]) -> JSON:
        return self._call("POST", "/databases/{uuid}/backups", body=body, uuid=db_uuid)

    def update_backup(self, db_uuid: str, backup_uuid: str, body: Mapping[str, Any]) -> JSON:
        route = "/databases/{uuid}/backups/{backup_uuid}"
        return self._call("PATCH", route, body=body, uuid=db_uuid, backup_uuid=backup_uuid)

    def delete_backup(self, db_uuid: str, backup_uuid: str) -> JSON:
        route = "/databases/{uuid}/backups/{backup_uuid}"
        params = {"delete_s3": False}
        return self._call("DELETE", route, params=params, uuid=db_uuid, backup_uuid=backup_uuid)

    def list_backup_executions(self, db_uuid: str, backup_uuid: str) -> list[JSON]:
        route = "/databases/{uuid}/backups/{backup_uuid}/executions"
        out = self._call("GET", route, uuid=db_uuid, backup_uuid=backup_uuid)
        return list(out["executions"] if isinstance(out, dict) else out)

    def list_s3_storages(self) -> list[JSON]:
        return list(self._call("GET", "/s3-storages"))

    def get_s3_storage(self, uuid: str) -> JSON:
        return self._call("GET", "/s3-storages/{uuid}", uuid=uuid)

    def create_s3_storage(self, body: Mapping[str, Any]) -> JSON:
        return self._call("POST", "/s3-storages", body=body)

    def update_s3_storage(self, uuid: str, body: Mapping[str, Any]) -> JSON:
        return self._call("PATCH", "/s3-storages/{uuid}", body=body, uuid=uuid)

    def delete_s3_storage(self, uuid: str) -> JSON:
        return self._call("DELETE", "/s3-storages/{uuid}", uuid=uuid)

    def validate_s3_storage(self, uuid: str) -> JSON:
        """``{"valid", "message"}``: Coolify lists the bucket with the stored key."""
        return self._call("POST", "/s3-storages/{uuid}/validate", uuid=uuid)

    # --- transport ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        **path_params: str,
    ) -> JSON:
        response = self._send(method, route, params=params, body=body, **path_params)
        return response.json() if response.content else None

    def _send(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        **path_params: str,
    ) -> httpx.Response:
        path = route.format(**{k: quote(v, safe="") for k, v in path_params.items()})
        tries = retrying(
            self._retry,
            lambda exc: isinstance(exc, _Transient),
            lambda exc: exc.retry_after if isinstance(exc, _Transient) else None,
        )
        try:
            response: httpx.Response = tries(self._once, method, route, path, params, body)
        except _Transient as exhausted:
            raise exhausted.error from exhausted
        if response.is_success:
            return response
        raise error_from(response)

    def _once(
        self,
        method: str,
        route: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, params=params, json=body)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            self._notify(method, route, 0)
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
            raise _Transient(TransientError(PROVIDER, f"{method} {path} {what}: {exc}")) from exc
        except httpx.HTTPError as exc:
            self._notify(method, route, 0)
            raise ProviderError(PROVIDER, f"{method} {path} failed: {exc}") from exc
        self._notify(method, route, response.status_code)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(error_from(response), retry_after_seconds(response))
        return response

    def _notify(self, method: str, route: str, status: int) -> None:
        if self._on_request is not None:
            self._on_request(method, route, status)


def api_base(url: str) -> str:
    """The ``/api/v1`` root for an instance URL given with or without it."""
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else f"{url}/api/v1"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date); None when absent."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from(response: httpx.Response) -> ProviderError:
    """The typed error for a failed response, in Coolify's own words."""
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    message = ""
    details: object = None
    if isinstance(payload, dict):
        message = str(payload.get("message") or payload.get("error") or "")
        details = payload.get("errors")
        if isinstance(details, dict) and details:
            message = f"{message} {_render_errors(details)}".strip()
        elif payload.get("error") and payload.get("message"):
            message = f"{message} {payload['error']}"
    if not message:
        message = response.text.strip()[:300] or response.reason_phrase or f"HTTP {status}"
    kind: type[ProviderError]
    if status == 404:
        kind = NotFoundError
    elif status == 409:
        kind = ConflictError
    elif status in (401, 403) or (status == 400 and message.startswith("Invalid token")):
        kind = AuthError
    elif status in (400, 422):
        kind = InvalidError
    elif status == 429:
        kind = QuotaError
    elif status >= 500:
        kind = TransientError
    else:
        kind = ProviderError
    return kind(PROVIDER, message, status=status, details=details)


def _render_errors(errors: Mapping[str, Any]) -> str:
    """``{"name": ["The name field is required."]}`` as ``name: The name field is required.``"""
    parts = []
    for field_name, problems in errors.items():
        text = " ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
        parts.append(f"{field_name}: {text}")
    return "; ".join(parts)

"""What every Coolify driver shares: the client, the server to place things on, ownership
marks, and where an environment id leads.

Coolify's application and database objects name their place only by a numeric
``environment_id``; the stack talks about ``project_uuid`` and ``environment_name``. The
``EnvironmentIndex`` turns one into the other from environment lists the project driver
reads anyway, so observing applications and databases stays one list call per kind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vibn.providers.base import Owner, Scope
from vibn.providers.coolify.client import PROVIDER, CoolifyClient
from vibn.providers.errors import InvalidError, NotFoundError, ProviderError

#: the environment every stack's resources live in (Coolify creates it with the project)
ENVIRONMENT = "production"


def tags(owner: Owner) -> list[str]:
    """Coolify tags for an object: ``GET /applications?tag=`` filters on the first."""
    return [workspace_tag(owner.workspace), f"vibn-stack-{owner.workspace}-{owner.stack}"]


def workspace_tag(workspace: str) -> str:
    return f"vibn-ws-{workspace}"


def owned(description: object, scope: Scope) -> Owner | None:
    """The owner named by an object's description, when it belongs to the scope."""
    owner = Owner.from_marker(description if isinstance(description, str) else None)
    if owner is None or owner.workspace != scope.workspace or owner.stack not in scope.stacks:
        return None
    return owner


def blank_to_none(value: object) -> str | None:
    """Coolify answers ``""`` or ``null`` for an unset text field; vibn says None."""
    if value is None or value == "":
        return None
    return str(value)


@contextmanager
def naming(address: str) -> Iterator[None]:
    """Name the resource in any provider error raised inside the block."""
    try:
        yield
    except ProviderError as err:
        if err.resource is None:
            err.resource = address
        raise


def changed(desired: Mapping[str, Any], current: Mapping[str, Any]) -> set[str]:
    """Keys of desired props whose value differs from the observed one."""
    return {k for k, v in desired.items() if current.get(k) != v}


@dataclass(frozen=True)
class Settle:
    """How long to wait for Coolify's asynchronous deletes to finish (injectable for tests)."""

    timeout: float = 120.0
    interval: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class EnvironmentIndex:
    """environment id -> (project uuid, environment name), learnt from environment lists."""

    def __init__(self, client: CoolifyClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._by_id: dict[int, tuple[str, str]] = {}

    def learn(self, project_uuid: str, environments: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for env in environments:
                if env.get("id") is not None:
                    self._by_id[int(env["id"])] = (project_uuid, str(env.get("name", "")))

    def environments(self, project_uuid: str) -> list[Any]:
        """List a project's environments (and remember where their ids lead)."""
        envs = self._client.list_environments(project_uuid)
        self.learn(project_uuid, envs)
        return envs

    def resolve(self, env_ids: Iterable[object]) -> dict[int, tuple[str, str]]:
        """Where each environment id leads; reads the projects only for ids not yet known."""
        wanted = {int(i) for i in env_ids if isinstance(i, int | str) and str(i).isdigit()}
        with self._lock:
            missing = wanted - self._by_id.keys()
        if missing:
            for project in self._client.list_projects():
                if not missing:
                    break
                try:
                    envs = self.environments(str(project["uuid"]))
                except NotFoundError:
                    continue
                missing -= {int(e["id"]) for e in envs if e.get("id") is not None}
        with self._lock:
            return {i: self._by_id[i] for i in wanted if i in self._by_id}


class Shared:
    """One provider's client, its server choice and its environment index."""

    def __init__(
        self,
        client: CoolifyClient,
        server_uuid: str | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.client = client
        self.environments = EnvironmentIndex(client)
        self.settle = settle or Settle()
        self._server_uuid = server_uuid
        self._server: Mapping[str, Any] | None = None
        self._lock = threading.Lock()

    def server_uuid(self) -> str:
        """The configured server, else the first usable one Coolify lists (cached)."""
        if self._server_uuid is not None:
            return self._server_uuid
        return str(self.server()["uuid"])

    def server(self) -> Mapping[str, Any]:
        """The server resources are placed on, as ``GET /servers`` lists it (cached)."""
        with self._lock:
            if self._server is None:
                servers = self.client.list_servers()
                if self._server_uuid is not None:
                    chosen = [s for s in servers if s.get("uuid") == self._server_uuid]
                    if not chosen:
                        raise InvalidError(PROVIDER, f"no server {self._server_uuid!r} in Coolify")
                else:
                    chosen = [s for s in servers if (s.get("settings") or {}).get("is_usable")]
                    if not chosen:
                        raise InvalidError(PROVIDER, "no usable server: configure server_uuid")
                self._server = chosen[0]
            return self._server


def place(
    index: Mapping[int, tuple[str, str]], row: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(project uuid, environment name) of a row, or (None, None) when it cannot be found."""
    env_id = row.get("environment_id")
    try:
        return index[int(env_id)] if env_id is not None else (None, None)
    except (KeyError, ValueError, TypeError):
        return (None, None)

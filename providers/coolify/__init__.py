"""The Coolify provider: apps, env vars, deployments, databases, their backups and the
S3 destinations those backups go to.

``CoolifyProvider`` is the one thing the reconciler builds from configuration (URL,
token, optionally the server to place resources on); it owns one thread-safe client and
hands out one driver per resource kind, all sharing that client, the server choice and
the environment index.
"""

from __future__ import annotations

import httpx

from vibn.providers.base import Driver
from vibn.providers.coolify.applications import ApplicationDriver
from vibn.providers.coolify.backups import BackupDriver
from vibn.providers.coolify.client import CoolifyClient, RequestHook, RetryPolicy
from vibn.providers.coolify.common import Settle, Shared
from vibn.providers.coolify.databases import DatabaseDriver
from vibn.providers.coolify.deployments import DeploymentDriver
from vibn.providers.coolify.envs import EnvsDriver
from vibn.providers.coolify.images import image_for
from vibn.providers.coolify.projects import ProjectDriver
from vibn.providers.coolify.s3 import S3StorageDriver

__all__ = [
    "ApplicationDriver",
    "BackupDriver",
    "CoolifyClient",
    "CoolifyProvider",
    "DatabaseDriver",
    "DeploymentDriver",
    "EnvsDriver",
    "ProjectDriver",
    "RetryPolicy",
    "S3StorageDriver",
    "Settle",
    "image_for",
]


class CoolifyProvider:
    """Configuration in, drivers out."""

    name = "coolify"

    def __init__(
        self,
        url: str,
        token: str,
        server_uuid: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        on_request: RequestHook | None = None,
        retry: RetryPolicy | None = None,
        settle: Settle | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.client = CoolifyClient(
            url, token, timeout=timeout, transport=transport, on_request=on_request, retry=retry
        )
        self._shared = Shared(self.client, server_uuid, settle)

    def server_uuid(self) -> str:
        """The configured server, else the first usable one (resolved once, then cached)."""
        return self._shared.server_uuid()

    def drivers(self) -> dict[str, Driver]:
        drivers: list[Driver] = [
            ProjectDriver(self._shared),
            ApplicationDriver(self._shared),
            EnvsDriver(self._shared),
            DatabaseDriver(self._shared),
            S3StorageDriver(self._shared),
            BackupDriver(self._shared),
            DeploymentDriver(self._shared),
        ]
        return {d.kind: d for d in drivers}

    def close(self) -> None:
        self.client.close()

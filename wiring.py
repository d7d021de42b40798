"""One place that turns settings into a running engine: the state store, every
provider's drivers (configured endpoints, or the sandbox for those left unconfigured)
and the platform facts the compiler needs.

The CLI, the HTTP API and the daemon all open their engine here, so the three ways in
drive exactly the same providers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from vibn.config import Settings, load_settings
from vibn.providers.base import Driver
from vibn.providers.coolify import CoolifyProvider
from vibn.providers.gcp.common import GcpClients, GcpEndpoints
from vibn.providers.gcp.logs import logging_drivers
from vibn.providers.gcp.scheduler import scheduler_drivers
from vibn.providers.gcp.storage import storage_drivers
from vibn.providers.gcp.tasks import tasks_drivers
from vibn.reconciler.compile_gcp import Platform
from vibn.reconciler.engine import Engine
from vibn.sandbox import SandboxInfo
from vibn.sandbox import manager as sandbox
from vibn.state import SecretBox, Store

SANDBOX_PROJECT = "vibn-sandbox"
GCP_APIS = ("storage", "scheduler", "tasks", "logging")


@dataclass
class Context:
    settings: Settings
    store: Store
    engine: Engine


def settings_here(environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(Path.cwd(), os.environ if environ is None else environ)


class _Sandbox:
    """Starts the sandbox the first time an unconfigured provider needs it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.info: SandboxInfo | None = None

    def endpoint(self, provider: str) -> tuple[str, str]:
        if self.info is None:
            self.info = sandbox.ensure_running(self.directory)
        ep = self.info.providers[provider]
        return ep.url, ep.token


def gcp_endpoints(cfg: Settings, local: _Sandbox) -> GcpEndpoints:
    """Configured Google endpoints; with no project configured, every API's emulator."""
    if cfg.gcp_project is None:
        local_urls: dict[str, str | None] = {api: local.endpoint(api)[0] for api in GCP_APIS}
        return GcpEndpoints(project=SANDBOX_PROJECT, anonymous=True, **local_urls)
    urls = {api: cfg.gcp_urls.get(api) for api in GCP_APIS}
    return GcpEndpoints(project=cfg.gcp_project, anonymous=any(urls.values()), **urls)


def gcp_drivers(gcp: GcpEndpoints, cleanup: ExitStack) -> dict[str, Driver]:
    """The drivers of the four Google Cloud APIs, their clients closed with ``cleanup``."""
    clients = GcpClients(gcp)
    cleanup.callback(clients.close)
    return {
        **storage_drivers(gcp, clients=clients),
        **logging_drivers(gcp, clients=clients),
        **scheduler_drivers(gcp),
        **tasks_drivers(gcp),
    }


def build_drivers(cfg: Settings, cleanup: ExitStack) -> tuple[dict[str, Driver], Platform]:
    """Every provider's drivers, and the platform facts that go with them."""
    local = _Sandbox(cfg.sandbox_dir)
    if cfg.coolify is not None:
        coolify = CoolifyProvider(
            cfg.coolify.url, cfg.coolify.token, server_uuid=cfg.coolify.server_uuid
        )
    else:
        url, token = local.endpoint("coolify")
        coolify = CoolifyProvider(url, token)
    cleanup.callback(coolify.close)
    drivers: dict[str, Driver] = dict(coolify.drivers())
    gcp = gcp_endpoints(cfg, local)
    drivers.update(gcp_drivers(gcp, cleanup))
    account = cfg.gcp_service_account or f"vibn-storage@{gcp.project}.iam.gserviceaccount.com"
    platform = Platform(
        gcp_project=gcp.project,
        storage_endpoint=gcp.storage or "https://storage.googleapis.com",
        storage_service_account=account,
    )
    return drivers, platform


@contextmanager
def open_context(
    *, need_providers: bool = True, environ: Mapping[str, str] | None = None
) -> Iterator[Context]:
    """Settings, the state store and the engine for one command or process; closed after."""
    cfg = settings_here(environ)
    box = SecretBox.from_env_or_file(cfg.secrets_key, cfg.key_file)
    with ExitStack() as cleanup:
        store = Store.open(cfg.database_url, box)
        cleanup.callback(store.close)
        drivers: dict[str, Driver] = {}
        platform = Platform()
        if need_providers:
            drivers, platform = build_drivers(cfg, cleanup)
        engine = Engine(
            store,
            drivers,
            box.derive_key(b"vibn plan fingerprints"),
            parallelism=cfg.parallelism,
            platform=platform,
        )
        yield Context(cfg, store, engine)

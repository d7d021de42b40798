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
from decimal import Decimal
from pathlib import Path

from vibn.config import ConfigError, Settings, load_settings
from vibn.providers.aws.common import AwsSettings
from vibn.providers.aws.ses import ses_drivers
from vibn.providers.aws.smtp import smtp_password
from vibn.providers.base import Driver
from vibn.providers.coolify import CoolifyClient, CoolifyProvider
from vibn.providers.domain_status import PUBLIC_RESOLVER, DomainStatusDriver, Resolver
from vibn.providers.gcp.common import GcpClients, GcpEndpoints
from vibn.providers.gcp.dns import dns_drivers
from vibn.providers.gcp.logs import logging_drivers
from vibn.providers.gcp.scheduler import scheduler_drivers
from vibn.providers.gcp.storage import storage_drivers
from vibn.providers.gcp.tasks import tasks_drivers
from vibn.providers.opensrs.client import Contact, OpenSrsClient
from vibn.providers.opensrs.domains import OpenSrsDomainDriver
from vibn.reconciler.engine import Engine
from vibn.reconciler.platform import MailPlatform, Platform
from vibn.sandbox import SandboxInfo
from vibn.sandbox import manager as sandbox
from vibn.sandbox.info import ProviderEndpoint
from vibn.sandbox.opensrs import RESELLER as SANDBOX_RESELLER
from vibn.sandbox.ses import ACCESS_KEY_ID as SANDBOX_AWS_KEY
from vibn.sandbox.ses import ACCOUNT_ID as SANDBOX_AWS_ACCOUNT
from vibn.specs.values import Sensitive
from vibn.state import SecretBox, Store

SANDBOX_PROJECT = "vibn-sandbox"
GCP_APIS = ("storage", "scheduler", "tasks", "logging", "dns")


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


def sandbox_environment(
    providers: Mapping[str, ProviderEndpoint], project: str = "vibn-test"
) -> dict[str, str]:
    """Settings (as environment variables) that configure every provider explicitly to a
    running sandbox's emulators — what a real deployment sets for real providers, so a
    test or benchmark exercises that path, and no command starts a sandbox of its own.
    SES goes through the standard AWS variables."""
    ses = providers["ses"]
    return {
        "VIBN_COOLIFY_URL": providers["coolify"].url,
        "VIBN_COOLIFY_TOKEN": providers["coolify"].token,
        "VIBN_GCP_PROJECT": project,
        **{f"VIBN_GCP_{api.upper()}_URL": providers[api].url for api in GCP_APIS},
        "VIBN_RESOLVER_URL": providers["resolver"].url + "/resolve",
        "VIBN_OPENSRS_URL": providers["opensrs"].url,
        "VIBN_OPENSRS_USERNAME": SANDBOX_RESELLER,
        "VIBN_OPENSRS_KEY": providers["opensrs"].token,
        "AWS_ENDPOINT_URL_SESV2": ses.url,
        "AWS_ACCESS_KEY_ID": SANDBOX_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": ses.token,
        "VIBN_AWS_ACCOUNT_ID": SANDBOX_AWS_ACCOUNT,
        "VIBN_SES_SMTP_ACCESS_KEY_ID": SANDBOX_AWS_KEY,
        "VIBN_SES_SMTP_SECRET_ACCESS_KEY": ses.token,
    }


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
        **dns_drivers(gcp, clients=clients),
        **scheduler_drivers(gcp),
        **tasks_drivers(gcp),
    }


def aws_settings(cfg: Settings, local: _Sandbox) -> AwsSettings:
    """Configured AWS (an endpoint, or credentials boto3 finds), else the SES emulator."""
    if cfg.ses_url or cfg.aws_configured:
        key, secret, token = cfg.aws_keys or (None, None, None)
        return AwsSettings(
            region=cfg.aws_region,
            endpoint_url=cfg.ses_url,
            access_key_id=key,
            secret_access_key=secret,
            session_token=token,
            account_id=cfg.aws_account_id,
            region_setting="VIBN_AWS_REGION",
        )
    url, token = local.endpoint("ses")
    return AwsSettings(
        region=cfg.aws_region,
        endpoint_url=url,
        access_key_id=SANDBOX_AWS_KEY,
        secret_access_key=token,
        account_id=SANDBOX_AWS_ACCOUNT,
        region_setting="VIBN_AWS_REGION",
    )


def mail_platform(cfg: Settings, aws: AwsSettings) -> MailPlatform:
    """What every stack's apps get for mail: SES's SMTP endpoint and credentials derived
    from the sending key (the sandbox's own key when SES is sandboxed)."""
    key = cfg.ses_smtp_key
    if key is None and aws.access_key_id and aws.secret_access_key and aws.endpoint_url:
        key = (aws.access_key_id, aws.secret_access_key)
    region = aws.region or cfg.aws_region
    return MailPlatform(
        region=region,
        account_id=aws.account_id or "000000000000",
        platform_domain=cfg.platform_domain,
        smtp_username=key[0] if key else None,
        smtp_password=Sensitive(smtp_password(key[1], region)) if key else None,
    )


#: who registers domains in the sandbox (a real platform sets [domains.contact])
SANDBOX_CONTACT = {
    "first_name": "Vibn",
    "last_name": "Sandbox",
    "org_name": "vibn sandbox",
    "address1": "1 Rue Saint-Paul",
    "city": "Montreal",
    "state": "QC",
    "country": "CA",
    "postal_code": "H2Y 1G6",
    "phone": "+1.5145550100",
    "email": "domains@vibn.invalid",
}


def registrar_contact(cfg: Settings) -> Contact:
    """The registrant of the domains vibn buys: ``[domains.contact]``, else the sandbox's."""
    fields = cfg.registrant or SANDBOX_CONTACT
    missing = sorted(set(SANDBOX_CONTACT) - set(fields))
    if missing:
        raise ConfigError(f"[domains.contact] in vibn.toml lacks {', '.join(missing)}")
    return Contact(**{k: fields[k] for k in SANDBOX_CONTACT})


def registrar(cfg: Settings, local: _Sandbox | None = None) -> OpenSrsClient:
    """An OpenSRS client: the configured reseller account, else the sandbox's."""
    if cfg.opensrs is not None:
        return OpenSrsClient(cfg.opensrs.url, cfg.opensrs.username, cfg.opensrs.key)
    url, token = (local or _Sandbox(cfg.sandbox_dir)).endpoint("opensrs")
    return OpenSrsClient(url, SANDBOX_RESELLER, token)


def resolver_url(cfg: Settings, local: _Sandbox) -> str:
    """The DoH resolver: configured, else the sandbox's when DNS is sandboxed."""
    if cfg.resolver_url:
        return cfg.resolver_url
    if cfg.gcp_project is None or cfg.gcp_urls.get("dns"):
        return local.endpoint("resolver")[0] + "/resolve"
    return PUBLIC_RESOLVER


def build_drivers(
    cfg: Settings, cleanup: ExitStack, profile_secret: str
) -> tuple[dict[str, Driver], Platform]:
    """Every provider's drivers, and the platform facts that go with them;
    ``profile_secret`` derives the registrar profile passwords of the workspaces."""
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
    aws = aws_settings(cfg, local)
    drivers.update(ses_drivers(aws))
    opensrs = registrar(cfg, local)
    cleanup.callback(opensrs.close)
    drivers[OpenSrsDomainDriver.kind] = OpenSrsDomainDriver(
        opensrs, registrar_contact(cfg), profile_secret
    )
    resolver = Resolver(resolver_url(cfg, local))
    cleanup.callback(resolver.close)
    drivers[DomainStatusDriver.kind] = DomainStatusDriver(resolver)
    account = cfg.gcp_service_account or f"vibn-storage@{gcp.project}.iam.gserviceaccount.com"
    platform = Platform(
        gcp_project=gcp.project,
        storage_endpoint=gcp.storage or "https://storage.googleapis.com",
        storage_service_account=account,
        mail=mail_platform(cfg, aws),
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
            profile_secret = box.derive_key(b"vibn registrar profiles").hex()
            drivers, platform = build_drivers(cfg, cleanup, profile_secret)
        engine = Engine(
            store,
            drivers,
            box.derive_key(b"vibn plan fingerprints"),
            parallelism=cfg.parallelism,
            platform=platform,
            domain_markup_percent=Decimal(cfg.domain_markup_percent),
        )
        yield Context(cfg, store, engine)


def coolify_client(cfg: Settings) -> CoolifyClient:
    """A client of the configured Coolify, else of the sandbox's; the caller closes it."""
    if cfg.coolify is not None:
        return CoolifyClient(cfg.coolify.url, cfg.coolify.token)
    url, token = _Sandbox(cfg.sandbox_dir).endpoint("coolify")
    return CoolifyClient(url, token)

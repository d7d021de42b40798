"""Where vibn's settings come from: ``vibn.toml`` in the working directory, then
environment variables (which win), then the embedded defaults (a SQLite state file under
``.vibn/`` and the local sandbox for every provider left unconfigured).

Provider locations are residency-checked here too: a non-Canadian region in the
configuration is refused exactly like one in a stack, naming the setting.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibn.specs.model import AWS_REGIONS, CANADIAN_LOCATIONS, GCP_LOCATIONS

CONFIG_FILE = "vibn.toml"

#: every environment variable vibn reads, with what it sets (the README lists these)
ENV_VARS: dict[str, str] = {
    "VIBN_HOME": "directory for local state and the sandbox (default ./.vibn)",
    "VIBN_DATABASE_URL": "state store URL (default sqlite:///.vibn/state.db; "
    "postgresql+psycopg://user@host/db for the service)",
    "VIBN_SECRETS_KEY": "32-byte key (base64 or hex) encrypting secrets at rest "
    "(default: generated into .vibn/secrets.key)",
    "VIBN_COOLIFY_URL": "Coolify API base URL, e.g. https://coolify.example.com/api/v1",
    "VIBN_COOLIFY_TOKEN": "Coolify API token (Bearer)",
    "VIBN_COOLIFY_SERVER_UUID": "Coolify server to deploy on (default: the first usable one)",
    "VIBN_PARALLELISM": "provider calls run at once during apply (default 8)",
    "VIBN_GCP_PROJECT": "Google Cloud project (unset: every Google API uses the sandbox)",
    "VIBN_GCP_STORAGE_URL": "Cloud Storage endpoint (also STORAGE_EMULATOR_HOST)",
    "VIBN_GCP_SCHEDULER_URL": "Cloud Scheduler endpoint",
    "VIBN_GCP_TASKS_URL": "Cloud Tasks endpoint",
    "VIBN_GCP_LOGGING_URL": "Cloud Logging endpoint",
    "VIBN_GCP_SERVICE_ACCOUNT": "service account whose HMAC keys give apps S3-style storage "
    "access (default vibn-storage@PROJECT.iam.gserviceaccount.com)",
    "VIBN_GCP_REGION": "Google Cloud region (Canadian only; default northamerica-northeast1)",
    "VIBN_AWS_REGION": "AWS region for SES (Canadian only; default ca-central-1)",
    "VIBN_GCP_DNS_URL": "Cloud DNS endpoint",
    "VIBN_SES_URL": "SES v2 endpoint (AWS_ENDPOINT_URL_SESV2 is honoured too); with neither "
    "this nor AWS credentials set, SES uses the sandbox",
    "VIBN_AWS_ACCOUNT_ID": "AWS account of the SES identities (event bus ARN)",
    "VIBN_SES_SMTP_ACCESS_KEY_ID": "IAM access key allowed ses:SendRawEmail; apps get SMTP "
    "credentials derived from it",
    "VIBN_SES_SMTP_SECRET_ACCESS_KEY": "its secret (the SMTP password is derived from it)",
    "VIBN_PLATFORM_DOMAIN": "the platform's own domain: stacks without a sender domain send "
    "as noreply@mail.DOMAIN (default vibn.dev)",
    "VIBN_OPENSRS_URL": "OpenSRS XCP endpoint, e.g. https://rr-n1-tor.opensrs.net:55443 "
    "(unset: the sandbox)",
    "VIBN_OPENSRS_USERNAME": "OpenSRS reseller username",
    "VIBN_OPENSRS_KEY": "OpenSRS reseller private key (signs every request)",
    "VIBN_DOMAIN_MARKUP_PERCENT": "percent added to registrar prices charged to a workspace "
    "float (default 10)",
    "VIBN_RESOLVER_URL": "DNS-over-HTTPS JSON resolver the domain-status probe asks "
    "(default https://dns.google/resolve; the sandbox's when DNS is sandboxed)",
}


class ConfigError(Exception):
    """Bad configuration; the message names the setting and the fix."""


@dataclass(frozen=True)
class CoolifyConfig:
    url: str
    token: str
    server_uuid: str | None = None


@dataclass(frozen=True)
class OpenSrsConfig:
    url: str
    username: str
    key: str


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secrets_key: str | None
    coolify: CoolifyConfig | None
    parallelism: int
    gcp_project: str | None
    gcp_region: str
    aws_region: str
    gcp_urls: dict[str, str | None] = field(default_factory=dict)
    gcp_service_account: str | None = None
    ses_url: str | None = None
    aws_configured: bool = False
    #: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, when set
    aws_keys: tuple[str, str, str | None] | None = None
    aws_account_id: str | None = None
    ses_smtp_key: tuple[str, str] | None = None
    platform_domain: str = "vibn.dev"
    opensrs: OpenSrsConfig | None = None
    #: the registrant contact for domains vibn registers ([domains.contact] in vibn.toml)
    registrant: dict[str, str] = field(default_factory=dict)
    domain_markup_percent: str = "10"
    resolver_url: str | None = None

    @property
    def sandbox_dir(self) -> Path:
        return self.home / "sandbox"

    @property
    def key_file(self) -> Path:
        return self.home / "secrets.key"


def normalise_coolify_url(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"coolify url {url!r} must start with http:// or https://")
    return url if url.endswith("/api/v1") else url + "/api/v1"


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _region(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        where = "outside Canada" if value not in CANADIAN_LOCATIONS else "not valid here"
        raise ConfigError(
            f"{name} = {value!r} is {where}; vibn keeps all customer data in Canada "
            f"(allowed: {', '.join(allowed)})"
        )
    return value


def load_settings(cwd: Path, environ: Mapping[str, str]) -> Settings:
    """Settings for a command run in ``cwd`` with ``environ``."""
    toml = _read_toml(cwd / CONFIG_FILE)

    def pick(env: str, section: str, key: str) -> str | None:
        if environ.get(env):
            return environ[env]
        value = toml.get(section, {}).get(key)
        return None if value is None else str(value)

    home = Path(environ.get("VIBN_HOME") or cwd / ".vibn")
    database_url = pick("VIBN_DATABASE_URL", "state", "database_url") or (
        f"sqlite:///{home / 'state.db'}"
    )
    url = pick("VIBN_COOLIFY_URL", "coolify", "url")
    token = pick("VIBN_COOLIFY_TOKEN", "coolify", "token")
    coolify = None
    if url or token:
        if not (url and token):
            raise ConfigError(
                "Coolify needs both a URL and a token (VIBN_COOLIFY_URL and VIBN_COOLIFY_TOKEN, "
                "or [coolify] url/token in vibn.toml); leave both unset to use the sandbox"
            )
        coolify = CoolifyConfig(
            normalise_coolify_url(url),
            token,
            pick("VIBN_COOLIFY_SERVER_UUID", "coolify", "server_uuid"),
        )
    raw_parallelism = pick("VIBN_PARALLELISM", "engine", "parallelism") or "8"
    try:
        parallelism = int(raw_parallelism)
        if not 1 <= parallelism <= 64:
            raise ValueError
    except ValueError:
        raise ConfigError(f"parallelism {raw_parallelism!r} must be a whole number 1-64") from None
    gcp_urls = {
        api: pick(f"VIBN_GCP_{api.upper()}_URL", "gcp", f"{api}_url")
        for api in ("storage", "scheduler", "tasks", "logging", "dns")
    }
    if not gcp_urls["storage"] and environ.get("STORAGE_EMULATOR_HOST"):
        gcp_urls["storage"] = environ["STORAGE_EMULATOR_HOST"]
    return Settings(
        **_domain_settings(environ, toml, pick),
        home=home,
        gcp_urls=gcp_urls,
        gcp_service_account=pick("VIBN_GCP_SERVICE_ACCOUNT", "gcp", "service_account"),
        database_url=database_url,
        secrets_key=environ.get("VIBN_SECRETS_KEY") or None,
        coolify=coolify,
        parallelism=parallelism,
        gcp_project=pick("VIBN_GCP_PROJECT", "gcp", "project"),
        gcp_region=_region(
            "gcp.region",
            pick("VIBN_GCP_REGION", "gcp", "region") or "northamerica-northeast1",
            GCP_LOCATIONS,
        ),
        aws_region=_region(
            "aws.region", pick("VIBN_AWS_REGION", "aws", "region") or "ca-central-1", AWS_REGIONS
        ),
    )


def _domain_settings(
    environ: Mapping[str, str], toml: Mapping[str, Any], pick: Any
) -> dict[str, Any]:
    """Settings of the domain, email and registrar providers."""
    osrs = [pick(f"VIBN_OPENSRS_{k.upper()}", "opensrs", k) for k in ("url", "username", "key")]
    opensrs = None
    if any(osrs):
        if not all(osrs):
            raise ConfigError(
                "OpenSRS needs a URL, a reseller username and a key (VIBN_OPENSRS_URL, "
                "VIBN_OPENSRS_USERNAME, VIBN_OPENSRS_KEY, or [opensrs] url/username/key); "
                "leave all unset to use the sandbox"
            )
        opensrs = OpenSrsConfig(*(str(v) for v in osrs))
    smtp = [
        pick(f"VIBN_SES_SMTP_{k.upper()}", "ses", f"smtp_{k}")
        for k in ("access_key_id", "secret_access_key")
    ]
    markup = pick("VIBN_DOMAIN_MARKUP_PERCENT", "domains", "markup_percent") or "10"
    try:
        if not 0 <= float(markup) <= 1000:
            raise ValueError
    except ValueError:
        raise ConfigError(f"domain markup {markup!r} must be a percentage 0-1000") from None
    contact = toml.get("domains", {}).get("contact", {})
    if not isinstance(contact, dict):
        raise ConfigError("[domains.contact] in vibn.toml must be a table of contact fields")
    aws_vars = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL")
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    return {
        "ses_url": pick("VIBN_SES_URL", "ses", "url")
        or environ.get("AWS_ENDPOINT_URL_SESV2")
        or environ.get("AWS_ENDPOINT_URL"),
        "aws_configured": any(environ.get(k) for k in aws_vars),
        "aws_keys": (key, secret, environ.get("AWS_SESSION_TOKEN")) if key and secret else None,
        "aws_account_id": pick("VIBN_AWS_ACCOUNT_ID", "aws", "account_id"),
        "ses_smtp_key": (str(smtp[0]), str(smtp[1])) if all(smtp) else None,
        "platform_domain": pick("VIBN_PLATFORM_DOMAIN", "platform", "domain") or "vibn.dev",
        "opensrs": opensrs,
        "registrant": {str(k): str(v) for k, v in contact.items()},
        "domain_markup_percent": markup,
        "resolver_url": pick("VIBN_RESOLVER_URL", "domains", "resolver_url"),
    }

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
}


class ConfigError(Exception):
    """Bad configuration; the message names the setting and the fix."""


@dataclass(frozen=True)
class CoolifyConfig:
    url: str
    token: str
    server_uuid: str | None = None


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
        for api in ("storage", "scheduler", "tasks", "logging")
    }
    if not gcp_urls["storage"] and environ.get("STORAGE_EMULATOR_HOST"):
        gcp_urls["storage"] = environ["STORAGE_EMULATOR_HOST"]
    return Settings(
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

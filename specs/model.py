"""The stack document: one pydantic model per section, strict (unknown fields refused).

Every section the product will ever have is defined here, so the JSON Schema an editor
sees is whole even while some sections still wait for their provider drivers. Field
constraints that a user can get wrong carry messages that say what is allowed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from vibn.specs.names import (
    bucket_name_problem,
    cron_problem,
    shown,
    timezone_problem,
    unsafe_path,
)

API_VERSION = "vibn.dev/v1"

CANADIAN_LOCATIONS = (
    "northamerica-northeast1",
    "northamerica-northeast2",
    "ca-central-1",
    "ca-west-1",
)
GCP_LOCATIONS = ("northamerica-northeast1", "northamerica-northeast2")
AWS_REGIONS = ("ca-central-1", "ca-west-1")

ENGINES = (
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "redis",
    "keydb",
    "dragonfly",
    "clickhouse",
)
Engine = Literal[
    "postgresql", "mysql", "mariadb", "mongodb", "redis", "keydb", "dragonfly", "clickhouse"
]
# Coolify schedules dump backups for these engines only (coolify-notes.md section 5.1).
BACKUP_ENGINES = frozenset({"postgresql", "mysql", "mariadb", "mongodb", "clickhouse"})

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def residency_problem(value: object) -> str | None:
    """Why ``value`` is not an allowed location or region, or None when it is Canadian."""
    if isinstance(value, str) and value in CANADIAN_LOCATIONS:
        return None
    return (
        f"{shown(value)} is outside Canada; vibn keeps all customer data in Canada "
        f"(allowed: {', '.join(CANADIAN_LOCATIONS)})"
    )


def _location(value: str) -> str:
    problem = residency_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not a valid name: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not a valid environment variable name: use A-Z, 0-9 and '_', "
            "not starting with a digit"
        )
    return value


def _scalar_to_str(value: Any) -> Any:
    """YAML turns ``PORT: 3000`` into an int; an env value is always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _cron(value: str) -> str:
    problem = cron_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _safe_path(value: str) -> str:
    problem = unsafe_path(value)
    if problem:
        raise ValueError(problem)
    return value


def _version_to_str(value: Any) -> Any:
    """``version: 16`` in JSON is a number; a float such as 7.10 would lose its zero."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f'write the version as a string, e.g. "{value}"')
    return value


Location = Annotated[str, AfterValidator(_location)]
Name = Annotated[str, AfterValidator(_dns_label)]
EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[
    str,
    BeforeValidator(_scalar_to_str, json_schema_input_type=str | int | float | bool),
    Field(max_length=32768),
]
Cron = Annotated[str, AfterValidator(_cron)]
# A path handed to a provider or a shell: no '..', no spaces, quotes or shell characters.
# (Each pattern comes before the validator, so that the JSON Schema shows it.)
SafePath = Annotated[str, AfterValidator(_safe_path)]
UrlPath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/%?=+-]*$"), AfterValidator(_safe_path)]
RepoUrl = Annotated[
    str,
    Field(pattern=r"^(https://|git@)[A-Za-z0-9._@:/~+-]+$", max_length=2048),
    AfterValidator(_safe_path),
]
Branch = Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]{1,255}$"), AfterValidator(_safe_path)]
StoreKey = Annotated[
    str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"), AfterValidator(_safe_path)
]
Version = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        allow_inf_nan=False,
        # Defaults pass the validators too, so a default and the same value written out
        # are one value (500 and 500.0 differ in canonical JSON and so in the digest).
        validate_default=True,
    )


class Metadata(Model):
    name: Name = Field(description="The stack's name, unique within its workspace.")
    workspace: Name = Field("default", description="The workspace (tenant) that owns the stack.")
    labels: dict[SafePath, SafePath] = Field(default_factory=dict)


class Healthcheck(Model):
    path: UrlPath = "/"
    port: int | None = Field(None, ge=1, le=65535)
    interval: int = Field(30, ge=1, le=3600, description="Seconds between checks.")
    timeout: int = Field(5, ge=1, le=600)
    retries: int = Field(3, ge=1, le=100)
    start_period: int = Field(10, ge=0, le=3600)


class Service(Model):
    name: Name
    type: Literal["web", "worker"] = "web"
    command: str | None = Field(None, max_length=4096, description="Start command.")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=list)
    replicas: int = Field(1, ge=0, le=20)
    healthcheck: Healthcheck | None = None
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _web_has_port(self) -> Service:
        if self.type == "web" and not self.ports:
            raise ValueError("a web service needs at least one port in 'ports'")
        return self


class Build(Model):
    pack: Literal["nixpacks", "railpack", "static", "dockerfile", "dockerimage"] = "nixpacks"
    image: SafePath | None = Field(
        None, max_length=512, description="Image (name:tag) when pack is dockerimage."
    )
    base_directory: SafePath = Field("/", pattern=r"^/", max_length=1024)
    install_command: str | None = Field(None, max_length=4096)
    build_command: str | None = Field(None, max_length=4096)
    dockerfile: SafePath | None = Field(
        None, max_length=1024, description="Dockerfile path when pack is dockerfile."
    )

    @model_validator(mode="after")
    def _image_for_dockerimage(self) -> Build:
        if self.pack == "dockerimage" and not self.image:
            raise ValueError("pack 'dockerimage' needs 'image'")
        return self


class App(Model):
    repo: RepoUrl | None = Field(None, description="Git repository (https:// or git@).")
    branch: Branch = "main"
    build: Build = Field(default_factory=lambda: Build())
    services: list[Service] = Field(min_length=1)

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[Service]) -> list[Service]:
        _unique([s.name for s in value])
        return value

    @model_validator(mode="after")
    def _source(self) -> App:
        if self.build.pack != "dockerimage" and not self.repo:
            raise ValueError("an app needs 'repo' unless build.pack is 'dockerimage'")
        return self


class SecretRef(Model):
    """Where a secret's value comes from; the stack never holds the value itself."""

    from_: Literal["env", "store"] = Field(alias="from")
    name: StoreKey | None = Field(
        None,
        description="Caller's env var or secret-store key; defaults to the secret's own name.",
    )


def _secret_shorthand(value: Any) -> Any:
    """``env`` / ``store`` / ``env:NAME`` / ``store:name`` as a string form of SecretRef."""
    if isinstance(value, str):
        source, _, name = value.partition(":")
        out: dict[str, Any] = {"from": source}
        if name:
            out["name"] = name
        return out
    return value


class Backups(Model):
    enabled: bool = True
    schedule: Cron = "0 3 * * *"
    retention_days: int = Field(7, ge=1, le=3650)


class Database(Model):
    name: Name
    engine: Engine
    version: Annotated[
        Version | None,
        BeforeValidator(_version_to_str, json_schema_input_type=Version | int | None),
    ] = None
    backups: Backups = Field(
        default_factory=lambda: Backups(),
        description="Scheduled dumps; on by default where Coolify can make them "
        "(not redis, keydb or dragonfly, where the default is off).",
    )
    env_var: EnvName | None = Field(
        None, description="Env var that receives the connection URL (default NAME_URL)."
    )

    @model_validator(mode="before")
    @classmethod
    def _backups_default(cls, data: Any) -> Any:
        """Backups default to off for the engines Coolify cannot dump, on for the rest.

        Written out, the default must mean the same thing when read back (canonical JSON
        carries every field), so it is a value in the model, not an absence.
        """
        engine = data.get("engine") if isinstance(data, dict) else None
        if not isinstance(engine, str) or engine not in ENGINES or engine in BACKUP_ENGINES:
            return data
        backups = data.get("backups", {})
        if isinstance(backups, dict) and "enabled" not in backups:
            return {**data, "backups": {**backups, "enabled": False}}
        return data

    @property
    def url_env_var(self) -> str:
        """The env var that receives the connection URL: ``env_var`` or ``NAME_URL``."""
        return self.env_var or self.name.upper().replace("-", "_") + "_URL"


class LifecycleRule(Model):
    action: Literal["delete", "set_storage_class"] = "delete"
    age_days: int = Field(ge=0, le=36500)
    prefix: SafePath | None = Field(None, max_length=1024)
    storage_class: Literal["NEARLINE", "COLDLINE", "ARCHIVE"] | None = None

    @model_validator(mode="after")
    def _class_only_when_moving(self) -> LifecycleRule:
        if self.action == "set_storage_class" and self.storage_class is None:
            raise ValueError("action 'set_storage_class' needs 'storage_class'")
        if self.action == "delete" and self.storage_class is not None:
            raise ValueError("'storage_class' goes only with action 'set_storage_class'")
        return self


class Storage(Model):
    bucket: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$",
        description="Explicit bucket name (default vibn-ws-{workspace}).",
    )
    per_stack: bool = False
    public_read: bool = False
    versioning: bool = False
    lifecycle: list[LifecycleRule] = Field(default_factory=list)
    location: Location = "northamerica-northeast1"

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        problem = None if value is None else bucket_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class CronJob(Model):
    name: Name
    schedule: Cron
    path: UrlPath
    timezone: str = "UTC"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    paused: bool = False
    retry_count: int = Field(0, ge=0, le=5)
    service: Name | None = Field(None, description="Web service to call (default: the first).")
    location: Location = "northamerica-northeast1"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        problem = timezone_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Queue(Model):
    @field_validator("max_attempts")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("0 would read as 'unset' to Cloud Tasks; use -1 for unlimited or 1+")
        return value

    name: Name
    max_attempts: int = Field(
        100,
        ge=-1,
        le=1000,
        description="-1 for unlimited; 0 is refused (Cloud Tasks reads it as unset).",
    )
    max_dispatches_per_second: float = Field(500.0, gt=0, le=500)
    max_concurrent_dispatches: int = Field(1000, ge=1, le=5000)
    min_backoff_seconds: float = Field(0.1, gt=0, le=3600)
    max_backoff_seconds: float = Field(3600.0, ge=0, le=3600)
    path: UrlPath | None = None
    service: Name | None = None
    location: Location = "northamerica-northeast1"


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _domain_name(value: str) -> str:
    if not value.isascii():
        raise ValueError(
            f"{shown(value)} has non-ASCII characters; write internationalised names in "
            "punycode (xn--...) so look-alike letters cannot hide"
        )
    if not _DOMAIN.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a valid domain name such as example.com")
    return value


DomainName = Annotated[str, AfterValidator(_domain_name)]


class Domain(Model):
    name: DomainName
    register_: bool = Field(False, alias="register")
    period: int = Field(1, ge=1, le=10)
    auto_renew: bool = True
    attach_to: Name | None = None
    dns_provider: Literal["cloud_dns"] = "cloud_dns"
    www_redirect: bool = False


def _domain_shorthand(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class Dmarc(Model):
    policy: Literal["none", "quarantine", "reject"] = "none"


class Email(Model):
    sender_domain: DomainName | None = None
    from_: list[Annotated[str, Field(pattern=r"^[a-z0-9]+([._+-][a-z0-9]+)*$", max_length=64)]] = (
        Field(default_factory=lambda: ["noreply"], alias="from")
    )
    dmarc: Dmarc = Field(default_factory=lambda: Dmarc())
    region: Location = "ca-central-1"


class Logs(Model):
    retention_days: int = Field(30, ge=1, le=3650)
    location: Location = "northamerica-northeast1"


class StackSpec(Model):
    drift: Literal["correct", "report"] = "correct"
    app: App | None = None
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    secrets: dict[
        EnvName,
        Annotated[
            SecretRef,
            BeforeValidator(
                _secret_shorthand,
                json_schema_input_type=SecretRef
                | Annotated[str, Field(pattern=r"^(env|store)(:[A-Za-z_][A-Za-z0-9_.-]{0,127})?$")],
            ),
        ],
    ] = Field(default_factory=dict)
    databases: list[Database] = Field(default_factory=list)
    storage: Storage | None = None
    cron: list[CronJob] = Field(default_factory=list)
    queues: list[Queue] = Field(default_factory=list)
    domain: (
        Annotated[Domain, BeforeValidator(_domain_shorthand, json_schema_input_type=Domain | str)]
        | None
    ) = None
    email: Email | None = None
    logs: Logs | None = None

    @field_validator("databases", "cron", "queues")
    @classmethod
    def _unique_names(cls, value: list[Database] | list[CronJob] | list[Queue]) -> Any:
        _unique([item.name for item in value])
        return value


class Stack(Model):
    api_version: Literal["vibn.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["Stack"]
    metadata: Metadata
    spec: StackSpec


def _unique(names: list[str]) -> None:
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise ValueError(f"duplicate name(s) {', '.join(dupes)}: each name may appear once")

"""The API's own settings: per-workspace quotas and the limits that keep one server fair.

They come from ``vibn.toml`` (``[quotas]`` and ``[api]``) in the working directory and
two environment variables (``ENV_VARS``), with embedded defaults, and are passed to
``create_app`` explicitly, so tests build an app with small quotas or short event
streams without touching a file or the environment.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_FILE = "vibn.toml"

#: the environment variables read here, with what they set
ENV_VARS: dict[str, str] = {
    "VIBN_SERVE_WORKERS": "reconcile worker threads beside the API (vibn serve --workers)",
    "VIBN_RECONCILE_INTERVAL": "seconds between the workers' visits of a stack (default 300)",
}

Number = type[int] | type[float]


class ApiSettingsError(Exception):
    """A bad ``[quotas]`` or ``[api]`` setting; the message names it."""


@dataclass(frozen=True)
class Quotas:
    """How much one workspace may hold; checked when a stack is planned (PUT)."""

    stacks: int = 20
    apps: int = 50
    databases: int = 20
    buckets: int = 5
    domains: int = 5
    #: CAD a workspace may spend on purchases (domains) per calendar month (UTC)
    monthly_spend: float = 200.0


@dataclass(frozen=True)
class ApiSettings:
    quotas: Quotas = field(default_factory=Quotas)
    #: largest stack document accepted by PUT (the document loader's own limit too)
    max_body_bytes: int = 1024 * 1024
    #: applies and destroys run at once in this process
    apply_threads: int = 4
    #: applies accepted but not finished (queued or running) before 503
    apply_queue: int = 32
    #: how often an event stream looks for new events
    event_poll_seconds: float = 0.25
    #: default and longest life of one event stream (clients resume with Last-Event-ID)
    event_timeout_seconds: float = 60.0
    event_timeout_max_seconds: float = 3600.0
    #: a comment line sent on an idle stream so proxies keep it open
    event_keepalive_seconds: float = 15.0
    #: reconcile worker threads started with the app (``vibn serve --workers N``)
    workers: int = 0
    #: seconds between the workers' visits of a stack
    reconcile_interval_seconds: float = 300.0


#: settings of ``[api]`` in vibn.toml (the rest come from the environment)
_TOML_API = frozenset(f.name for f in fields(ApiSettings)) - {
    "quotas",
    "workers",
    "reconcile_interval_seconds",
}


def _kind(default: Any) -> Number:
    return int if isinstance(default, int) else float


def _number(where: str, value: Any, kind: Number, minimum: float) -> Any:
    if isinstance(value, str):
        try:
            value = kind(value.strip())
        except ValueError:
            value = None
    accepted = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, accepted) or value < minimum:
        what = "whole number" if kind is int else "number"
        raise ApiSettingsError(f"{where} must be a {what} of at least {minimum}")
    return kind(value)


def _section(toml: Mapping[str, Any], section: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    raw = toml.get(section, {})
    if not isinstance(raw, Mapping):
        raise ApiSettingsError(f"[{section}] in {CONFIG_FILE} must be a table")
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise ApiSettingsError(
            f"[{section}] in {CONFIG_FILE}: unknown setting(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(defaults))})"
        )
    return {
        key: _number(f"[{section}] {key} in {CONFIG_FILE}", value, _kind(defaults[key]), 1)
        for key, value in raw.items()
    }


def load_api_settings(cwd: Path, environ: Mapping[str, str]) -> ApiSettings:
    """Settings from ``cwd/vibn.toml`` and ``environ``, defaults for what they do not say."""
    path = cwd / CONFIG_FILE
    toml: dict[str, Any] = {}
    if path.is_file():
        try:
            with path.open("rb") as fh:
                toml = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ApiSettingsError(f"{path}: {exc}") from None
    base = ApiSettings()
    quotas = Quotas(**_section(toml, "quotas", Quotas().__dict__))
    api = _section(toml, "api", {name: getattr(base, name) for name in _TOML_API})
    if environ.get("VIBN_SERVE_WORKERS", "").strip():
        api["workers"] = _number("VIBN_SERVE_WORKERS", environ["VIBN_SERVE_WORKERS"], int, 0)
    if environ.get("VIBN_RECONCILE_INTERVAL", "").strip():
        api["reconcile_interval_seconds"] = _number(
            "VIBN_RECONCILE_INTERVAL", environ["VIBN_RECONCILE_INTERVAL"], float, 0.1
        )
    return ApiSettings(quotas=quotas, **api)

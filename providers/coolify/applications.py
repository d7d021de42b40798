"""The ``coolify.application`` driver: one Coolify application per service replica.

Coolify's Application object is wide (86 fields) and flat; the stack's props are a small
nested shape. This module is the translation both ways — ``health_check`` to and from the
flat ``health_check_*`` fields, ``docker_image`` to and from the registry name and tag,
``domains`` to and from ``fqdn`` (Coolify's generated domain reads as None: not vibn's
to manage) — so that an unchanged stack observes exactly what it asked for. Creating
never deploys: the ``coolify.deployment`` resource does that.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import (
    ENVIRONMENT,
    Shared,
    blank_to_none,
    changed,
    naming,
    owned,
    place,
    tags,
    workspace_tag,
)
from vibn.providers.errors import NotFoundError

HEALTH_FIELDS = ("path", "port", "interval", "timeout", "retries", "start_period")
#: props sent to Coolify under their own name
PLAIN_FIELDS = (
    "name",
    "git_repository",
    "git_branch",
    "ports_exposes",
    "start_command",
    "base_directory",
    "install_command",
    "build_command",
)
GIT_ONLY = ("git_repository", "git_branch", "base_directory", "install_command", "build_command")
DOCKER_IMAGE = "dockerimage"


def health_to_api(health: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"enabled": true, "path": "/", "port": 3000, ...}`` as Coolify's flat fields."""
    if not health or not health.get("enabled"):
        return {"health_check_enabled": False}
    out: dict[str, Any] = {"health_check_enabled": True}
    for key in HEALTH_FIELDS:
        if key in health:
            value = health[key]
            if key == "port" and value is not None:
                value = str(value)
            out[f"health_check_{key}"] = value
    return out


def health_from_api(app: Mapping[str, Any]) -> dict[str, Any]:
    """Coolify's flat ``health_check_*`` fields as the props' nested shape."""
    if not app.get("health_check_enabled"):
        return {"enabled": False}
    port = blank_to_none(app.get("health_check_port"))
    return {
        "enabled": True,
        "path": app.get("health_check_path") or "/",
        "port": int(port) if port is not None and port.isdigit() else None,
        "interval": _int(app.get("health_check_interval")),
        "timeout": _int(app.get("health_check_timeout")),
        "retries": _int(app.get("health_check_retries")),
        "start_period": _int(app.get("health_check_start_period")),
    }


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def split_image(reference: str) -> tuple[str, str]:
    """``name:tag`` (or ``name@sha256:...``) as Coolify's registry image name and tag."""
    if "@" in reference:
        name, digest = reference.split("@", 1)
        return name, digest
    head, colon, tag = reference.rpartition(":")
    if colon and "/" not in tag:
        return head, tag
    return reference, "latest"


def join_image(name: object, tag: object) -> str | None:
    if not name:
        return None
    tag = str(tag or "latest")
    return f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"


def primary_url(fqdn: object) -> str | None:
    """The first of an app's domains, without a trailing slash (None when it has none)."""
    first = str(fqdn or "").split(",")[0].strip()
    return first.rstrip("/") or None


def normal_domains(fqdn: object) -> str | None:
    """``fqdn`` as a comma-separated list without blanks; None when the app has none."""
    if not fqdn:
        return None
    parts = [p.strip() for p in str(fqdn).split(",") if p.strip()]
    return ",".join(parts) or None


def managed_domains(app: Mapping[str, Any]) -> str | None:
    """The domains vibn manages: None when there are none, or only the one Coolify
    generated itself (``http://<app uuid>.<wildcard or sslip.io>``), which vibn leaves be."""
    domains = normal_domains(app.get("fqdn"))
    if domains is None:
        return None
    uuid = str(app.get("uuid") or "")
    generated = [d for d in domains.split(",") if uuid and d.split("://", 1)[-1].startswith(uuid)]
    return None if generated and len(generated) == len(domains.split(",")) else domains


def repository_url(app: Mapping[str, Any]) -> str | None:
    """The repository URL as given: Coolify keeps only ``owner/repo`` of a public GitHub
    repository (``source_id`` names its GitHub source), so the host is put back."""
    repo = blank_to_none(app.get("git_repository"))
    if repo is None or "://" in repo or repo.startswith("git@"):
        return repo
    if app.get("source_id") is not None or app.get("git_full_url") is None:
        return f"https://github.com/{repo}"
    return str(app["git_full_url"])


def application_props(
    app: Mapping[str, Any], project_uuid: str | None, environment_name: str | None
) -> dict[str, Any]:
    """An Application object in the props' shape (see the module docstring)."""
    pack = app.get("build_pack")
    image = pack == DOCKER_IMAGE
    return {
        "project_uuid": project_uuid,
        "environment_name": environment_name,
        "name": app.get("name"),
        "git_repository": None if image else repository_url(app),
        "git_branch": None if image else blank_to_none(app.get("git_branch")),
        "build_pack": pack,
        # a worker is an application without a domain; Coolify still keeps a port for it
        "ports_exposes": blank_to_none(app.get("ports_exposes")) if app.get("fqdn") else None,
        "start_command": blank_to_none(app.get("start_command")),
        "base_directory": app.get("base_directory") or "/",
        "install_command": blank_to_none(app.get("install_command")),
        "build_command": blank_to_none(app.get("build_command")),
        "docker_image": (
            join_image(app.get("docker_registry_image_name"), app.get("docker_registry_image_tag"))
            if image
            else None
        ),
        "health_check": health_from_api(app),
        "domains": managed_domains(app),
        # Coolify's default "both" (no redirect) reads as None, like an unset prop
        "redirect": None if app.get("redirect") in (None, "both") else app.get("redirect"),
    }


class ApplicationDriver:
    """props: see ``application_props``; outputs ``{"uuid", "fqdn", "status", "url",
    "server_ip"}`` (the server's address, which a custom domain's A record points at)."""

    kind: ClassVar[str] = "coolify.application"
    replace_fields: ClassVar[frozenset[str]] = frozenset(
        {"project_uuid", "environment_name", "build_pack"}
    )
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ("coolify.project",)

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        rows: list[tuple[Mapping[str, Any], Owner]] = []
        for app in self._client.list_applications(tag=workspace_tag(scope.workspace)):
            owner = owned(app.get("description"), scope)
            if owner is not None:
                rows.append((app, owner))
        index = self._shared.environments.resolve(app.get("environment_id") for app, _ in rows)
        return [
            self._observed(app, owner.address, owner, *place(index, app)) for app, owner in rows
        ]

    def create(self, desired: Desired) -> Observed:
        props = desired.props
        body: dict[str, Any] = {
            "project_uuid": props["project_uuid"],
            "server_uuid": self._shared.server_uuid(),
            "environment_name": props.get("environment_name") or ENVIRONMENT,
            "name": props["name"],
            "description": desired.owner.marker(),
            "tags": tags(desired.owner),
            "instant_deploy": False,
        }
        later: dict[str, Any] = {}
        if props.get("build_pack") == DOCKER_IMAGE:
            source = "dockerimage"
            name, tag = split_image(str(props["docker_image"]))
            body |= {"docker_registry_image_name": name, "docker_registry_image_tag": tag}
            if props.get("start_command") is not None:
                later["start_command"] = props["start_command"]
        else:
            source = "public"
            body["build_pack"] = props["build_pack"]
            for key in (*GIT_ONLY, "start_command"):
                if props.get(key) is not None:
                    body[key] = props[key]
        ports = props.get("ports_exposes") or ""
        if ports:
            body["ports_exposes"] = ports
        if props.get("redirect"):
            body["redirect"] = props["redirect"]
        if props.get("domains"):
            body["domains"] = props["domains"]
        elif not ports:
            body["autogenerate_domain"] = False
        body |= health_to_api(props.get("health_check"))
        with naming(desired.address):
            uuid = str(self._client.create_application(source, body)["uuid"])
            if later:
                self._client.update_application(uuid, later)
            app = self._client.get_application(uuid)
        return self._placed(app, desired)

    def update(self, desired: Desired, current: Observed) -> Observed:
        uuid = current.provider_id
        body = patch_body(
            desired.props,
            current.props,
            lambda: generated_domain(uuid, self._shared.server(), self._client.base_url),
        )
        with naming(desired.address):
            if body:
                self._client.update_application(current.provider_id, body)
            app = self._client.get_application(current.provider_id)
        return self._placed(app, desired)

    def delete(self, current: Observed) -> None:
        with naming(current.address):
            try:
                self._client.delete_application(current.provider_id)
            except NotFoundError:
                return

    def _placed(self, app: Mapping[str, Any], desired: Desired) -> Observed:
        props = desired.props
        project = props.get("project_uuid")
        environment = props.get("environment_name") or ENVIRONMENT
        return self._observed(app, desired.address, desired.owner, project, environment)

    def _observed(
        self,
        app: Mapping[str, Any],
        address: str,
        owner: Owner,
        project_uuid: str | None,
        environment_name: str | None,
    ) -> Observed:
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=str(app["uuid"]),
            owner=owner,
            props=application_props(app, project_uuid, environment_name),
            outputs={
                "uuid": str(app["uuid"]),
                "fqdn": normal_domains(app.get("fqdn")),
                "status": app.get("status"),
                # where the app answers (custom or generated domain): cron and queue
                # targets are built on it
                "url": primary_url(app.get("fqdn")),
                "server_ip": self._shared.server().get("ip"),
            },
        )


def patch_body(
    desired: Mapping[str, Any],
    current: Mapping[str, Any],
    generated_domain: Callable[[], str | None] = lambda: None,
) -> dict[str, Any]:
    """The ``PATCH /applications/{uuid}`` fields for the props that changed.

    Without domains a web service gets Coolify's generated one back
    (``generated_domain``) and a worker gets none: a worker is an application with no
    domain, whatever default port Coolify keeps for it.
    """
    body: dict[str, Any] = {}
    image = desired.get("build_pack") == DOCKER_IMAGE
    worker = not desired.get("ports_exposes")
    for key in sorted(changed(desired, current)):
        value = desired[key]
        if key == "docker_image" and value:
            name, tag = split_image(str(value))
            body |= {"docker_registry_image_name": name, "docker_registry_image_tag": tag}
        elif key == "health_check":
            body |= health_to_api(value)
        elif key == "domains" or (key == "ports_exposes" and worker):
            domains = desired.get("domains")
            body["domains"] = domains or ("" if worker else generated_domain() or "")
        elif key == "redirect":
            body["redirect"] = value or "both"
        elif key == "build_pack" and not image and current.get("build_pack") != DOCKER_IMAGE:
            body["build_pack"] = value
        elif key in PLAIN_FIELDS and not (image and key in GIT_ONLY):
            body[key] = value
    return body


def generated_domain(uuid: str, server: Mapping[str, Any], api_url: str) -> str | None:
    """The domain Coolify generates for an application (its ``generateUrl``): a
    subdomain of the server's wildcard domain, else of ``<server ip>.sslip.io``."""
    wildcard = (server.get("settings") or {}).get("wildcard_domain")
    if wildcard:
        parts = urlsplit(wildcard if "://" in wildcard else f"http://{wildcard}")
        return f"{parts.scheme}://{uuid}.{parts.hostname}{parts.path.rstrip('/')}"
    ip = str(server.get("ip") or "")
    if ip == "host.docker.internal":  # Coolify's own host: the instance's address
        ip = urlsplit(api_url).hostname or ""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None
    return f"http://{uuid}.{ip}.sslip.io"

"""Creating applications: the four create variants and the domain rules they share.

Mirrors ``ApplicationsController::create_application``: one shared allow-list and
base rules, then placement (project, environment, server), then the variant's
own required fields; domains are checked (``http(s)://`` URLs with a real TLD)
and refused with 409 when another application already serves one, unless
``force_domain_override``. A public repository URL is stored as ``owner/repo``.
With no domains and ``autogenerate_domain`` (default true) the app gets
``http://<uuid>.127.0.0.1.sslip.io``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

from starlette.responses import Response

from vibn.sandbox.coolify import app_fields
from vibn.sandbox.coolify.lifecycle import queue_deployment
from vibn.sandbox.coolify.routes_projects import placement
from vibn.sandbox.coolify.store import CoolifyStore, Record, new_uuid
from vibn.sandbox.coolify.validation import coerce, validate
from vibn.sandbox.coolify.web import ApiError, Call, fail, invalid, reply

SSLIP_HOST = "127.0.0.1.sslip.io"
_DOMAIN_RE = re.compile(r"^https?://[a-zA-Z0-9\-\.]+\.[a-zA-Z]{2,}")
_BASE_RULE_NAMES = (
    "name",
    "description",
    "project_uuid",
    "environment_name",
    "environment_uuid",
    "server_uuid",
    "destination_uuid",
    "is_http_basic_auth_enabled",
    "http_basic_auth_username",
    "http_basic_auth_password",
    "autogenerate_domain",
)


def decode_base64(field: str, value: Any) -> str:
    """A base64 field's text, or Coolify's hand-built 422 (a string, not a list)."""
    try:
        raw = base64.b64decode(str(value), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        invalid({field: f"The {field} should be base64 encoded."})


def normalise_domains(value: Any) -> str | None:
    """``domains`` as stored in ``fqdn``: trimmed, comma-joined, each one checked."""
    if value is None or not str(value).strip(" ,"):
        return None
    parts = [p.strip() for p in str(value).strip().strip(",").split(",") if p.strip()]
    errors = [f"Invalid domain: {p}" for p in parts if not _DOMAIN_RE.match(p)]
    if errors:
        invalid({"domains": errors})
    return ",".join(parts)


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def check_conflicts(store: CoolifyStore, fqdn: str | None, own_uuid: str | None) -> None:
    """409 when another application already serves one of these domains."""
    if not fqdn:
        return
    wanted = {_host(d) for d in fqdn.split(",")}
    conflicts = []
    for app in store.rows("applications"):
        if app["uuid"] == own_uuid or not app.get("fqdn"):
            continue
        for host in sorted(wanted & {_host(d) for d in str(app["fqdn"]).split(",")}):
            conflicts.append(
                {
                    "domain": host,
                    "resource_name": app["name"],
                    "resource_uuid": app["uuid"],
                    "resource_type": "application",
                    "message": f"Domain {host} is already in use by application '{app['name']}'",
                }
            )
    if conflicts:
        raise ApiError(
            409,
            {
                "message": "Domain conflicts detected. Use force_domain_override=true to proceed.",
                "conflicts": conflicts,
                "warning": "Using the same domain for multiple resources can cause routing "
                "conflicts and unpredictable behavior.",
            },
        )


def _kebab(text: str) -> str:
    return re.sub(r"(.)(?=[A-Z])", r"\1-", re.sub(r"\s+", "", text)).lower()


def _repo_path(url: str) -> str:
    """``https://github.com/owner/repo`` -> ``owner/repo`` (Coolify keeps two segments)."""
    parsed = urlparse(url)
    if not parsed.netloc:
        return url.strip()
    segments = [s for s in parsed.path.split("/") if s]
    return "/".join(segments[:2]).strip()


def _split_image(name: str, tag: str | None) -> tuple[str, str]:
    if "@sha256:" in name:
        base, digest = name.split("@sha256:", 1)
        return f"{base}@sha256", digest
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash and tag is None:
        return name[:colon], name[colon + 1 :]
    return name, tag or "latest"


def _apply_fields(app: Record, body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Copy request fields to the record or its settings, with the model's casts."""
    for key, value in body.items():
        if key not in allowed or key in app_fields.NOT_STORED:
            continue
        spec = app_fields.RULES.get(key)
        if key in app_fields.SETTING_FIELDS:
            app["settings"][app_fields.SETTING_FIELDS[key]] = coerce(value, spec)
        elif key in app_fields.DEFAULTS:
            app[key] = coerce(value, spec)


def create_application(call: Call, variant: str) -> Response:
    store = call.store
    body = call.strict_json()
    base_rules = {k: app_fields.RULES[k] for k in _BASE_RULE_NAMES}
    base_rules["project_uuid"] = replace(base_rules["project_uuid"], required=True)
    base_rules["server_uuid"] = replace(base_rules["server_uuid"], required=True)
    errors = validate(body, base_rules, app_fields.CREATE_ALLOWED)
    if errors:
        invalid(errors)
    env = placement(store, body)
    rules = dict(app_fields.RULES)
    for name in app_fields.VARIANT_REQUIRED[variant]:
        rules[name] = replace(rules[name], required=True)
    errors = validate(body, rules)
    if errors:
        invalid(errors)
    build_pack = body.get("build_pack")
    if build_pack == "dockercompose" and "domains" in body:
        invalid(
            {
                "domains": "The domains field cannot be used for dockercompose applications. "
                "Use docker_compose_domains instead to set domains for individual services."
            }
        )
    for field in ("custom_labels", "custom_nginx_configuration"):
        if body.get(field) is not None:
            decode_base64(field, body[field])
    private_key = None
    if variant == "private-deploy-key":
        private_key = store.find("private_keys", str(body["private_key_uuid"]))
        if private_key is None:
            fail(404, "Private Key not found.")
    fqdn = normalise_domains(body.get("domains"))
    if not coerce(
        body.get("force_domain_override", False), app_fields.RULES["force_domain_override"]
    ):
        check_conflicts(store, fqdn, None)

    uuid = new_uuid()
    app: Record = {
        "uuid": uuid,
        **{k: v for k, v in app_fields.DEFAULTS.items()},
        "settings": dict(app_fields.SETTING_DEFAULTS),
        "environment_id": env["id"],
        "_environment": env["uuid"],
        "_project": env["_project"],
        "_tags": sorted(set(body.get("tags") or [])),
        "_stopped_at": None,
    }
    _apply_fields(app, body, app_fields.CREATE_ALLOWED)
    if variant in ("public", "private-deploy-key"):
        repo = str(body["git_repository"])
        app["git_repository"] = _repo_path(repo) if variant == "public" else repo.strip()
        app["ports_exposes"] = "80" if build_pack == "dockercompose" else app["ports_exposes"]
        app["name"] = body.get("name") or _kebab(f"{repo}:{body['git_branch']}-{new_uuid()}")
        if private_key is not None:
            app["private_key_id"] = private_key["id"]
        if variant == "public" and urlparse(repo).hostname == "github.com":
            app["source_id"] = 0
    elif variant == "dockerfile":
        app["dockerfile"] = decode_base64("dockerfile", body["dockerfile"])
        app.update(build_pack="dockerfile", git_repository="coollabsio/coolify", git_branch="main")
        app["name"] = body.get("name") or f"dockerfile-{new_uuid()}"
    else:
        image, tag = _split_image(
            str(body["docker_registry_image_name"]), body.get("docker_registry_image_tag")
        )
        app.update(docker_registry_image_name=image, docker_registry_image_tag=tag)
        app.update(build_pack="dockerimage", git_repository="coollabsio/coolify", git_branch="main")
        app["name"] = body.get("name") or f"docker-image-{new_uuid()}"
    if not app.get("ports_exposes"):
        app["ports_exposes"] = "3000" if app["build_pack"] in ("nixpacks", "railpack") else "80"
    autogenerate = coerce(
        body.get("autogenerate_domain", True), app_fields.RULES["autogenerate_domain"]
    )
    app["fqdn"] = fqdn if fqdn or not autogenerate else f"http://{uuid}.{SSLIP_HOST}"
    app = store.insert("applications", app)
    if coerce(body.get("instant_deploy", False), app_fields.RULES["instant_deploy"]):
        queue_deployment(store, app)
    return reply({"uuid": app["uuid"], "domains": app["fqdn"]}, 201)


def update_application(call: Call, app: Record) -> Response:
    """``PATCH /applications/{uuid}`` on a found application."""
    store = call.store
    body = call.strict_json()
    errors = validate(body, app_fields.RULES, app_fields.PATCH_ALLOWED)
    if errors:
        invalid(errors)
    for field in ("custom_labels", "custom_nginx_configuration"):
        if body.get(field) is not None:
            decode_base64(field, body[field])
    if body.get("dockerfile") is not None:
        body = {**body, "dockerfile": decode_base64("dockerfile", body["dockerfile"])}
    if "domains" in body:
        fqdn = normalise_domains(body["domains"])
        if not coerce(
            body.get("force_domain_override", False), app_fields.RULES["force_domain_override"]
        ):
            check_conflicts(store, fqdn, app["uuid"])
        app["fqdn"] = fqdn
    if body.get("name") is None:
        body.pop("name", None)
    _apply_fields(app, body, app_fields.PATCH_ALLOWED)
    store.touch(app)
    if coerce(body.get("instant_deploy", False), app_fields.RULES["instant_deploy"]):
        queue_deployment(store, app)
    return reply({"uuid": app["uuid"]})

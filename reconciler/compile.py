"""Compile a stack document into a resource graph with stable addresses.

This is where the product's vocabulary (services, replicas, databases, secrets) turns
into provider vocabulary (Coolify projects, applications, env sets, deployments). It is
a pure function of the stack and a secret resolver: no provider is called, so the
planner can be tested with data alone.

Addresses (stable across revisions):
``project``, ``app.{service}-{n}`` (+ ``.env``, ``.deploy``), ``database.{name}``
(+ ``.backup``); the Google Cloud sections are in ``compile_gcp``, the domain, email and
backup destinations in ``compile_domain``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vibn.providers.coolify.images import image_for
from vibn.specs.model import BACKUP_ENGINES, Database, Service, Stack
from vibn.specs.names import coolify_app_name
from vibn.specs.values import Sensitive

from .compile_domain import attachment, compile_backups, compile_domain, compile_email
from .compile_gcp import compile_cron, compile_logs, compile_queues, compile_storage
from .graph import Digest, Graph, Ref, Resource
from .platform import Platform

ENVIRONMENT = "production"

#: deletion runs children first: higher rank is deleted earlier
KIND_RANK: dict[str, int] = {
    "coolify.project": 0,
    "coolify.database": 1,
    "coolify.application": 1,
    "coolify.backup": 2,
    "coolify.envs": 2,
    "coolify.deployment": 3,
    "gcp.bucket": 0,
    "gcp.bucket_lifecycle": 1,
    "gcp.hmac_key": 1,
    "gcp.scheduler_job": 4,
    "gcp.tasks_queue": 1,
    "gcp.log_bucket": 0,
    "gcp.log_sink": 1,
    "gcp.dns_zone": 0,
    "gcp.dns_records": 1,
    "opensrs.domain": 1,
    "dns.domain_status": 5,
    "ses.configuration_set": 0,
    "ses.identity": 1,
    "coolify.s3_storage": 1,
}


class SecretUnavailable(Exception):
    """A secret the stack references cannot be resolved (message says how to fix it)."""


#: (env var name, where from ("env"|"store"|"generated"), key) -> value; raises
#: SecretUnavailable. "generated" values are made once per stack and kept in the store.
SecretResolver = Callable[[str, str, str], str]


def compile_stack(stack: Stack, secrets: SecretResolver, platform: Platform | None = None) -> Graph:
    """The resource graph of ``stack``; problems that block a plan land in ``graph.errors``."""
    platform = platform or Platform()
    ws, name, spec = stack.metadata.workspace, stack.metadata.name, stack.spec
    graph = Graph(workspace=ws, stack=name)
    if spec.app or spec.databases:
        graph.add(
            Resource(
                "project",
                "coolify.project",
                {"name": f"vibn-{ws}-{name}", "environment": ENVIRONMENT},
                section="app",
            )
        )

    for db in spec.databases:
        _compile_database(graph, name, db)

    shared_env: dict[str, Any] = dict(spec.env)
    for var, ref in spec.secrets.items():
        try:
            shared_env[var] = Sensitive(secrets(var, ref.from_, ref.name or var))
        except SecretUnavailable as exc:
            graph.errors.append(f"spec.secrets.{var}: {exc}")
    for db in spec.databases:
        shared_env[db.url_env_var] = Ref(f"database.{db.name}", "internal_db_url")
    token = None
    if spec.cron:
        try:
            token = Sensitive(secrets("VIBN_CRON_TOKEN", "generated", "cron-token"))
        except SecretUnavailable as exc:
            graph.errors.append(f"spec.cron: {exc}")
    shared_env.update(compile_storage(graph, stack, platform))
    shared_env.update(compile_queues(graph, stack, platform))
    shared_env.update(compile_cron(graph, stack, platform, token))
    shared_env.update(compile_logs(graph, stack, platform))
    mail_env = compile_email(graph, stack, platform.mail)
    if spec.app:
        shared_env.update(mail_env)
        attached = attachment(stack)
        for service in spec.app.services:
            for n in range(1, service.replicas + 1):
                served = attached is not None and attached.service == service.name and n == 1
                domains = attached.domains if served and attached else None
                _compile_replica(graph, stack, service, n, shared_env, domains)
    compile_domain(graph, stack)
    compile_backups(graph, stack, platform.storage_service_account)
    return graph


def _compile_database(graph: Graph, stack: str, db: Database) -> None:
    address = f"database.{db.name}"
    graph.add(
        Resource(
            address,
            "coolify.database",
            {
                "project_uuid": Ref("project", "uuid"),
                "environment_name": ENVIRONMENT,
                "name": f"{stack}-{db.name}",
                "engine": db.engine,
                "image": image_for(db.engine, db.version),
            },
            section="databases",
        )
    )
    if db.engine not in BACKUP_ENGINES:
        graph.warnings.append(
            f"{address}: Coolify cannot back up {db.engine}, so this database has no "
            "scheduled backups"
        )
        return
    if not db.backups.enabled:
        return
    graph.add(
        Resource(
            f"{address}.backup",
            "coolify.backup",
            {
                "database_uuid": Ref(address, "uuid"),
                "frequency": db.backups.schedule,
                "enabled": True,
                "retention_days": db.backups.retention_days,
                "save_s3": False,
                "s3_storage_uuid": None,
            },
            section="databases",
        )
    )


def _image_ref(image: str | None) -> str | None:
    """``name`` means ``name:latest`` to Docker (and to Coolify, which stores the tag)."""
    if image is None or "@" in image or ":" in image.rsplit("/", 1)[-1]:
        return image
    return f"{image}:latest"


def _compile_replica(
    graph: Graph,
    stack: Stack,
    service: Service,
    n: int,
    shared_env: dict[str, Any],
    domains: str | None,
) -> None:
    app = stack.spec.app
    assert app is not None
    build = app.build
    address = f"app.{service.name}-{n}"
    hc = service.healthcheck
    health: dict[str, Any] = {"enabled": False}
    if hc is not None:
        health = {
            "enabled": True,
            "path": hc.path,
            "port": hc.port or (service.ports[0] if service.ports else None),
            "interval": hc.interval,
            "timeout": hc.timeout,
            "retries": hc.retries,
            "start_period": hc.start_period,
        }
    is_image = build.pack == "dockerimage"
    props: dict[str, Any] = {
        "project_uuid": Ref("project", "uuid"),
        "environment_name": ENVIRONMENT,
        "name": coolify_app_name(stack.metadata.name, service.name, n),
        "git_repository": None if is_image else app.repo,
        "git_branch": None if is_image else app.branch,
        "build_pack": build.pack,
        "ports_exposes": ",".join(str(p) for p in service.ports) or None,
        "start_command": service.command,
        "base_directory": build.base_directory,
        "install_command": build.install_command,
        "build_command": build.build_command,
        "docker_image": _image_ref(build.image) if is_image else None,
        "health_check": health,
        "domains": domains,
        # a www domain redirects to the apex (Coolify's proxy does it)
        "redirect": "non-www" if domains and "://www." in domains else None,
    }
    graph.add(Resource(address, "coolify.application", props, section="app"))

    env: dict[str, Any] = {
        **shared_env,
        **service.env,
        "VIBN_STACK": stack.metadata.name,
        "VIBN_SERVICE": service.name,
        "VIBN_REPLICA": str(n),
    }
    env_props = {"application_uuid": Ref(address, "uuid"), "vars": dict(sorted(env.items()))}
    graph.add(Resource(f"{address}.env", "coolify.envs", env_props, section="app"))
    graph.add(
        Resource(
            f"{address}.deploy",
            "coolify.deployment",
            {
                "application_uuid": Ref(address, "uuid"),
                "trigger": Digest((props, env_props["vars"])),
            },
            section="app",
            depends_on=frozenset({address, f"{address}.env"}),
        )
    )

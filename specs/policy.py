"""Rules a schema cannot say: how the sections of one stack fit together.

The model checks each field on its own (a location is Canadian, a name is a DNS label);
the policy checks a whole, schema-valid stack: that a cron job's service exists and
serves HTTP, that the Coolify names vibn will build from several fields still fit, that
no variable is set twice, that nothing anywhere names a place outside Canada. Each rule
returns problems, never raises, so a caller sees them all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vibn.specs.model import BACKUP_ENGINES, Stack, residency_problem
from vibn.specs.names import (
    DNS_LABEL_MAX,
    bucket_name_problem,
    coolify_app_name,
    default_bucket_name,
    shown,
)
from vibn.specs.problems import Problem, format_path

# Keys that name a place, wherever they appear (a label, a future section).
LOCATION_KEYS = frozenset({"location", "region"})
RESERVED_ENV_PREFIX = "VIBN_"
# Sections whose drivers inject variables with these prefixes into every service.
INJECTED_PREFIXES = {"storage": "STORAGE_", "queues": "QUEUE_"}
MAIL_VARIABLES = ("SMTP_", "EMAIL_FROM", "EMAIL_CONFIGURATION_SET")


def check_location(path: str, value: object) -> Problem | None:
    """A problem when ``value`` (at ``path``) is not a Canadian location; for provider config."""
    problem = residency_problem(value)
    return None if problem is None else Problem(path, problem)


def check_stack(stack: Stack) -> list[Problem]:
    """Every policy problem of a schema-valid stack, in document order."""
    return [
        *_residency(stack.model_dump(mode="json", by_alias=True), ()),
        *_app_names(stack),
        *_web_references(stack),
        *_backups(stack),
        *_variables(stack),
        *_queues(stack),
        *_default_bucket(stack),
        *_email(stack),
    ]


def _residency(value: Any, path: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in LOCATION_KEYS and not isinstance(item, dict | list):
                problem = check_location(format_path((*path, key)), item)
                if problem:
                    yield problem
            else:
                yield from _residency(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _residency(item, (*path, index))


def _app_names(stack: Stack) -> Iterator[Problem]:
    app = stack.spec.app
    if app is None:
        return
    for i, service in enumerate(app.services):
        last = max(service.replicas, 1)
        name = coolify_app_name(stack.metadata.name, service.name, last)
        if len(name) > DNS_LABEL_MAX:
            yield Problem(
                f"spec.app.services[{i}].name",
                f"the Coolify application name {shown(name, 80)} has {len(name)} characters; "
                f"'{{stack}}-{{service}}-{{replica}}' must fit in {DNS_LABEL_MAX}, "
                "so shorten the stack or service name",
            )


def _web_references(stack: Stack) -> Iterator[Problem]:
    spec = stack.spec
    web = [s.name for s in spec.app.services if s.type == "web"] if spec.app else []
    users: list[tuple[str, str | None]] = [
        *((f"spec.cron[{i}].service", job.service) for i, job in enumerate(spec.cron)),
        *((f"spec.queues[{i}].service", q.service) for i, q in enumerate(spec.queues)),
    ]
    if spec.domain is not None:
        users.append(("spec.domain.attach_to", spec.domain.attach_to))
    if not web:
        needing = [s for s in ("cron", "queues", "domain") if getattr(spec, s)]
        for section in needing:
            reason = "there is no spec.app" if spec.app is None else "the app has no web service"
            yield Problem(
                f"spec.{section}",
                f"{section} needs an app with a web service to send requests to, and {reason}",
            )
        return
    workers = {s.name for s in spec.app.services if s.type == "worker"} if spec.app else set()
    for path, name in users:
        if name is None or name in web:
            continue
        what = (
            f"{shown(name)} is a worker"
            if name in workers
            else f"there is no service {shown(name)}"
        )
        yield Problem(path, f"{what}; name a web service of the app ({', '.join(web)})")


def _backups(stack: Stack) -> Iterator[Problem]:
    for i, db in enumerate(stack.spec.databases):
        if db.engine not in BACKUP_ENGINES and db.backups.enabled:
            yield Problem(
                f"spec.databases[{i}].backups.enabled",
                f"Coolify cannot back up {db.engine}; set backups.enabled: false",
            )


def _variables(stack: Stack) -> Iterator[Problem]:
    """A variable has one source: env, secrets, a database URL, or vibn itself."""
    spec = stack.spec
    injected: dict[str, str] = {}
    for i, db in enumerate(spec.databases):
        var = db.url_env_var
        if var in injected:
            field = "env_var" if db.env_var else "name"
            yield Problem(
                f"spec.databases[{i}].{field}",
                f"{var} is already the URL of {injected[var]}; set a different env_var",
            )
        injected.setdefault(var, f"database {shown(db.name)}")
    prefixes = {p: s for s, p in INJECTED_PREFIXES.items() if getattr(spec, s)}
    # mail settings reach every app, with spec.email or without (the shared sender)
    prefixes.update(dict.fromkeys(MAIL_VARIABLES, "email"))

    sources: list[tuple[str, str]] = [(f"spec.env.{k}", k) for k in spec.env]
    for name in spec.secrets:
        if name in spec.env:
            yield Problem(f"spec.secrets.{name}", f"{name} is also in spec.env; set it in one")
        sources.append((f"spec.secrets.{name}", name))
    for i, service in enumerate(spec.app.services if spec.app else []):
        sources += [(f"spec.app.services[{i}].env.{k}", k) for k in service.env]
    for path, name in sources:
        if name in injected:
            yield Problem(
                path,
                f"{name} is set by vibn to the connection URL of {injected[name]}; "
                "rename the variable or the database's env_var",
            )
        elif name.startswith(RESERVED_ENV_PREFIX):
            yield Problem(path, f"names starting with {RESERVED_ENV_PREFIX} are reserved for vibn")
        else:
            for prefix, section in prefixes.items():
                if name.startswith(prefix):
                    yield Problem(
                        path,
                        f"{prefix}* variables are set by vibn for spec.{section}; use another name",
                    )


def _queues(stack: Stack) -> Iterator[Problem]:
    for i, queue in enumerate(stack.spec.queues):
        if queue.min_backoff_seconds > queue.max_backoff_seconds:
            yield Problem(
                f"spec.queues[{i}].min_backoff_seconds",
                f"min_backoff_seconds ({queue.min_backoff_seconds:g}) is more than "
                f"max_backoff_seconds ({queue.max_backoff_seconds:g})",
            )


def _default_bucket(stack: Stack) -> Iterator[Problem]:
    storage = stack.spec.storage
    if storage is None or storage.bucket is not None or storage.per_stack:
        return
    name = default_bucket_name(stack.metadata.workspace)
    problem = bucket_name_problem(name)
    if problem:
        yield Problem(
            "spec.storage.bucket",
            f"the default bucket name cannot be used: {problem}; set storage.bucket",
        )


def _email(stack: Stack) -> Iterator[Problem]:
    """A sender domain must be the stack's own domain (or under it): that is how vibn
    knows the workspace owns it, and where it writes the DKIM, SPF and DMARC records.
    Without a sender domain, mail goes out from the platform's shared sender."""
    email, domain = stack.spec.email, stack.spec.domain
    if email is None or email.sender_domain is None:
        return
    if domain is None:
        yield Problem(
            "spec.email.sender_domain",
            f"{shown(email.sender_domain)} is not a domain this stack owns: declare it as "
            "spec.domain (vibn writes its DKIM records in that zone), or leave "
            "sender_domain out to send from the platform's shared sender",
        )
        return
    if not (email.sender_domain == domain.name or email.sender_domain.endswith("." + domain.name)):
        yield Problem(
            "spec.email.sender_domain",
            f"{shown(email.sender_domain)} is not {shown(domain.name)} or one of its "
            "subdomains; vibn publishes the sender's DKIM records in the stack's domain",
        )

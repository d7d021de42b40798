"""Compile the domain, email and backup sections into resources and the env vars they give.

A domain becomes a Cloud DNS zone (``domain.zone``), the app's records in it
(``domain.records``), a registration at OpenSRS when ``register: true``
(``domain.registration``, given the zone's name servers) and a status probe
(``domain.status``) that carries ``DomainReady`` while delegation, records and the
attachment settle. Email becomes an SES configuration set (``email.events``), a domain
identity with Easy DKIM and a custom MAIL FROM (``email.identity``) and its DNS records
in the domain's zone (``email.dns``); every app gets ``SMTP_*`` and ``EMAIL_FROM``. A
stack without an email section still gets working ``SMTP_*`` for the platform's shared
sender. Database backups go to the workspace bucket through a Coolify S3 destination
(``backups.s3``) built on the stack's HMAC key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vibn.providers.gcp.common import DEFAULT_LOCATION
from vibn.providers.gcp.dns_names import zone_name
from vibn.specs.model import BACKUP_ENGINES, Stack

from .compile_gcp import bucket_props
from .graph import DERIVATIONS, Derive, Graph, Ref, Resource
from .platform import MailPlatform

TTL = 300
DKIM_KEY_LENGTH = "RSA_2048_BIT"
EVENT_TYPES = ("BOUNCE", "COMPLAINT")


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _record(name: str, rtype: str, rrdatas: list[str]) -> dict[str, Any]:
    return {"name": fqdn(name), "type": rtype, "ttl": TTL, "rrdatas": sorted(rrdatas)}


def app_records(domain: str, ip: str, www: bool) -> list[dict[str, Any]]:
    """The apex A record (and ``www`` CNAME) that send the domain to the app's server."""
    records = [_record(domain, "A", [ip])]
    if www:
        records.append(_record(f"www.{domain}", "CNAME", [fqdn(domain)]))
    return sorted(records, key=lambda r: (r["name"], r["type"]))


def email_records(
    domain: str, mail_from: str, policy: str, region: str, tokens: list[str], hosted_zone: str
) -> list[dict[str, Any]]:
    """DKIM CNAMEs (one per SES token), the MAIL FROM MX and SPF, and DMARC."""
    records = [
        _record(f"{token}._domainkey.{domain}", "CNAME", [fqdn(f"{token}.{hosted_zone}")])
        for token in tokens
    ]
    records += [
        _record(mail_from, "MX", [f"10 feedback-smtp.{region}.amazonses.com."]),
        _record(mail_from, "TXT", ['"v=spf1 include:amazonses.com ~all"']),
        _record(f"_dmarc.{domain}", "TXT", [f'"v=DMARC1; p={policy}"']),
    ]
    return sorted(records, key=lambda r: (r["name"], r["type"]))


DERIVATIONS["app_records"] = app_records
DERIVATIONS["email_records"] = email_records


def compile_domain(graph: Graph, stack: Stack) -> None:
    """Zone, app records, registration and the readiness probe of ``spec.domain``."""
    domain = stack.spec.domain
    if domain is None:
        return
    ws, name = stack.metadata.workspace, stack.metadata.name
    zone = zone_name(ws, domain.name)
    graph.add(
        Resource(
            "domain.zone",
            "gcp.dns_zone",
            {
                "name": zone,
                "dns_name": fqdn(domain.name),
                "description": f"DNS of {domain.name} for stack {name} (vibn)",
            },
            section="domain",
        )
    )
    attached = attachment(stack)
    attach = attached.address if attached else None
    if attached is not None:
        if attached.replicas > 1:
            graph.warnings.append(
                f"{attached.address}: only replica 1 of {attached.service} answers on "
                f"{domain.name} (Coolify gives a domain to one application); the others "
                "keep their generated domains"
            )
        graph.add(
            Resource(
                "domain.records",
                "gcp.dns_records",
                {
                    "zone": Ref("domain.zone", "name"),
                    "records": Derive(
                        "app_records",
                        (domain.name, Ref(attached.address, "server_ip"), domain.www_redirect),
                    ),
                },
                section="domain",
            )
        )
    if domain.register_:
        graph.add(
            Resource(
                "domain.registration",
                "opensrs.domain",
                {
                    "name": domain.name,
                    "period": domain.period,
                    "auto_renew": domain.auto_renew,
                    "nameservers": Ref("domain.zone", "name_servers"),
                },
                section="domain",
            )
        )
    graph.add(
        Resource(
            "domain.status",
            "dns.domain_status",
            {"domain": domain.name, "attach_to": attach},
            section="domain",
            depends_on=frozenset(
                {"domain.zone"}
                | ({"domain.records", attach} if attach else set())
                | ({"domain.registration"} if domain.register_ else set())
            ),
        )
    )


@dataclass(frozen=True)
class Attachment:
    """Which application serves the domain, and the Coolify ``domains`` it gets."""

    service: str
    replicas: int
    domains: str

    @property
    def address(self) -> str:
        return f"app.{self.service}-1"


def attachment(stack: Stack) -> Attachment | None:
    """Replica 1 of ``attach_to`` (or of the first web service)
    serves the domain, with Coolify ``domains`` ``https://{name}`` (and ``www``). Coolify
    gives a domain to one application only, so further replicas keep their own."""
    domain, app = stack.spec.domain, stack.spec.app
    if domain is None or app is None:
        return None
    webs = [s for s in app.services if s.type == "web" and s.replicas > 0]
    chosen = next((s for s in app.services if s.name == domain.attach_to), None)
    chosen = chosen or (webs[0] if webs and domain.attach_to is None else None)
    if chosen is None or chosen.replicas == 0:
        return None
    hosts = [f"https://{domain.name}"]
    if domain.www_redirect:
        hosts.append(f"https://www.{domain.name}")
    return Attachment(chosen.name, chosen.replicas, ",".join(hosts))


def compile_email(graph: Graph, stack: Stack, mail: MailPlatform) -> dict[str, Any]:
    """SES configuration set, identity and DNS records; returns the app's mail env vars."""
    email, domain = stack.spec.email, stack.spec.domain
    env: dict[str, Any] = {
        "SMTP_HOST": mail.smtp_host,
        "SMTP_PORT": "587",
        "SMTP_SECURE": "starttls",
    }
    if mail.smtp_username and mail.smtp_password is not None:
        env["SMTP_USERNAME"] = mail.smtp_username
        env["SMTP_PASSWORD"] = mail.smtp_password
    sender = (email.sender_domain or (domain.name if domain else None)) if email else None
    if email is None or sender is None:
        env["EMAIL_FROM"] = mail.shared_sender
        return env
    ws, name = stack.metadata.workspace, stack.metadata.name
    mail_from = f"mail.{sender}"
    graph.add(
        Resource(
            "email.events",
            "ses.configuration_set",
            {
                "name": f"vibn-{ws}-{name}",
                "event_types": list(EVENT_TYPES),
                "event_bus_arn": mail.event_bus_arn,
            },
            section="email",
        )
    )
    graph.add(
        Resource(
            "email.identity",
            "ses.identity",
            {
                "domain": sender,
                "configuration_set": Ref("email.events", "name"),
                "mail_from_domain": mail_from,
                "dkim_key_length": DKIM_KEY_LENGTH,
            },
            section="email",
        )
    )
    if domain is not None:
        graph.add(
            Resource(
                "email.dns",
                "gcp.dns_records",
                {
                    "zone": Ref("domain.zone", "name"),
                    "records": Derive(
                        "email_records",
                        (
                            sender,
                            mail_from,
                            email.dmarc.policy,
                            mail.region,
                            Ref("email.identity", "dkim_tokens"),
                            Ref("email.identity", "signing_hosted_zone"),
                        ),
                    ),
                },
                section="email",
            )
        )
    env["EMAIL_FROM"] = f"{email.from_[0]}@{sender}"
    for local in email.from_:
        env[f"EMAIL_FROM_{local.upper().replace('.', '_').replace('-', '_').replace('+', '_')}"] = (
            f"{local}@{sender}"
        )
    env["EMAIL_CONFIGURATION_SET"] = f"vibn-{ws}-{name}"
    return env


def compile_backups(graph: Graph, stack: Stack, storage_service_account: str) -> None:
    """Point every backup schedule at the workspace bucket through a Coolify S3 entry."""
    backups = [
        db
        for db in stack.spec.databases
        if db.engine in BACKUP_ENGINES
        and db.backups.enabled
        and f"database.{db.name}.backup" in graph.resources
    ]
    if not backups:
        return
    ws, name = stack.metadata.workspace, stack.metadata.name
    if "workspace.bucket" not in graph.resources:
        graph.add(
            Resource(
                "workspace.bucket",
                "gcp.bucket",
                bucket_props(f"vibn-ws-{ws}", DEFAULT_LOCATION, False, False),
                section="databases",
                shared=True,
            )
        )
    if "storage.hmac_key" not in graph.resources:
        graph.add(
            Resource(
                "storage.hmac_key",
                "gcp.hmac_key",
                {"service_account": storage_service_account},
                section="databases",
                depends_on=frozenset({"workspace.bucket"}),
            )
        )
    graph.add(
        Resource(
            "backups.s3",
            "coolify.s3_storage",
            {
                "name": f"vibn-{ws}-{name}-backups",
                "endpoint": "https://storage.googleapis.com",
                "bucket": Ref("workspace.bucket", "name"),
                "region": "northamerica-northeast1",
                "key": Ref("storage.hmac_key", "access_id"),
                "secret": Ref("storage.hmac_key", "secret"),
            },
            section="databases",
        )
    )
    for db in backups:
        address = f"database.{db.name}.backup"
        res = graph.resources[address]
        graph.resources[address] = Resource(
            res.address,
            res.kind,
            {**res.props, "save_s3": True, "s3_storage_uuid": Ref("backups.s3", "uuid")},
            res.section,
            res.depends_on,
            res.shared,
        )

"""Account-wide SES v2 operations: tags by ARN, GetAccount and SendEmail.

Tags address a resource by ARN (``arn:aws:ses:REGION:ACCOUNT:identity/NAME`` or
``…:configuration-set/NAME``); an ARN of another region or account names nothing here.
SendEmail refuses (``MessageRejected``, HTTP 400) a From address that is not a verified
identity, either itself or through its domain, and, while the account has no production
access, any recipient that is not verified either; it honours the identity's default
configuration set and a REJECT_MESSAGE MAIL FROM that is not verified yet. Accepted
messages are recorded, not delivered: ``GET /_sandbox/ses/messages`` lists them.
"""

from __future__ import annotations

import base64
import binascii
import copy
import email
import re
import uuid
from email.utils import getaddresses, parseaddr

from starlette.responses import Response

from vibn.sandbox.routing import Router
from vibn.sandbox.ses import configsets, identities
from vibn.sandbox.ses.store import Record
from vibn.sandbox.ses.wire import (
    Call,
    Doc,
    Handler,
    SesError,
    bad_request,
    invalid,
    not_found,
    reply,
    tags_in,
)

_ARN = re.compile(r"^arn:aws:ses:([a-z0-9-]+):(\d{12}):(identity|configuration-set)/(.+)$")
DAY = 86400.0


def _resource(call: Call, arn: str | None) -> Record:
    if not arn:
        invalid("resourceArn", "Member must not be null")
    m = _ARN.match(arn)
    if m is None:
        bad_request(f"Invalid ARN: {arn}")
    region, account, kind, name = m.groups()
    rec = None
    if region == call.region and account == call.account:
        if kind == "identity":
            rec = call.store.identity(name)
        else:
            rec = call.store.configuration_sets().get(name)
    if rec is None:
        not_found(f"Resource {arn} does not exist.")
    return rec


def tag_resource(call: Call) -> Response:
    rec = _resource(call, call.text("ResourceArn", "resourceArn", required=True))
    if call.arg("Tags") is None:
        invalid("tags", "Member must not be null")
    merged = {t["Key"]: t["Value"] for t in rec["tags"]}
    merged.update({t["Key"]: t["Value"] for t in tags_in(call.arg("Tags"))})
    rec["tags"] = tags_in([{"Key": k, "Value": v} for k, v in merged.items()])
    call.store.mark_dirty()
    return reply()


def untag_resource(call: Call) -> Response:
    arns = call.query_all("ResourceArn")
    rec = _resource(call, arns[0] if arns else None)
    keys = set(call.query_all("TagKeys"))
    if not keys:
        invalid("tagKeys", "Member must not be null")
    rec["tags"] = [t for t in rec["tags"] if t["Key"] not in keys]
    call.store.mark_dirty()
    return reply()


def list_tags(call: Call) -> Response:
    arns = call.query_all("ResourceArn")
    rec = _resource(call, arns[0] if arns else None)
    return reply({"Tags": copy.deepcopy(rec["tags"])})


def _sent_today(call: Call) -> int:
    return sum(
        len(m["recipients"]) for m in call.store.messages().values() if m["at"] > call.now - DAY
    )


def get_account(call: Call) -> Response:
    production = call.store.settings.production_access
    return reply(
        {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": production,
            "SendQuota": {
                "Max24HourSend": 50000.0 if production else 200.0,
                "MaxSendRate": 14.0 if production else 1.0,
                "SentLast24Hours": float(_sent_today(call)),
            },
            "SendingEnabled": True,
            "SuppressionAttributes": {"SuppressedReasons": []},
        }
    )


def _verified(call: Call, address: str) -> Record | None:
    """The identity that lets ``address`` send: itself if verified, else its domain."""
    for name in (address, identities.domain_of(address)):
        rec = call.store.identity(name)
        if rec is not None:
            identities.refreshed(call, rec)
            if identities.verified_for_sending(call, rec):
                return rec
    return None


def _rejected(call: Call, addresses: list[str]) -> SesError:
    return SesError(
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        f"{call.region.upper()}: {', '.join(addresses)}",
    )


def _content(call: Call) -> tuple[str, str | None]:
    """``(subject, From header)`` of the Content member."""
    content = call.arg("Content")
    if not isinstance(content, dict):
        invalid("content", "Member must not be null")
    if isinstance(content.get("Simple"), dict):
        simple = content["Simple"]
        subject = (simple.get("Subject") or {}).get("Data")
        if not isinstance(subject, str):
            invalid("content.simple.subject.data", "Member must not be null")
        if not isinstance(simple.get("Body"), dict):
            invalid("content.simple.body", "Member must not be null")
        return subject, None
    if isinstance(content.get("Raw"), dict):
        try:
            data = base64.b64decode(str(content["Raw"].get("Data") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise SesError("SerializationException", "Raw.Data must be base64.") from None
        parsed = email.message_from_bytes(data)
        return str(parsed.get("Subject", "")), parsed.get("From")
    if isinstance(content.get("Template"), dict):
        template = content["Template"]
        if template.get("TemplateName") or template.get("TemplateArn"):
            name = template.get("TemplateName") or template.get("TemplateArn")
            not_found(f"Template {name} does not exist.")
        return str((template.get("TemplateContent") or {}).get("Subject", "")), None
    bad_request("Content must have exactly one of Simple, Raw or Template.")


def _mail_from(call: Call, identity: Record, sender: str) -> Record | None:
    """The MAIL FROM setting that applies: the sending identity's, else its domain's."""
    if identity.get("mail_from"):
        found: Record = identity["mail_from"]
        return found
    domain = call.store.identity(identities.domain_of(sender))
    return domain.get("mail_from") if domain is not None else None


def _message_id(call: Call) -> str:
    return f"0100{int(call.now * 1000):012x}-{uuid.uuid4()}-000000"


def send_email(call: Call) -> Response:
    subject, raw_from = _content(call)
    sender = parseaddr(call.text("FromEmailAddress", "fromEmailAddress") or raw_from or "")[1]
    if not sender:
        bad_request("Missing required field FromEmailAddress.")
    dest = call.arg("Destination") or {}
    if not isinstance(dest, dict):
        raise SesError("SerializationException", "Destination must be an object.")
    listed = [
        str(a)
        for key in ("ToAddresses", "CcAddresses", "BccAddresses")
        for a in dest.get(key) or []
    ]
    recipients = [addr for _, addr in getaddresses(listed) if addr]
    if not recipients:
        bad_request("Recipient count exceeds 50 or there are no recipients.")
    identity = _verified(call, sender)
    if identity is None:
        raise _rejected(call, [sender])
    if not call.store.settings.production_access:
        unverified = [r for r in recipients if _verified(call, r) is None]
        if unverified:
            raise _rejected(call, unverified)
    config_set = call.text("ConfigurationSetName", "configurationSetName")
    if config_set:
        configsets.lookup(call, config_set)
    elif identity.get("configuration_set"):
        config_set = identity["configuration_set"]
        if config_set not in call.store.configuration_sets():
            bad_request(f"Configuration set <{config_set}> does not exist.")
    mail_from = _mail_from(call, identity, sender)
    if mail_from and mail_from["behavior"] == "REJECT_MESSAGE" and mail_from["status"] != "SUCCESS":
        raise SesError(
            "MailFromDomainNotVerifiedException",
            f"The MAIL FROM domain {mail_from['domain']} is not verified.",
        )
    message_id = _message_id(call)
    doc: Doc = {
        "MessageId": message_id,
        "at": call.now,
        "from": sender,
        "recipients": recipients,
        "destination": copy.deepcopy(dest),
        "subject": subject,
        "configuration_set": config_set,
        "tags": copy.deepcopy(call.arg("EmailTags") or []),
    }
    call.store.messages()[message_id] = doc
    call.store.mark_dirty()
    return reply({"MessageId": message_id})


def register(router: Router[Handler]) -> None:
    router.add("POST", "/v2/email/tags", tag_resource)
    router.add("DELETE", "/v2/email/tags", untag_resource)
    router.add("GET", "/v2/email/tags", list_tags)
    router.add("GET", "/v2/email/account", get_account)
    router.add("POST", "/v2/email/outbound-emails", send_email)

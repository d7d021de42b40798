"""Email identities: ``/v2/email/identities`` and ``/v2/email/list-identities``.

A domain identity is created with Easy DKIM (three random tokens, status PENDING,
signing hosted zone ``dkim.amazonses.com``) unless the request brings its own key
(BYODKIM: ``SigningAttributesOrigin`` EXTERNAL, the selector as the only token); an
address identity borrows its domain's DKIM and waits for its verification link. A
custom MAIL FROM domain must be a subdomain of the identity's domain. Names compare
case-insensitively; the spelling of the first create is kept. Statuses advance as
``verify`` describes each time an identity is read.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from starlette.responses import Response

from vibn.sandbox.routing import Router
from vibn.sandbox.ses import verify
from vibn.sandbox.ses.store import Record
from vibn.sandbox.ses.wire import (
    Call,
    Doc,
    Handler,
    SesError,
    bad_request,
    enum,
    invalid,
    not_found,
    paginate,
    reply,
    tags_in,
)

BASE = "/v2/email/identities"
KEY_LENGTHS = ("RSA_1024_BIT", "RSA_2048_BIT")
BEHAVIORS = ("USE_DEFAULT_VALUE", "REJECT_MESSAGE")
FILTER_KEYS = ("IDENTITY_NAME_CONTAINS", "IDENTITY_TYPE", "VERIFICATION_STATUS")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


def is_domain(name: str) -> bool:
    labels = name.lower().rstrip(".").split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(lb) for lb in labels)


def domain_of(name: str) -> str:
    return name.rpartition("@")[2].lower()


def new_token() -> str:
    """A DKIM token as SES makes them: 32 characters of lower-case base32."""
    return base64.b32encode(secrets.token_bytes(20)).decode().lower()


def _lookup(call: Call, name: str, missing: str) -> Record:
    rec = call.store.identity(name)
    if rec is None:
        not_found(missing.format(name=name))
    return rec


def refreshed(call: Call, rec: Record) -> Record:
    settings = call.store.settings
    if verify.refresh(rec, call.dns, call.now, settings.verification_delay, settings.region):
        call.store.mark_dirty()
    return rec


def _domain_dkim(call: Call, rec: Record) -> Record | None:
    if rec["type"] == "DOMAIN":
        dkim: Record | None = rec["dkim"]
        return dkim
    parent = call.store.identity(domain_of(rec["name"]))
    if parent is None:
        return None
    return refreshed(call, parent)["dkim"] if parent["type"] == "DOMAIN" else None


def dkim_view(call: Call, rec: Record) -> Doc:
    dkim = _domain_dkim(call, rec)
    if dkim is None:
        return {
            "SigningEnabled": False,
            "Status": "NOT_STARTED",
            "SigningAttributesOrigin": "AWS_SES",
            "NextSigningKeyLength": "RSA_1024_BIT",
        }
    view: Doc = {
        "SigningEnabled": dkim["signing_enabled"],
        "Status": dkim["status"],
        "Tokens": list(dkim["tokens"]),
        "SigningAttributesOrigin": dkim["origin"],
    }
    if dkim["origin"] == "AWS_SES":
        view.update(
            SigningHostedZone=dkim["zone"],
            NextSigningKeyLength=dkim["next_length"],
            CurrentSigningKeyLength=dkim["current_length"],
            LastKeyGenerationTimestamp=dkim["generated"],
        )
    return view


def status_of(call: Call, rec: Record) -> str:
    if rec["type"] == "EMAIL_ADDRESS":
        return str(rec["address"]["status"])
    return str(rec["dkim"]["status"])


def verified_for_sending(call: Call, rec: Record) -> bool:
    return status_of(call, rec) in ("SUCCESS", "TEMPORARY_FAILURE")


def _verification_info(rec: Record) -> Doc:
    check = rec["address"] if rec["type"] == "EMAIL_ADDRESS" else rec["dkim"]
    info: Doc = {"LastCheckedTimestamp": check.get("checked")}
    if check.get("success") is not None:
        info["LastSuccessTimestamp"] = check["success"]
    if check["status"] in ("FAILED", "TEMPORARY_FAILURE") and rec["type"] == "DOMAIN":
        info["ErrorType"] = "HOST_NOT_FOUND"
    return {k: v for k, v in info.items() if v is not None}


def identity_view(call: Call, rec: Record) -> Doc:
    mail_from: Doc = {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    if rec.get("mail_from"):
        mf = rec["mail_from"]
        mail_from = {
            "MailFromDomain": mf["domain"],
            "MailFromDomainStatus": mf["status"],
            "BehaviorOnMxFailure": mf["behavior"],
        }
    return {
        "IdentityType": rec["type"],
        "FeedbackForwardingStatus": rec.get("feedback", True),
        "VerifiedForSendingStatus": verified_for_sending(call, rec),
        "DkimAttributes": dkim_view(call, rec),
        "MailFromAttributes": mail_from,
        "Policies": dict(rec.get("policies") or {}),
        "Tags": list(rec.get("tags") or []),
        "ConfigurationSetName": rec.get("configuration_set"),
        "VerificationStatus": status_of(call, rec),
        "VerificationInfo": _verification_info(rec),
    }


def _new_dkim(call: Call, attrs: Any) -> Record:
    attrs = attrs if isinstance(attrs, dict) else {}
    base: Record = {"status": "PENDING", "since": call.now, "checked": None, "success": None}
    selector, key = attrs.get("DomainSigningSelector"), attrs.get("DomainSigningPrivateKey")
    if selector or key:
        if not (isinstance(selector, str) and isinstance(key, str) and selector and key):
            bad_request("BYODKIM needs both DomainSigningSelector and DomainSigningPrivateKey.")
        return {**base, "origin": "EXTERNAL", "tokens": [selector], "signing_enabled": True}
    length = attrs.get("NextSigningKeyLength", "RSA_2048_BIT")
    enum(length, KEY_LENGTHS, "dkimSigningAttributes.nextSigningKeyLength")
    return {
        **base,
        "origin": "AWS_SES",
        "tokens": [new_token() for _ in range(3)],
        "zone": verify.DKIM_ZONE,
        "signing_enabled": True,
        "next_length": length,
        "current_length": length,
        "generated": call.now,
    }


def create(call: Call) -> Response:
    name = call.text("EmailIdentity", "emailIdentity", required=True)
    assert name is not None
    address = "@" in name
    if address and not (
        _LOCAL.match(name.rpartition("@")[0]) and is_domain(name.rpartition("@")[2])
    ):
        bad_request(f"Invalid email address <{name}>.")
    if not address and not is_domain(name):
        bad_request(f"Invalid domain name <{name}>.")
    tags = tags_in(call.arg("Tags"))
    config_set = call.text("ConfigurationSetName", "configurationSetName")
    if config_set and config_set not in call.store.configuration_sets():
        not_found(f"Configuration set <{config_set}> does not exist.")
    if call.store.identity(name) is not None:
        raise SesError("AlreadyExistsException", f"Email identity {name} already exist.")
    rec: Record = {
        "name": name,
        "type": "EMAIL_ADDRESS" if address else "DOMAIN",
        "created": call.now,
        "tags": tags,
        "configuration_set": config_set or None,
        "feedback": True,
        "policies": {},
        "mail_from": None,
        "dkim": None,
    }
    if address:
        rec["address"] = {"status": "PENDING", "since": call.now, "checked": call.now}
    else:
        rec["dkim"] = _new_dkim(call, call.arg("DkimSigningAttributes"))
    call.store.identities()[name.lower()] = rec
    call.store.mark_dirty()
    answer: Doc = {"IdentityType": rec["type"], "VerifiedForSendingStatus": False}
    if not address:
        answer["DkimAttributes"] = dkim_view(call, rec)
    return reply(answer)


def get(call: Call) -> Response:
    name = call.params["identity"]
    rec = refreshed(call, _lookup(call, name, "Identity {name} does not exist."))
    return reply(identity_view(call, rec))


def _matches(call: Call, rec: Record, filters: dict[str, Any]) -> bool:
    contains = filters.get("IDENTITY_NAME_CONTAINS")
    if contains and str(contains).lower() not in rec["name"].lower():
        return False
    kind = filters.get("IDENTITY_TYPE")
    if kind and kind != rec["type"]:
        return False
    status = filters.get("VERIFICATION_STATUS")
    return not status or status == status_of(call, rec)


def list_identities(call: Call) -> Response:
    filters = call.arg("Filter") or {}
    if not isinstance(filters, dict):
        raise SesError("SerializationException", "Filter must be an object.")
    for key in filters:
        enum(key, FILTER_KEYS, "filter")
    records = [refreshed(call, rec) for rec in call.store.identities().values()]
    chosen = [rec for rec in records if _matches(call, rec, filters)]
    page, token = paginate(chosen, lambda r: str(r["name"]).lower(), call)
    items = [
        {
            "IdentityType": rec["type"],
            "IdentityName": rec["name"],
            "SendingEnabled": verified_for_sending(call, rec),
            "VerificationStatus": status_of(call, rec),
        }
        for rec in page
    ]
    return reply({"EmailIdentities": items, "NextToken": token})


def delete(call: Call) -> Response:
    name = call.params["identity"]
    _lookup(call, name, "Email identity {name} does not exist.")
    del call.store.identities()[name.lower()]
    call.store.mark_dirty()
    return reply()


def put_mail_from(call: Call) -> Response:
    name = call.params["identity"]
    rec = call.store.identity(name)
    if rec is None:
        bad_request(f"Identity {name} does not exist.")
    domain = call.text("MailFromDomain", "mailFromDomain")
    behavior = call.arg("BehaviorOnMxFailure") or "USE_DEFAULT_VALUE"
    enum(behavior, BEHAVIORS, "behaviorOnMxFailure")
    if not domain:
        rec["mail_from"] = None
    else:
        parent = domain_of(rec["name"])
        wanted = domain.lower().rstrip(".")
        if not is_domain(wanted) or not wanted.endswith("." + parent):
            bad_request(
                f"MAIL FROM domain {domain} must be a subdomain of the verified identity {parent}."
            )
        rec["mail_from"] = {
            "domain": wanted,
            "behavior": behavior,
            "status": "PENDING",
            "since": call.now,
            "checked": None,
            "success": None,
        }
    call.store.mark_dirty()
    return reply()


def put_dkim(call: Call) -> Response:
    name = call.params["identity"]
    rec = call.store.identity(name)
    enabled = call.arg("SigningEnabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise SesError("SerializationException", "SigningEnabled must be a boolean.")
    if rec is None:
        bad_request(f"Domain {name} is not verified for DKIM signing.")
    if rec["type"] == "DOMAIN":
        rec["dkim"]["signing_enabled"] = bool(enabled)
        call.store.mark_dirty()
    return reply()


def put_dkim_signing(call: Call) -> Response:
    name = call.params["identity"]
    rec = _lookup(call, name, "Identity {name} does not exist.")
    origin = call.arg("SigningAttributesOrigin")
    enum(origin, ("AWS_SES", "EXTERNAL"), "signingAttributesOrigin")
    if rec["type"] != "DOMAIN":
        bad_request(f"DKIM signing attributes can only be set on a domain, not {name}.")
    attrs = call.arg("SigningAttributes") or {}
    old = rec["dkim"]
    if origin == "AWS_SES" and old["origin"] == "AWS_SES":
        length = attrs.get("NextSigningKeyLength", old["next_length"])
        enum(length, KEY_LENGTHS, "signingAttributes.nextSigningKeyLength")
        old["next_length"] = length
    elif origin == "AWS_SES":
        rec["dkim"] = _new_dkim(call, {"NextSigningKeyLength": attrs.get("NextSigningKeyLength")})
    else:
        if not attrs.get("DomainSigningSelector"):
            invalid("signingAttributes.domainSigningSelector", "Member must not be null")
        rec["dkim"] = _new_dkim(call, attrs)
    call.store.mark_dirty()
    dkim = rec["dkim"]
    return reply(
        {
            "DkimStatus": dkim["status"],
            "DkimTokens": list(dkim["tokens"]),
            "SigningHostedZone": dkim.get("zone"),
        }
    )


def put_configuration_set(call: Call) -> Response:
    name = call.params["identity"]
    rec = _lookup(call, name, "Identity {name} does not exist.")
    config_set = call.text("ConfigurationSetName", "configurationSetName")
    if config_set and config_set not in call.store.configuration_sets():
        not_found(f"Configuration set <{config_set}> does not exist.")
    rec["configuration_set"] = config_set or None
    call.store.mark_dirty()
    return reply()


def register(router: Router[Handler]) -> None:
    router.add("POST", BASE, create)
    router.add("POST", "/v2/email/list-identities", list_identities)
    router.add("GET", BASE + "/{identity}", get)
    router.add("DELETE", BASE + "/{identity}", delete)
    router.add("PUT", BASE + "/{identity}/mail-from", put_mail_from)
    router.add("PUT", BASE + "/{identity}/dkim", put_dkim)
    router.add("PUT", BASE + "/{identity}/dkim/signing", put_dkim_signing)
    router.add("PUT", BASE + "/{identity}/configuration-set", put_configuration_set)

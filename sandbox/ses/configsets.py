"""Configuration sets and their event destinations: ``/v2/email/configuration-sets``.

A configuration set names the rules SES applies to mail sent through it; vibn gives
each stack one whose event destination routes bounces and complaints to EventBridge.
Names are ASCII letters, digits, ``_`` and ``-`` (at most 64), as are destination names;
a set holds at most 10 destinations. A destination has exactly one target (SNS topic,
EventBridge bus, CloudWatch dimensions, Firehose stream or Pinpoint app) and at least
one of SES's event types. EventBridge takes only the account's ``default`` bus in the
endpoint's own region, and an SNS topic must be in that region too: SES publishes
nowhere else. Listing is ``POST /v2/email/list-configuration-sets``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.responses import Response

from vibn.sandbox.routing import Router
from vibn.sandbox.ses.store import Record
from vibn.sandbox.ses.wire import (
    Call,
    Doc,
    Handler,
    SesError,
    bad_request,
    check_name,
    enum,
    invalid,
    not_found,
    paginate,
    reply,
    tags_in,
)

BASE = "/v2/email/configuration-sets"
EVENT_TYPES = (
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
)
TARGETS = (
    "KinesisFirehoseDestination",
    "CloudWatchDestination",
    "SnsDestination",
    "EventBridgeDestination",
    "PinpointDestination",
)
MAX_DESTINATIONS = 10
OPTIONS = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "SuppressionOptions",
    "VdmOptions",
    "ArchivingOptions",
    "MessageSecurityOptions",
)
_SNS_ARN = re.compile(r"^arn:aws:sns:([a-z0-9-]+):(\d{12}):[A-Za-z0-9_-]{1,256}$")


def missing(name: str) -> str:
    return f"Configuration set <{name}> does not exist."


def lookup(call: Call, name: str) -> Record:
    rec = call.store.configuration_sets().get(name)
    if rec is None:
        not_found(missing(name))
    return rec


def _object(value: Any, member: str) -> Doc:
    if not isinstance(value, dict):
        raise SesError("SerializationException", f"{member} must be an object.")
    return value


def _check_target(call: Call, kind: str, target: Doc) -> None:
    path = f"eventDestination.{kind[0].lower()}{kind[1:]}"
    if kind == "EventBridgeDestination":
        arn = target.get("EventBusArn")
        if not isinstance(arn, str):
            invalid(f"{path}.eventBusArn", "Member must not be null")
        bus = f"arn:aws:events:{call.region}:{call.account}:event-bus/default"
        if arn != bus:
            bad_request(f"Only the default event bus ({bus}) is supported, not {arn}.")
    elif kind == "SnsDestination":
        arn = target.get("TopicArn")
        if not isinstance(arn, str):
            invalid(f"{path}.topicArn", "Member must not be null")
        m = _SNS_ARN.match(arn)
        if m is None or m.group(1) != call.region:
            bad_request(f"Invalid SNS topic ARN {arn}: the topic must be in {call.region}.")
    elif kind == "CloudWatchDestination":
        dims = target.get("DimensionConfigurations")
        if not isinstance(dims, list) or not dims:
            invalid(f"{path}.dimensionConfigurations", "Member must not be null")
        for dim in dims:
            if not isinstance(dim, dict) or not dim.get("DimensionName"):
                invalid(
                    f"{path}.dimensionConfigurations.member.dimensionName",
                    "Member must not be null",
                )
            if not dim.get("DefaultDimensionValue"):
                invalid(
                    f"{path}.dimensionConfigurations.member.defaultDimensionValue",
                    "Member must not be null",
                )
            enum(
                dim.get("DimensionValueSource"),
                ("MESSAGE_TAG", "EMAIL_HEADER", "LINK_TAG"),
                f"{path}.dimensionConfigurations.member.dimensionValueSource",
            )
    elif kind == "KinesisFirehoseDestination":
        for member in ("IamRoleArn", "DeliveryStreamArn"):
            if not isinstance(target.get(member), str) or not target[member]:
                invalid(f"{path}.{member[0].lower()}{member[1:]}", "Member must not be null")


def destination_in(call: Call, raw: Any) -> Doc:
    """A validated ``EventDestination`` definition (without its name)."""
    if raw is None:
        invalid("eventDestination", "Member must not be null")
    spec = _object(raw, "EventDestination")
    types = spec.get("MatchingEventTypes")
    if not isinstance(types, list) or not types:
        bad_request("MatchingEventTypes must name at least one event type.")
    for value in types:
        if value not in EVENT_TYPES:
            invalid(
                "eventDestination.matchingEventTypes",
                "Member must satisfy constraint: [Member must satisfy enum value set: "
                f"[{', '.join(EVENT_TYPES)}]]",
                f"[{', '.join(str(t) for t in types)}]",
            )
    kinds = [k for k in TARGETS if spec.get(k) is not None]
    if len(kinds) != 1:
        bad_request("An event destination needs exactly one destination type.")
    target = _object(spec[kinds[0]], kinds[0])
    _check_target(call, kinds[0], target)
    enabled = spec.get("Enabled", False)
    if not isinstance(enabled, bool):
        raise SesError("SerializationException", "Enabled must be a boolean.")
    return {
        "Enabled": enabled,
        "MatchingEventTypes": list(dict.fromkeys(types)),
        kinds[0]: copy.deepcopy(target),
    }


def create(call: Call) -> Response:
    name = call.text("ConfigurationSetName", "configurationSetName", required=True)
    assert name is not None
    check_name(name, "configuration set")
    tags = tags_in(call.arg("Tags"))
    options = {k: copy.deepcopy(call.arg(k)) for k in OPTIONS if call.arg(k) is not None}
    for key, value in options.items():
        _object(value, key)
    if name in call.store.configuration_sets():
        raise SesError("AlreadyExistsException", f"Configuration set <{name}> already exists.")
    call.store.configuration_sets()[name] = {
        "name": name,
        "created": call.now,
        "tags": tags,
        "options": options,
        "destinations": {},
    }
    call.store.mark_dirty()
    return reply()


def get(call: Call) -> Response:
    rec = lookup(call, call.params["name"])
    options = rec["options"]
    view: Doc = {
        "ConfigurationSetName": rec["name"],
        "DeliveryOptions": {"TlsPolicy": "OPTIONAL"},
        "ReputationOptions": {"ReputationMetricsEnabled": False},
        "SendingOptions": {"SendingEnabled": True},
        "Tags": list(rec["tags"]),
        "SuppressionOptions": {"SuppressedReasons": []},
    }
    view.update(copy.deepcopy(options))
    return reply(view)


def list_sets(call: Call) -> Response:
    filters = call.arg("Filter") or {}
    if not isinstance(filters, dict):
        raise SesError("SerializationException", "Filter must be an object.")
    for key in filters:
        enum(key, ("CONFIGURATION_SET_NAME_CONTAINS",), "filter")
    contains = str(filters.get("CONFIGURATION_SET_NAME_CONTAINS") or "")
    names = [n for n in call.store.configuration_sets() if contains in n]
    page, token = paginate(names, lambda n: n, call)
    return reply({"ConfigurationSets": page, "NextToken": token})


def delete(call: Call) -> Response:
    name = call.params["name"]
    lookup(call, name)
    del call.store.configuration_sets()[name]
    call.store.mark_dirty()
    return reply()


def create_destination(call: Call) -> Response:
    rec = lookup(call, call.params["name"])
    dest_name = call.text("EventDestinationName", "eventDestinationName", required=True)
    assert dest_name is not None
    check_name(dest_name, "event destination")
    spec = destination_in(call, call.arg("EventDestination"))
    if dest_name in rec["destinations"]:
        raise SesError(
            "AlreadyExistsException",
            f"Event destination {dest_name} already exists in configuration set {rec['name']}.",
        )
    if len(rec["destinations"]) >= MAX_DESTINATIONS:
        raise SesError(
            "LimitExceededException",
            f"A configuration set can have at most {MAX_DESTINATIONS} event destinations.",
        )
    rec["destinations"][dest_name] = spec
    call.store.mark_dirty()
    return reply()


def list_destinations(call: Call) -> Response:
    rec = lookup(call, call.params["name"])
    items = [{"Name": n, **copy.deepcopy(d)} for n, d in rec["destinations"].items()]
    return reply({"EventDestinations": items})


def _destination(call: Call) -> tuple[Record, str]:
    rec = lookup(call, call.params["name"])
    dest_name = call.params["destination"]
    if dest_name not in rec["destinations"]:
        not_found(
            f"Event destination {dest_name} does not exist in configuration set {rec['name']}."
        )
    return rec, dest_name


def update_destination(call: Call) -> Response:
    rec, dest_name = _destination(call)
    rec["destinations"][dest_name] = destination_in(call, call.arg("EventDestination"))
    call.store.mark_dirty()
    return reply()


def delete_destination(call: Call) -> Response:
    rec, dest_name = _destination(call)
    del rec["destinations"][dest_name]
    call.store.mark_dirty()
    return reply()


def register(router: Router[Handler]) -> None:
    one = BASE + "/{name}"
    router.add("POST", BASE, create)
    router.add("POST", "/v2/email/list-configuration-sets", list_sets)
    router.add("GET", one, get)
    router.add("DELETE", one, delete)
    router.add("POST", one + "/event-destinations", create_destination)
    router.add("GET", one + "/event-destinations", list_destinations)
    router.add("PUT", one + "/event-destinations/{destination}", update_destination)
    router.add("DELETE", one + "/event-destinations/{destination}", delete_destination)

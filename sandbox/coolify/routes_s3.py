"""S3 destinations (``/s3-storages``): where scheduled database backups are uploaded.

Mirrors ``S3StoragesController``: one allow-list for create and update (anything else is
"This field is not allowed."), the endpoint checked like ``SafeWebhookUrl`` (an http(s)
URL whose host is not localhost, ``*.local``, ``*.internal`` or a private, loopback or
link-local address; the DNS lookup is left out) and the bucket like
``ValidS3BucketName``. ``key`` and ``secret`` are write-only here: Coolify shows them only
to tokens with ``read:sensitive`` and its published schema omits them, so the emulator
never answers with them and clients cannot come to depend on reading them back.

Deleting a storage a backup schedule still uses succeeds, as in Coolify (there is no
foreign key on ``scheduled_database_backups.s3_storage_id``); the schedule's next run
finds it gone, turns ``save_s3`` off and says so in the execution's message (see
``routes_backups``). ``validate`` cannot reach a bucket from here: it answers valid and
marks the storage usable, as ``testConnection`` does on success (a ``/_sandbox`` fault
on the route makes it answer otherwise).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.store import TEAM_ID, Record
from vibn.sandbox.coolify.validation import Bool, Spec, Str, coerce, validate
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router

ALLOWED = ("name", "description", "endpoint", "bucket", "region", "key", "secret", "is_usable")
REQUIRED = ("name", "endpoint", "bucket", "region", "key", "secret")
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{1,61}[A-Za-z0-9]$")
BUCKET_MESSAGE = (
    "The bucket must be a valid S3 bucket name: 3-63 letters, numbers, dots, or hyphens; "
    "start and end with a letter or number; no consecutive dots, dot-hyphen pairs, or IP "
    "address format."
)


def _rules(*, creating: bool) -> dict[str, Spec]:
    """The controller's rules; on create the six connection fields are required."""
    rules = {
        "name": Str(max=255),
        "description": Str(nullable=True, max=255),
        "endpoint": Str(max=255),
        "bucket": Spec(),
        "region": Str(max=255),
        "key": Str(max=255),
        "secret": Str(max=255),
        "is_usable": Bool(),
    }
    if creating:
        for name in REQUIRED:
            rules[name] = replace(rules[name], required=True)
    return rules


def _endpoint_problem(value: Any) -> str | None:
    """``SafeWebhookUrl`` without its DNS lookup: the message, or None when acceptable."""
    if not isinstance(value, str):
        return None  # the string rule has already spoken
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.netloc:
        return "The endpoint must be a valid URL."
    if parts.scheme.lower() not in ("http", "https"):
        return "The endpoint must use the http or https scheme."
    host = (parts.hostname or "").lower()
    if not host:
        return "The endpoint must contain a valid host."
    if host.endswith("."):
        return "The endpoint host must not end with a trailing dot."
    if host == "localhost" or host.endswith((".local", ".internal")):
        return "The endpoint must not point to localhost or internal hosts."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return (
            "The endpoint must not point to private, reserved, loopback, or link-local addresses."
        )
    return None


def _bucket_ok(value: Any) -> bool:
    if not isinstance(value, str) or not _BUCKET_RE.match(value):
        return False
    if ".." in value or ".-" in value or "-." in value:
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return True
    return False


def _checked(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate a create or update body; returns the values to store."""
    rules = _rules(creating=creating)
    errors = validate(body, rules, ALLOWED)
    if "endpoint" in body and "endpoint" not in errors:
        problem = _endpoint_problem(body["endpoint"])
        if problem:
            errors["endpoint"] = [problem]
    if "bucket" in body and "bucket" not in errors and not _bucket_ok(body["bucket"]):
        errors["bucket"] = [BUCKET_MESSAGE]
    if errors:
        invalid(errors)
    values = {k: coerce(v, rules[k]) for k, v in body.items()}
    for name in ("endpoint", "bucket", "region", "key", "secret"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()  # the model trims what it saves
    return values


def find_s3(call: Call) -> Record:
    s3 = call.store.find("s3_storages", call.param("uuid"))
    if s3 is None:
        fail(404, "S3 storage not found.")
    return s3


def list_s3(call: Call) -> Response:
    return reply([views.s3_storage(s) for s in call.store.rows("s3_storages")])


def create_s3(call: Call) -> Response:
    values = _checked(call.strict_json(), creating=True)
    s3 = call.store.insert(
        "s3_storages",
        {
            "description": None,
            "is_usable": False,
            "unusable_email_sent": False,
            "team_id": TEAM_ID,
            **values,
        },
    )
    return reply({"uuid": s3["uuid"]}, 201)


def get_s3(call: Call) -> Response:
    return reply(views.s3_storage(find_s3(call)))


def update_s3(call: Call) -> Response:
    values = _checked(call.strict_json(), creating=False)
    s3 = find_s3(call)
    s3.update(values)
    call.store.touch(s3)
    return reply({"uuid": s3["uuid"]})


def delete_s3(call: Call) -> Response:
    s3 = find_s3(call)
    call.store.remove("s3_storages", s3["uuid"])
    return reply({"message": "S3 storage deleted."})


def validate_s3(call: Call) -> Response:
    s3 = find_s3(call)
    s3.update(is_usable=True, unusable_email_sent=False)
    call.store.touch(s3)
    return reply({"valid": True, "message": "S3 storage connection is valid."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/s3-storages", list_s3),
    ("POST", "/s3-storages", create_s3),
    ("GET", "/s3-storages/{uuid}", get_s3),
    ("PATCH", "/s3-storages/{uuid}", update_s3),
    ("DELETE", "/s3-storages/{uuid}", delete_s3),
    ("POST", "/s3-storages/{uuid}/validate", validate_s3),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)

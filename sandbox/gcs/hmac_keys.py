"""HMAC keys: ``/storage/v1/projects/{project}/hmacKeys``.

vibn hands an app S3-style credentials for its bucket by creating an HMAC key
for a service account; the key's secret is returned once, by create, and never
again. The rules GCS enforces are kept: a key is ``ACTIVE`` or ``INACTIVE`` until
deleted, only an ``INACTIVE`` key can be deleted (it then stays visible as
``DELETED``, listed only with ``showDeletedKeys``), a stale ``etag`` on update
is refused with 412, and a service account holds at most 10 keys that are not
deleted.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from typing import Any

from starlette.responses import Response

from vibn.sandbox.gcs.buckets import API
from vibn.sandbox.gcs.gcp import PageTokenError, paginate, query_bool, rfc3339
from vibn.sandbox.gcs.store import Record
from vibn.sandbox.gcs.wire import (
    Call,
    Handler,
    fail,
    invalid,
    no_content,
    page_token_error,
    precondition_failed,
    required,
)
from vibn.sandbox.routing import Router

MAX_KEYS_PER_SERVICE_ACCOUNT = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_access_id() -> str:
    """A service-account key id: ``GOOG1E`` and 55 more characters (61 in all)."""
    return "GOOG1E" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(55))


def new_secret() -> str:
    """40 characters of base64 (30 random bytes), like the real secrets."""
    return base64.b64encode(secrets.token_bytes(30)).decode()


def _etag() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode().rstrip("=")


def key_view(call: Call, rec: Record) -> dict[str, Any]:
    doc = {k: v for k, v in rec.items() if not k.startswith("_")}
    doc["selfLink"] = f"{call.base_url}{API}/projects/{rec['projectId']}/hmacKeys/{rec['accessId']}"
    return doc


def _find(call: Call) -> Record:
    project, access_id = call.param("project"), call.param("accessId")
    rec = call.store.hmac_keys().get(access_id)
    if rec is None or rec["projectId"] != project:
        fail(404, "notFound", f"Access ID not found in project {project}: {access_id}")
    return rec


def create_key(call: Call) -> Response:
    project = call.param("project")
    email = call.query.get("serviceAccountEmail") or required("serviceAccountEmail")
    if not _EMAIL.match(email):
        invalid(f"Invalid argument: serviceAccountEmail '{email}' is not an email address.")
    keys = call.store.hmac_keys()
    live = [
        k
        for k in keys.values()
        if k["serviceAccountEmail"] == email and k["projectId"] == project
        if k["state"] != "DELETED"
    ]
    if len(live) >= MAX_KEYS_PER_SERVICE_ACCOUNT:
        invalid(
            f"The service account {email} already has the maximum of "
            f"{MAX_KEYS_PER_SERVICE_ACCOUNT} HMAC keys; delete an inactive key first."
        )
    access_id = new_access_id()
    while access_id in keys:
        access_id = new_access_id()
    secret = new_secret()
    stamp = rfc3339(call.store.now())
    rec: Record = {
        "kind": "storage#hmacKeyMetadata",
        "id": f"{project}/{access_id}",
        "accessId": access_id,
        "projectId": project,
        "serviceAccountEmail": email,
        "state": "ACTIVE",
        "timeCreated": stamp,
        "updated": stamp,
        "etag": _etag(),
        "_secret": secret,
    }
    keys[access_id] = rec
    call.store.mark_dirty()
    return call.reply(
        {"kind": "storage#hmacKey", "secret": secret, "metadata": key_view(call, rec)}
    )


def list_keys(call: Call) -> Response:
    project = call.param("project")
    email = call.query.get("serviceAccountEmail")
    deleted = query_bool(call.query.get("showDeletedKeys"))
    size = call.int_query("maxResults", 250, 250)
    rows = sorted(
        (
            k
            for k in call.store.hmac_keys().values()
            if k["projectId"] == project
            and (email is None or k["serviceAccountEmail"] == email)
            and (deleted or k["state"] != "DELETED")
        ),
        key=lambda k: str(k["accessId"]),
    )
    try:
        page, token = paginate(
            rows, lambda k: str(k["accessId"]), size, call.query.get("pageToken")
        )
    except PageTokenError as exc:
        page_token_error(exc)
    doc: dict[str, Any] = {"kind": "storage#hmacKeysMetadata"}
    if page:
        doc["items"] = [key_view(call, k) for k in page]
    if token:
        doc["nextPageToken"] = token
    return call.reply(doc)


def get_key(call: Call) -> Response:
    return call.reply(key_view(call, _find(call)))


def update_key(call: Call) -> Response:
    rec = _find(call)
    body = call.json()
    state = body.get("state")
    if state not in ("ACTIVE", "INACTIVE"):
        invalid(f"Invalid argument: state must be ACTIVE or INACTIVE, got {state!r}.")
    if rec["state"] == "DELETED":
        invalid("Cannot update keys in DELETED state.")
    etag = body.get("etag")
    if etag and etag != rec["etag"]:
        precondition_failed()
    if state != rec["state"]:
        rec["state"] = state
        rec["etag"] = _etag()
        rec["updated"] = rfc3339(call.store.now())
        call.store.mark_dirty()
    return call.reply(key_view(call, rec))


def delete_key(call: Call) -> Response:
    rec = _find(call)
    if rec["state"] != "INACTIVE":
        invalid(f"Cannot delete keys in {rec['state']} state.")
    rec["state"] = "DELETED"
    rec["etag"] = _etag()
    rec["updated"] = rfc3339(call.store.now())
    rec.pop("_secret", None)
    call.store.mark_dirty()
    return no_content()


def register(router: Router[Handler]) -> None:
    base = f"{API}/projects/{{project}}/hmacKeys"
    router.add("POST", base, create_key)
    router.add("GET", base, list_keys)
    router.add("GET", f"{base}/{{accessId}}", get_key)
    router.add("PUT", f"{base}/{{accessId}}", update_key)
    router.add("DELETE", f"{base}/{{accessId}}", delete_key)

"""Log buckets: ``/v2/projects/{p}/locations/{loc}/buckets``.

vibn keeps an app's runtime logs in a log bucket whose retention it manages, so
the lifecycle is what matters: create (``bucketId``; 409 on a live duplicate,
FAILED_PRECONDITION while the id is still pending deletion), get, list (with
``locations/-`` for every location, deleted buckets included), patch (a non-empty
``updateMask`` is required), delete (``DELETE_REQUESTED`` for 7 days, then purged)
and undelete. ``retentionDays`` is 1-3650 (0 at create means 30); a locked
bucket's retention cannot change and it cannot be unlocked; ``_Required`` (400
days) cannot be changed and neither default bucket can be deleted. A LogBucket
has no labels (a body carrying them is refused, as by the real API), which is
why vibn marks ownership in ``description``. Any location is accepted and
returned as given: Canadian residency is vibn's policy, not the API's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.responses import Response

from vibn.sandbox.gcplogging.store import DEFAULT_BUCKETS, Record, bucket_name
from vibn.sandbox.gcplogging.wire import Call, Handler, fail, invalid, proto3
from vibn.sandbox.gcs.gcp import PageTokenError, paginate, rfc3339
from vibn.sandbox.routing import Router

BASE = "/v2/projects/{project}/locations/{location}/buckets"
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LOCATION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
WRITABLE = (
    "description",
    "retentionDays",
    "locked",
    "analyticsEnabled",
    "restrictedFields",
    "indexConfigs",
    "cmekSettings",
)
OUTPUT_ONLY = ("name", "createTime", "updateTime", "lifecycleState")
DEFAULT_RETENTION = 30
MAX_RETENTION = 3650


def bucket_view(rec: Record) -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")}
    return proto3(doc)


def _find(call: Call) -> Record:
    project = call.param("project")
    call.store.ensure_project(project)
    bucket_id = call.param("bucket")
    rec = call.store.buckets().get(bucket_name(project, call.param("location"), bucket_id))
    if rec is None:
        fail("NOT_FOUND", f"Bucket {bucket_id} does not exist")
    return rec


def _retention(value: Any, *, creating: bool) -> int:
    if value is None:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int):
        invalid(f"Invalid value at 'bucket.retention_days' (TYPE_INT32), {value!r}")
    if value == 0 and creating:
        return DEFAULT_RETENTION
    if not 1 <= value <= MAX_RETENTION:
        invalid(f"Retention days must be between 1 and {MAX_RETENTION}, got {value}.")
    return value


def _check(field: str, value: Any) -> Any:
    """One writable field, type-checked as the proto would be."""
    if field == "description":
        if not isinstance(value, str) or len(value) > 8192:
            invalid("description must be a string of at most 8192 characters.")
    elif field in ("locked", "analyticsEnabled"):
        if not isinstance(value, bool):
            invalid(f"Invalid value at 'bucket.{field}' (TYPE_BOOL), {value!r}")
    elif field == "restrictedFields":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            invalid("restrictedFields must be a list of strings.")
    elif field == "indexConfigs":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            invalid("indexConfigs must be a list of objects.")
    elif field == "cmekSettings" and not isinstance(value, dict):
        invalid("cmekSettings must be an object.")
    return copy.deepcopy(value)


def create_bucket(call: Call) -> Response:
    project, location = call.param("project"), call.param("location")
    if location == "-" or not LOCATION.match(location):
        invalid(f"Location {location} is not valid for creating a bucket.")
    bucket_id = call.query.get("bucketId") or ""
    if not bucket_id:
        invalid("bucketId must be specified.")
    if not ID.match(bucket_id):
        invalid(
            f"Bucket id {bucket_id} is not valid: up to 100 letters, digits, underscores, "
            "hyphens and periods, starting with a letter or digit."
        )
    body = call.json("bucket", (*WRITABLE, *OUTPUT_ONLY))
    call.store.ensure_project(project)
    call.store.purge()
    name = bucket_name(project, location, bucket_id)
    existing = call.store.buckets().get(name)
    if existing is not None and existing["lifecycleState"] == "DELETE_REQUESTED":
        fail(
            "FAILED_PRECONDITION",
            f"Bucket {bucket_id} is pending deletion (DELETE_REQUESTED); undelete it or wait "
            "until it is purged, 7 days after the delete request.",
        )
    if existing is not None:
        fail("ALREADY_EXISTS", f"Bucket {bucket_id} already exists")
    stamp = rfc3339(call.store.now(), 6)
    rec: Record = {
        "name": name,
        "description": "",
        "retentionDays": _retention(body.get("retentionDays"), creating=True),
        "locked": False,
        "lifecycleState": "ACTIVE",
        "createTime": stamp,
        "updateTime": stamp,
        "_project": project,
        "_location": location,
        "_id": bucket_id,
    }
    for field in WRITABLE:
        if field != "retentionDays" and body.get(field) is not None:
            rec[field] = _check(field, body[field])
    call.store.buckets()[name] = rec
    call.store.mark_dirty()
    return call.reply(bucket_view(rec))


def get_bucket(call: Call) -> Response:
    call.store.purge()
    return call.reply(bucket_view(_find(call)))


def list_buckets(call: Call) -> Response:
    project, location = call.param("project"), call.param("location")
    call.store.ensure_project(project)
    call.store.purge()
    rows = sorted(
        (
            r
            for r in call.store.buckets().values()
            if r["_project"] == project and location in ("-", r["_location"])
        ),
        key=lambda r: str(r["name"]),
    )
    try:
        page, token = paginate(
            rows, lambda r: str(r["name"]), call.page_size(), call.query.get("pageToken")
        )
    except PageTokenError:
        invalid("The page token is not valid.")
    doc: dict[str, Any] = {}
    if page:
        doc["buckets"] = [bucket_view(r) for r in page]
    if token:
        doc["nextPageToken"] = token
    return call.reply(doc)


def patch_bucket(call: Call) -> Response:
    call.store.purge()
    rec = _find(call)
    mask = call.mask()
    if not mask:
        invalid("A non-empty updateMask is required to update a bucket.")
    for path in mask:
        if path in OUTPUT_ONLY:
            invalid(f"Field {path} is output only and cannot be updated.")
        if path not in WRITABLE:
            invalid(f"Field {path} in updateMask is not a field of LogBucket.")
    body = call.json("bucket", (*WRITABLE, *OUTPUT_ONLY))
    if rec["lifecycleState"] != "ACTIVE":
        fail("FAILED_PRECONDITION", "Buckets must be in an ACTIVE state to be modified")
    if rec["_id"] == "_Required":
        fail("FAILED_PRECONDITION", "The _Required bucket cannot be modified.")
    changes: dict[str, Any] = {}
    for path in mask:
        if path == "retentionDays":
            changes[path] = _retention(body.get(path), creating=False)
        elif path in ("locked", "analyticsEnabled"):
            changes[path] = _check(path, body.get(path, False))
        elif path in ("restrictedFields", "indexConfigs"):
            changes[path] = _check(path, body.get(path, []))
        elif path == "description":
            changes[path] = _check(path, body.get(path, ""))
        else:
            changes[path] = _check(path, body.get(path, {}))
    if rec.get("locked"):
        if changes.get("locked") is False:
            fail("FAILED_PRECONDITION", "A locked bucket cannot be unlocked.")
        if changes.get("retentionDays", rec["retentionDays"]) != rec["retentionDays"]:
            fail("FAILED_PRECONDITION", "The retention period of a locked bucket cannot change.")
    if rec.get("analyticsEnabled") and changes.get("analyticsEnabled") is False:
        invalid("Log analytics cannot be disabled once it is enabled on a bucket.")
    rec.update(changes)
    rec["updateTime"] = rfc3339(call.store.now(), 6)
    call.store.mark_dirty()
    return call.reply(bucket_view(rec))


def delete_bucket(call: Call) -> Response:
    call.store.purge()
    rec = _find(call)
    if rec["_id"] in DEFAULT_BUCKETS:
        fail("FAILED_PRECONDITION", f"The {rec['_id']} bucket cannot be deleted.")
    if rec["lifecycleState"] != "ACTIVE":
        fail("FAILED_PRECONDITION", f"Bucket {rec['_id']} is already pending deletion.")
    now = call.store.now()
    rec["lifecycleState"] = "DELETE_REQUESTED"
    rec["updateTime"] = rfc3339(now, 6)
    rec["_deleted_at"] = now
    call.store.mark_dirty()
    return call.reply({})


def undelete_bucket(call: Call) -> Response:
    call.store.purge()
    rec = _find(call)
    if rec["lifecycleState"] != "DELETE_REQUESTED":
        fail("FAILED_PRECONDITION", f"Bucket {rec['_id']} is not pending deletion.")
    rec["lifecycleState"] = "ACTIVE"
    rec["updateTime"] = rfc3339(call.store.now(), 6)
    rec.pop("_deleted_at", None)
    call.store.mark_dirty()
    return call.reply({})


def register(router: Router[Handler]) -> None:
    router.add("POST", f"{BASE}/{{bucket}}:undelete", undelete_bucket)
    router.add("GET", BASE, list_buckets)
    router.add("POST", BASE, create_bucket)
    router.add("GET", f"{BASE}/{{bucket}}", get_bucket)
    router.add("PATCH", f"{BASE}/{{bucket}}", patch_bucket)
    router.add("DELETE", f"{BASE}/{{bucket}}", delete_bucket)

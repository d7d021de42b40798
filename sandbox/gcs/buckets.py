"""Buckets: ``/storage/v1/b`` insert, get, list, patch, update, delete.

What vibn relies on is kept exactly: the location given at insert (stored and
answered upper-case, with its ``locationType``), labels with merge-patch
semantics (``null`` removes one), lifecycle rules, uniform bucket-level access
with its ``bucketPolicyOnly`` mirror, ``metageneration``/``etag`` bumped by every
metadata change and checked by ``ifMetagenerationMatch``, the global bucket
namespace (409 when another project owns the name) and 409 on deleting a bucket
that still holds objects. Pagination is real: ``maxResults`` and ``pageToken``.
"""

from __future__ import annotations

import base64
import copy
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from vibn.sandbox.gcs.bucket_fields import (
    PASSTHROUGH,
    check_location,
    merge_patch,
    normalise,
    valid_bucket_name,
)
from vibn.sandbox.gcs.gcp import PageTokenError, paginate, project_number, rfc3339
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

API = "/storage/v1"
WRITABLE = frozenset(
    {"storageClass", "iamConfiguration", "softDeletePolicy", "labels", "lifecycle", "versioning"}
    | PASSTHROUGH
)
NOT_FOUND = "The specified bucket does not exist."
_FIRST = ("kind", "selfLink", "id", "name", "projectNumber", "generation", "metageneration")


def etag_for(metageneration: int) -> str:
    """GCS's bucket etag: base64 of a protobuf varint (field 1 = metageneration): ``CAE=`` for 1."""
    out = bytearray([0x08])
    n = metageneration
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            break
    return base64.b64encode(bytes(out)).decode()


def default_bindings(project: str, ubla: bool) -> list[dict[str, Any]]:
    """The IAM bindings a new bucket starts with (legacy roles for the project's teams)."""
    bindings = [
        {
            "role": "roles/storage.legacyBucketOwner",
            "members": [f"projectEditor:{project}", f"projectOwner:{project}"],
        },
        {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project}"]},
    ]
    if ubla:
        bindings += [
            {
                "role": "roles/storage.legacyObjectOwner",
                "members": [f"projectEditor:{project}", f"projectOwner:{project}"],
            },
            {"role": "roles/storage.legacyObjectReader", "members": [f"projectViewer:{project}"]},
        ]
    return bindings


def find_bucket(call: Call) -> Record:
    rec = call.store.buckets().get(call.param("bucket"))
    if rec is None:
        fail(404, "notFound", NOT_FOUND)
    return rec


def check_metageneration(call: Call, rec: Record) -> bool:
    """Apply ``ifMetagenerationMatch``/``NotMatch``; False means "not modified" (reads only)."""
    match = call.query.get("ifMetagenerationMatch")
    if match is not None and match != rec["metageneration"]:
        precondition_failed()
    not_match = call.query.get("ifMetagenerationNotMatch")
    if not_match is not None and not_match == rec["metageneration"]:
        if call.method in ("GET", "HEAD"):
            return False
        precondition_failed()
    return True


def bump(rec: Record, now: float) -> None:
    """Record a metadata change: next metageneration, its etag, ``updated``."""
    metageneration = int(rec["metageneration"]) + 1
    rec["metageneration"] = str(metageneration)
    rec["etag"] = etag_for(metageneration)
    rec["updated"] = rfc3339(now)


def _acl(rec: Record, kind: str, bucket_level: bool) -> list[dict[str, Any]]:
    number = rec["projectNumber"]
    out = []
    for team, role in (("owners", "OWNER"), ("editors", "OWNER"), ("viewers", "READER")):
        entity = f"project-{team}-{number}"
        entry: dict[str, Any] = {"kind": kind, "entity": entity, "role": role, "etag": rec["etag"]}
        entry["projectTeam"] = {"projectNumber": number, "team": team}
        if bucket_level:
            entry.update(id=f"{rec['name']}/{entity}", bucket=rec["name"])
        out.append(entry)
    return out


def bucket_view(call: Call, rec: Record, projection: str = "noAcl") -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")}
    doc["selfLink"] = f"{call.base_url}{API}/b/{quote(rec['name'], safe='')}"
    if call.query.get("projection", projection) == "full":
        doc["owner"] = {"entity": f"project-owners-{rec['projectNumber']}"}
        if not rec["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"]:
            doc["acl"] = _acl(rec, "storage#bucketAccessControl", True)
            doc["defaultObjectAcl"] = _acl(rec, "storage#objectAccessControl", False)
    return {**{k: doc.pop(k) for k in _FIRST if k in doc}, **doc}


def _check_acl_params(call: Call, fields: dict[str, Any]) -> None:
    acl = call.query.get("predefinedAcl") or call.query.get("predefinedDefaultObjectAcl")
    if acl and fields["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"]:
        invalid(
            "Cannot insert legacy ACL for a bucket when uniform bucket-level access is enabled. "
            "Read more at https://cloud.google.com/storage/docs/uniform-bucket-level-access"
        )


def insert_bucket(call: Call) -> Response:
    project = call.query.get("project") or required("project")
    body = call.json()
    name = body.get("name")
    if not name:
        required("resource.name")
    if not isinstance(name, str) or not valid_bucket_name(name):
        invalid(f"Invalid bucket name: '{name}'")
    existing = call.store.buckets().get(name)
    if existing is not None:
        if existing["_project"] == project:
            fail(
                409,
                "conflict",
                "Your previous request to create the named bucket succeeded "
                "and you already own it.",
            )
        fail(
            409,
            "conflict",
            "The requested bucket name is not available. The bucket namespace is shared by all "
            "users of the system. Please select a different name and try again.",
        )
    location, location_type = check_location(body.get("location") or "US")
    now = call.store.now()
    fields = normalise(body, None, now)
    _check_acl_params(call, fields)
    stamp = rfc3339(now)
    rec: Record = {
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "projectNumber": project_number(project),
        "generation": str(int(now * 1_000_000)),
        "metageneration": "1",
        "location": location,
        "locationType": location_type,
        **fields,
        "etag": etag_for(1),
        "timeCreated": stamp,
        "updated": stamp,
        "_project": project,
        "_iam": default_bindings(
            project, fields["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"]
        ),
    }
    if location_type != "region":
        rec["rpo"] = "DEFAULT"
    if call.query.get("enableObjectRetention", "").lower() == "true":
        rec["objectRetention"] = {"mode": "Enabled"}
    call.store.buckets()[name] = rec
    call.store.mark_dirty()
    return call.reply(bucket_view(call, rec))


def get_bucket(call: Call) -> Response:
    rec = find_bucket(call)
    if not check_metageneration(call, rec):
        return Response(status_code=304)
    return call.reply(bucket_view(call, rec))


def list_buckets(call: Call) -> Response:
    project = call.query.get("project") or required("project")
    prefix = call.query.get("prefix") or ""
    size = call.int_query("maxResults", 1000, 1000)
    rows = sorted(
        (r for r in call.store.buckets().values() if r["_project"] == project),
        key=lambda r: str(r["name"]),
    )
    rows = [r for r in rows if str(r["name"]).startswith(prefix)]
    try:
        page, token = paginate(rows, lambda r: str(r["name"]), size, call.query.get("pageToken"))
    except PageTokenError as exc:
        page_token_error(exc)
    doc: dict[str, Any] = {"kind": "storage#buckets"}
    if page:
        doc["items"] = [bucket_view(call, r) for r in page]
    if token:
        doc["nextPageToken"] = token
    return call.reply(doc)


def _check_location_kept(rec: Record, body: dict[str, Any]) -> None:
    location = body.get("location")
    if isinstance(location, str) and location and location.upper() != rec["location"]:
        invalid("The location of a bucket cannot be changed (use bucket relocation).")


def _store_fields(call: Call, rec: Record, fields: dict[str, Any]) -> Response:
    for key in WRITABLE:
        rec.pop(key, None)
    rec.update(fields)
    bump(rec, call.store.now())
    call.store.mark_dirty()
    return call.reply(bucket_view(call, rec, "full"))


def patch_bucket(call: Call) -> Response:
    rec = find_bucket(call)
    check_metageneration(call, rec)
    body = call.json()
    _check_location_kept(rec, body)
    merged = {k: copy.deepcopy(rec[k]) for k in WRITABLE if k in rec}
    changes = {k: v for k, v in body.items() if k in WRITABLE}
    merge_patch(merged, changes)
    iam_change = changes.get("iamConfiguration")
    if (
        isinstance(iam_change, dict)
        and isinstance(merged.get("iamConfiguration"), dict)
        and "bucketPolicyOnly" in iam_change
        and "uniformBucketLevelAccess" not in iam_change
    ):
        # only the former name was sent: it wins over the stored mirror
        merged["iamConfiguration"].pop("uniformBucketLevelAccess", None)
    fields = normalise(merged, rec, call.store.now())
    _check_acl_params(call, fields)
    return _store_fields(call, rec, fields)


def update_bucket(call: Call) -> Response:
    rec = find_bucket(call)
    check_metageneration(call, rec)
    body = call.json()
    if body.get("name") not in (None, rec["name"]):
        invalid("The bucket name in the body does not match the bucket in the URL.")
    _check_location_kept(rec, body)
    fields = normalise({k: v for k, v in body.items() if k in WRITABLE}, rec, call.store.now())
    _check_acl_params(call, fields)
    return _store_fields(call, rec, fields)


def delete_bucket(call: Call) -> Response:
    rec = find_bucket(call)
    check_metageneration(call, rec)
    if call.store.objects(rec["name"]):
        fail(409, "conflict", "The bucket you tried to delete is not empty.")
    call.store.buckets().pop(rec["name"])
    call.store.drop_objects(rec["name"])
    call.store.mark_dirty()
    return no_content()


def register(router: Router[Handler]) -> None:
    router.add("GET", f"{API}/b", list_buckets)
    router.add("POST", f"{API}/b", insert_bucket)
    router.add("GET", f"{API}/b/{{bucket}}", get_bucket)
    router.add("PATCH", f"{API}/b/{{bucket}}", patch_bucket)
    router.add("PUT", f"{API}/b/{{bucket}}", update_bucket)
    router.add("DELETE", f"{API}/b/{{bucket}}", delete_bucket)

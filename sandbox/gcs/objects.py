"""Just enough of Cloud Storage objects to make a bucket non-empty and empty again.

vibn never manages objects, but "a bucket that still holds objects cannot be
deleted" is behaviour its destroy path meets, so the emulator accepts simple
(``uploadType=media``) and multipart uploads (what ``Blob.upload_from_string``
sends), lists with ``prefix``/``delimiter`` and pagination, reads metadata or
bytes (``alt=media``), and deletes. One generation per object: no versioning,
no resumable uploads, no ACLs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from vibn.sandbox.gcs.buckets import API, find_bucket
from vibn.sandbox.gcs.gcp import PageTokenError, paginate, rfc3339
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

UPLOAD = "/upload/storage/v1"
DOWNLOAD = "/download/storage/v1"
OBJECT_PATH = re.compile(r"^(?:/download)?/storage/v1/b/[^/]+/o/.+$")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> str:
    """The object's CRC32C as GCS shows it: base64 of the big-endian 32-bit value."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def _multipart(call: Call) -> tuple[dict[str, Any], bytes, str]:
    """(metadata, data, data content type) from a ``multipart/related`` body."""
    m = re.search(r'boundary="?([^";]+)"?', call.content_type)
    if m is None:
        invalid("Multipart upload needs a boundary in its Content-Type.")
    delimiter = b"--" + m.group(1).encode()
    parts = [p for p in call.body.split(delimiter)[1:] if not p.startswith(b"--")]
    if len(parts) != 2:
        invalid("Multipart upload needs exactly a metadata part and a media part.")
    decoded = []
    for part in parts:
        head, _, payload = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        kind = re.search(rb"(?im)^content-type:\s*([^\r\n]+)", head)
        decoded.append((kind.group(1).decode() if kind else "", payload.removesuffix(b"\r\n")))
    try:
        metadata = json.loads(decoded[0][1] or b"{}")
    except ValueError:
        fail(400, "parseError", "Parse Error")
    if not isinstance(metadata, dict):
        fail(400, "parseError", "Parse Error")
    return metadata, decoded[1][1], decoded[1][0]


def object_view(call: Call, rec: Record) -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")}
    quoted = quote(rec["name"], safe="")
    doc["id"] = f"{rec['bucket']}/{rec['name']}/{rec['generation']}"
    doc["selfLink"] = f"{call.base_url}{API}/b/{rec['bucket']}/o/{quoted}"
    doc["mediaLink"] = (
        f"{call.base_url}{DOWNLOAD}/b/{rec['bucket']}/o/{quoted}"
        f"?generation={rec['generation']}&alt=media"
    )
    return {"kind": "storage#object", **doc}


def _find(call: Call) -> Record:
    bucket = find_bucket(call)
    rec = call.store.objects(bucket["name"]).get(call.param("object"))
    if rec is None:
        fail(404, "notFound", f"No such object: {bucket['name']}/{call.param('object')}")
    return rec


def upload_object(call: Call) -> Response:
    bucket = find_bucket(call)
    kind = call.query.get("uploadType")
    if kind == "media":
        metadata: dict[str, Any] = {}
        data, content_type = call.body, call.content_type
    elif kind == "multipart":
        metadata, data, content_type = _multipart(call)
    else:
        invalid(f"Upload type '{kind}' is not supported by the sandbox (use media or multipart).")
    name = call.query.get("name") or metadata.get("name")
    if not name:
        required("name")
    objects = call.store.objects(bucket["name"])
    previous = objects.get(name)
    match = call.query.get("ifGenerationMatch")
    if match is not None and match != (previous["generation"] if previous else "0"):
        precondition_failed()
    now = call.store.now()
    generation = max(int(now * 1_000_000), int(previous["generation"]) + 1 if previous else 0)
    stamp = rfc3339(now)
    rec: Record = {
        "name": name,
        "bucket": bucket["name"],
        "generation": str(generation),
        "metageneration": "1",
        "contentType": metadata.get("contentType") or content_type or "application/octet-stream",
        "storageClass": bucket["storageClass"],
        "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "crc32c": crc32c(data),
        "etag": base64.b64encode(f"{generation}/1".encode()).decode(),
        "timeCreated": stamp,
        "updated": stamp,
        "timeStorageClassUpdated": stamp,
        "_data": base64.b64encode(data).decode(),
    }
    if isinstance(metadata.get("metadata"), dict):
        rec["metadata"] = dict(metadata["metadata"])
    objects[name] = rec
    call.store.mark_dirty()
    return call.reply(object_view(call, rec))


def list_objects(call: Call) -> Response:
    bucket = find_bucket(call)
    prefix = call.query.get("prefix") or ""
    delimiter = call.query.get("delimiter") or ""
    size = call.int_query("maxResults", 1000, 1000)
    entries: dict[str, Record | None] = {}
    for name, rec in call.store.objects(bucket["name"]).items():
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if delimiter and delimiter in rest:
            entries[prefix + rest.split(delimiter, 1)[0] + delimiter] = None
        else:
            entries[name] = rec
    keys = sorted(entries)
    try:
        page, token = paginate(keys, lambda k: k, size, call.query.get("pageToken"))
    except PageTokenError as exc:
        page_token_error(exc)
    doc: dict[str, Any] = {"kind": "storage#objects"}
    items = [object_view(call, found) for k in page if (found := entries[k]) is not None]
    prefixes = [k for k in page if entries[k] is None]
    if items:
        doc["items"] = items
    if prefixes:
        doc["prefixes"] = prefixes
    if token:
        doc["nextPageToken"] = token
    return call.reply(doc)


def get_object(call: Call) -> Response:
    rec = _find(call)
    if call.query.get("alt") != "media" and not call.path.startswith(DOWNLOAD + "/"):
        return call.reply(object_view(call, rec))
    headers = {
        "x-goog-hash": f"crc32c={rec['crc32c']},md5={rec['md5Hash']}",
        "x-goog-generation": rec["generation"],
        "x-goog-metageneration": rec["metageneration"],
        "x-goog-stored-content-length": rec["size"],
    }
    return Response(base64.b64decode(rec["_data"]), 200, headers, rec["contentType"])


def delete_object(call: Call) -> Response:
    rec = _find(call)
    call.store.objects(rec["bucket"]).pop(rec["name"])
    call.store.mark_dirty()
    return no_content()


def register(router: Router[Handler]) -> None:
    router.add("POST", f"{UPLOAD}/b/{{bucket}}/o", upload_object)
    router.add("GET", f"{API}/b/{{bucket}}/o", list_objects)
    router.add("GET", f"{API}/b/{{bucket}}/o/{{object}}", get_object)
    router.add("DELETE", f"{API}/b/{{bucket}}/o/{{object}}", delete_object)
    router.add("GET", f"{DOWNLOAD}/b/{{bucket}}/o/{{object}}", get_object)

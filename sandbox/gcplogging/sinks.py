"""Log sinks: ``/v2/projects/{p}/sinks``.

A sink routes a project's log entries (those matching ``filter``) to a
destination; vibn points one at the app's log bucket. Kept as the API documents
it: the destination must name a supported service; ``writerIdentity`` is absent
for a log bucket in the sink's own project, a Logging service agent
(``serviceAccount:service-NUMBER@gcp-sa-logging.iam.gserviceaccount.com``) with
``uniqueWriterIdentity`` (``true`` or google-cloud-logging's ``True``), and the
legacy ``cloud-logs@system.gserviceaccount.com`` otherwise, which cannot write
across projects; once unique, a sink cannot go back. Update (``PUT``) and patch
take an ``updateMask``; an empty one means ``destination,filter,includeChildren``.
``_Required`` cannot be changed or deleted, ``_Default`` cannot be deleted.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.responses import Response

from vibn.sandbox.gcplogging.store import Record, sink_name
from vibn.sandbox.gcplogging.wire import Call, Handler, fail, invalid, proto3
from vibn.sandbox.gcs.gcp import PageTokenError, paginate, project_number, query_bool, rfc3339
from vibn.sandbox.routing import Router

BASE = "/v2/projects/{project}/sinks"
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
WRITABLE = (
    "destination",
    "filter",
    "description",
    "disabled",
    "exclusions",
    "includeChildren",
    "interceptChildren",
    "bigqueryOptions",
    "outputVersionFormat",
)
OUTPUT_ONLY = ("name", "writerIdentity", "createTime", "updateTime", "resourceName")
DEFAULT_MASK = ("destination", "filter", "includeChildren")
SERVICE_AGENT_DOMAIN = "gcp-sa-logging.iam.gserviceaccount.com"
LEGACY_WRITER = "serviceAccount:cloud-logs@system.gserviceaccount.com"
SCOPES = ("", 'in_scope("DEFAULT")', 'in_scope("ALL")', 'in_scope("ANCESTOR")')
_DESTINATIONS = (
    re.compile(r"^storage\.googleapis\.com/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$"),
    re.compile(r"^bigquery\.googleapis\.com/projects/([^/]+)/datasets/[A-Za-z0-9_]+$"),
    re.compile(r"^pubsub\.googleapis\.com/projects/([^/]+)/topics/[^/]+$"),
    re.compile(r"^logging\.googleapis\.com/projects/([^/]+)$"),
    re.compile(r"^logging\.googleapis\.com/projects/([^/]+)/locations/[^/]+/buckets/[^/]+$"),
)


def sink_view(rec: Record) -> dict[str, Any]:
    return proto3({k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")})


def destination_project(destination: Any) -> str | None:
    """The project a destination lives in (None for Cloud Storage, whose buckets are global)."""
    if not isinstance(destination, str) or not destination:
        invalid("The sink destination is required.")
    for pattern in _DESTINATIONS:
        m = pattern.match(destination)
        if m is not None:
            return m.group(1) if m.groups() else None
    invalid(f"Invalid sink destination: {destination}")


def writer_identity(project: str, raw: Any, unique: bool, custom: str | None) -> str | None:
    """What ``writerIdentity`` a sink gets, or the INVALID_ARGUMENT the API answers."""
    target = destination_project(raw)
    destination = str(raw)
    same_project_bucket = destination.startswith("logging.googleapis.com/") and target == project
    if custom:
        if not custom.startswith("serviceAccount:"):
            invalid("customWriterIdentity must have the form serviceAccount:EMAIL.")
        if not destination.startswith("logging.googleapis.com/") or same_project_bucket:
            invalid(
                "customWriterIdentity can only be used to route logs to a log bucket in a "
                "different project."
            )
        return custom
    if same_project_bucket:
        return None
    if unique:
        return f"serviceAccount:service-{project_number(project)}@{SERVICE_AGENT_DOMAIN}"
    if target not in (None, project):
        invalid(
            "The destination project must be the same as the sink's project. "
            "Use uniqueWriterIdentity=true to allow cross project exports."
        )
    return LEGACY_WRITER


def _check(field: str, value: Any) -> Any:
    if field in ("filter", "description", "outputVersionFormat"):
        if not isinstance(value, str):
            invalid(f"Invalid value at 'sink.{field}' (TYPE_STRING), {value!r}")
        if field == "description" and len(value) > 8000:
            invalid("The sink description may have at most 8000 characters.")
    elif field in ("disabled", "includeChildren", "interceptChildren"):
        if not isinstance(value, bool):
            invalid(f"Invalid value at 'sink.{field}' (TYPE_BOOL), {value!r}")
    elif field == "exclusions":
        if not isinstance(value, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and e.get("filter")
            for e in value
        ):
            invalid("Each exclusion needs a name and a filter.")
    elif field == "bigqueryOptions" and not isinstance(value, dict):
        invalid("bigqueryOptions must be an object.")
    return copy.deepcopy(value)


def _find(call: Call) -> Record:
    project, sink_id = call.param("project"), call.param("sink")
    call.store.ensure_project(project)
    rec = call.store.sinks().get(sink_name(project, sink_id))
    if rec is None:
        fail("NOT_FOUND", f"Sink {sink_id} does not exist")
    return rec


def create_sink(call: Call) -> Response:
    project = call.param("project")
    body = call.json("sink", (*WRITABLE, *OUTPUT_ONLY))
    sink_id = body.get("name")
    if not isinstance(sink_id, str) or not sink_id:
        invalid("The sink name is required.")
    if not ID.match(sink_id):
        invalid(
            f"Sink name {sink_id} is not valid: up to 100 letters, digits, underscores, "
            "hyphens and periods, starting with a letter or digit."
        )
    unique = query_bool(call.query.get("uniqueWriterIdentity"))
    identity = writer_identity(
        project, body.get("destination"), unique, call.query.get("customWriterIdentity")
    )
    call.store.ensure_project(project)
    name = sink_name(project, sink_id)
    if name in call.store.sinks():
        fail("ALREADY_EXISTS", f"Sink {sink_id} already exists")
    stamp = rfc3339(call.store.now(), 6)
    rec: Record = {"name": sink_id}
    for field in WRITABLE:
        if body.get(field) is not None:
            rec[field] = _check(field, body[field])
    rec.update(
        writerIdentity=identity,
        resourceName=name,
        createTime=stamp,
        updateTime=stamp,
        _project=project,
        _unique=unique,
    )
    call.store.sinks()[name] = rec
    call.store.mark_dirty()
    return call.reply(sink_view(rec))


def get_sink(call: Call) -> Response:
    return call.reply(sink_view(_find(call)))


def list_sinks(call: Call) -> Response:
    project = call.param("project")
    if (call.query.get("filter") or "") not in SCOPES:
        invalid(
            'filter supports only in_scope("DEFAULT"), in_scope("ALL") and in_scope("ANCESTOR").'
        )
    call.store.ensure_project(project)
    rows = sorted(
        (r for r in call.store.sinks().values() if r["_project"] == project),
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
        doc["sinks"] = [sink_view(r) for r in page]
    if token:
        doc["nextPageToken"] = token
    return call.reply(doc)


def update_sink(call: Call) -> Response:
    """``PUT`` and ``PATCH`` alike: the fields in ``updateMask`` (default: the legacy three)."""
    rec = _find(call)
    mask = call.mask() or list(DEFAULT_MASK)
    for path in mask:
        if path in OUTPUT_ONLY:
            invalid(f"Field {path} is output only and cannot be updated.")
        if path not in WRITABLE:
            invalid(f"Field {path} in updateMask is not a field of LogSink.")
    body = call.json("sink", (*WRITABLE, *OUTPUT_ONLY))
    if body.get("name") not in (None, "", rec["name"]):
        invalid(f"The sink name in the body ({body['name']}) does not match the URL.")
    if rec["name"] == "_Required":
        fail("FAILED_PRECONDITION", "The _Required sink cannot be modified.")
    unique = query_bool(call.query.get("uniqueWriterIdentity"))
    if rec["_unique"] and not unique:
        invalid("uniqueWriterIdentity cannot change from true to false.")
    changes: dict[str, Any] = {}
    for path in mask:
        value = body.get(path)
        if path == "destination":
            changes[path] = value
        elif value is not None:
            changes[path] = _check(path, value)
        else:
            changes[path] = None
    destination = changes.get("destination", rec.get("destination"))
    identity = writer_identity(
        call.param("project"), destination, unique, call.query.get("customWriterIdentity")
    )
    for path, value in changes.items():
        if value is None:
            rec.pop(path, None)
        else:
            rec[path] = value
    rec["writerIdentity"] = identity
    rec["_unique"] = unique
    rec["updateTime"] = rfc3339(call.store.now(), 6)
    call.store.mark_dirty()
    return call.reply(sink_view(rec))


def delete_sink(call: Call) -> Response:
    rec = _find(call)
    if rec["name"] in ("_Default", "_Required"):
        fail("FAILED_PRECONDITION", f"The {rec['name']} sink cannot be deleted.")
    del call.store.sinks()[sink_name(call.param("project"), rec["name"])]
    call.store.mark_dirty()
    return call.reply({})


def register(router: Router[Handler]) -> None:
    router.add("GET", BASE, list_sinks)
    router.add("POST", BASE, create_sink)
    router.add("GET", f"{BASE}/{{sink}}", get_sink)
    router.add("PUT", f"{BASE}/{{sink}}", update_sink)
    router.add("PATCH", f"{BASE}/{{sink}}", update_sink)
    router.add("DELETE", f"{BASE}/{{sink}}", delete_sink)

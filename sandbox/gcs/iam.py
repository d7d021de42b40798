"""Bucket IAM policies: ``GET``/``PUT /storage/v1/b/{bucket}/iam``.

vibn makes a bucket publicly readable by binding ``allUsers`` to
``roles/storage.objectViewer``, so the policy round trip must be faithful: the
policy's ``etag`` is the bucket's (a set bumps the bucket metageneration, as in
GCS), a stale ``etag`` is refused with 412, members and roles are checked, and
public principals are refused with 412 while public access prevention is
``enforced``.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from vibn.sandbox.gcs.buckets import API, bump, find_bucket
from vibn.sandbox.gcs.store import Record
from vibn.sandbox.gcs.wire import Call, Handler, fail, invalid, precondition_failed
from vibn.sandbox.routing import Router

PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
MEMBER_TYPES = (
    "user:",
    "serviceAccount:",
    "group:",
    "domain:",
    "projectOwner:",
    "projectEditor:",
    "projectViewer:",
    "principal:",
    "principalSet:",
    "deleted:",
)
ROLE_PREFIXES = ("roles/", "projects/", "organizations/")


def policy_view(rec: Record) -> dict[str, Any]:
    return {
        "kind": "storage#policy",
        "resourceId": f"projects/_/buckets/{rec['name']}",
        "version": rec.get("_iam_version", 1),
        "etag": rec["etag"],
        "bindings": copy.deepcopy(rec["_iam"]),
    }


def _member_ok(member: Any) -> bool:
    if not isinstance(member, str):
        return False
    if member in PUBLIC_MEMBERS:
        return True
    return any(member.startswith(t) and len(member) > len(t) for t in MEMBER_TYPES)


def _bindings(raw: Any, version: int, ubla: bool) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        invalid("Invalid argument: bindings must be a list.")
    out = []
    for binding in raw:
        if not isinstance(binding, dict):
            invalid("Invalid argument: a binding is an object.")
        role = binding.get("role")
        if not isinstance(role, str) or not role.startswith(ROLE_PREFIXES):
            invalid(f"Role {role} is not valid.")
        members = binding.get("members") or []
        if not isinstance(members, list):
            invalid("Invalid argument: members must be a list.")
        for member in members:
            if not _member_ok(member):
                invalid(f"Invalid argument: member {member} is not valid.")
        if binding.get("condition") is not None and (version < 3 or not ubla):
            invalid(
                "IAM conditions need policy version 3 and uniform bucket-level access "
                "on the bucket."
            )
        if members:
            clean: dict[str, Any] = {"role": role, "members": list(dict.fromkeys(members))}
            if binding.get("condition") is not None:
                clean["condition"] = copy.deepcopy(binding["condition"])
            out.append(clean)
    return out


def get_policy(call: Call) -> Response:
    return call.reply(policy_view(find_bucket(call)))


def set_policy(call: Call) -> Response:
    rec = find_bucket(call)
    body = call.json()
    etag = body.get("etag")
    if etag and etag != rec["etag"]:
        precondition_failed()
    version = body.get("version") or 1
    if version not in (1, 2, 3):
        invalid(f"Invalid argument: policy version {version} is not supported.")
    iam_config = rec["iamConfiguration"]
    bindings = _bindings(
        body.get("bindings"), version, iam_config["uniformBucketLevelAccess"]["enabled"]
    )
    public = any(PUBLIC_MEMBERS & set(b["members"]) for b in bindings)
    if public and iam_config["publicAccessPrevention"] == "enforced":
        fail(
            412,
            "conditionNotMet",
            "The member bindings allUsers and allAuthenticatedUsers are not allowed since "
            "public access prevention is enforced.",
        )
    rec["_iam"] = bindings
    rec["_iam_version"] = version
    bump(rec, call.store.now())
    call.store.mark_dirty()
    return call.reply(policy_view(rec))


def register(router: Router[Handler]) -> None:
    router.add("GET", f"{API}/b/{{bucket}}/iam", get_policy)
    router.add("PUT", f"{API}/b/{{bucket}}/iam", set_policy)

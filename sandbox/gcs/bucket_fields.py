"""Validation and normalisation of the writable fields of a Cloud Storage bucket.

A bucket's metadata arrives three ways (insert, patch, full update), and GCS
answers all three with the same rules: names follow the DNS-ish bucket naming
rules, ``location`` is stored upper-case with its ``locationType``, labels obey
GCP label syntax, lifecycle rules name a known action and a non-empty condition,
and ``iamConfiguration`` keeps ``bucketPolicyOnly`` as a mirror of
``uniformBucketLevelAccess``, which wins when both are sent (the client also
sends ``publicAccessPrevention: "inherited"`` whenever it touches the block).
``normalise`` turns a merged document into the stored one or raises the 400 GCS
would send.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from vibn.sandbox.gcs.gcp import rfc3339
from vibn.sandbox.gcs.wire import invalid

STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "NEARLINE",
        "COLDLINE",
        "ARCHIVE",
        "MULTI_REGIONAL",
        "REGIONAL",
        "DURABLE_REDUCED_AVAILABILITY",
    }
)
MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
DUAL_REGIONS = frozenset({"NAM4", "EUR4", "ASIA1", "EUR5", "EUR7", "EUR8"})
LIFECYCLE_ACTIONS = frozenset({"Delete", "SetStorageClass", "AbortIncompleteMultipartUpload"})
UBLA_LOCK_SECONDS = 90 * 86400
SOFT_DELETE_DEFAULT = 7 * 86400
SOFT_DELETE_MAX = 90 * 86400

#: stored as the client sent them: vibn does not drive them, but a round trip stays faithful
PASSTHROUGH = frozenset(
    {"cors", "website", "logging", "billing", "defaultEventBasedHold", "retentionPolicy"}
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_REGION = re.compile(r"^[A-Z]+-[A-Z]+[0-9]+$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_CONDITIONS = ("age", "numNewerVersions", "daysSinceNoncurrentTime", "daysSinceCustomTime")
_DATE_CONDITIONS = ("createdBefore", "customTimeBefore", "noncurrentTimeBefore")
_LIST_CONDITIONS = ("matchesPrefix", "matchesSuffix", "matchesStorageClass")


def valid_bucket_name(name: str) -> bool:
    """GCS bucket naming rules (3-63 characters, or up to 222 in dot-separated parts)."""
    if not 3 <= len(name) <= 222 or not _NAME.match(name) or _IPV4.match(name):
        return False
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return False
    parts = name.split(".")
    if len(parts) == 1:
        return len(name) <= 63
    return all(1 <= len(p) <= 63 for p in parts)


def location_type(location: str) -> str | None:
    """``region``, ``dual-region`` or ``multi-region`` for an upper-cased location."""
    if location in MULTI_REGIONS:
        return "multi-region"
    if location in DUAL_REGIONS:
        return "dual-region"
    if _REGION.match(location):
        return "region"
    return None


def check_location(raw: Any) -> tuple[str, str]:
    if not isinstance(raw, str) or location_type(raw.upper()) is None:
        invalid("The specified location constraint is not valid.")
    location = raw.upper()
    kind = location_type(location)
    assert kind is not None
    return location, kind


def _labels(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        invalid("Invalid argument: labels must be an object.")
    labels = {k: v for k, v in raw.items() if v is not None}
    if len(labels) > 64:
        invalid("A bucket may carry at most 64 labels.")
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            invalid(f"Invalid argument: label key '{key}' is not valid.")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            invalid(f"Invalid argument: label value '{value}' for key '{key}' is not valid.")
    return labels


def _condition(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        invalid("A lifecycle rule needs a condition.")
    for key in _INT_CONDITIONS:
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int)):
            invalid(f"Invalid argument: lifecycle condition {key} must be an integer.")
        if key in raw and raw[key] < 0:
            invalid(f"Invalid argument: lifecycle condition {key} must not be negative.")
    for key in _DATE_CONDITIONS:
        if key in raw and not (isinstance(raw[key], str) and _DATE.match(raw[key])):
            invalid(f"Invalid argument: lifecycle condition {key} must be a date (YYYY-MM-DD).")
    for key in _LIST_CONDITIONS:
        if key in raw and not (
            isinstance(raw[key], list) and all(isinstance(v, str) for v in raw[key])
        ):
            invalid(f"Invalid argument: lifecycle condition {key} must be a list of strings.")
    if "isLive" in raw and not isinstance(raw["isLive"], bool):
        invalid("Invalid argument: lifecycle condition isLive must be a boolean.")
    return copy.deepcopy(raw)


def _lifecycle(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("rule", []), list):
        invalid("Invalid argument: lifecycle must hold a list of rules.")
    rules = raw.get("rule") or []
    if len(rules) > 100:
        invalid("A bucket may have at most 100 lifecycle rules.")
    out = []
    for rule in rules:
        action = rule.get("action") if isinstance(rule, dict) else None
        if not isinstance(action, dict) or action.get("type") not in LIFECYCLE_ACTIONS:
            invalid("Invalid argument: lifecycle action type is missing or not supported.")
        if action["type"] == "SetStorageClass" and action.get("storageClass") not in (
            STORAGE_CLASSES
        ):
            invalid("Invalid argument: SetStorageClass needs a valid storageClass.")
        out.append(
            {"action": copy.deepcopy(action), "condition": _condition(rule.get("condition"))}
        )
    return {"rule": out} if out else None


def _enabled(block: Any, name: str) -> bool | None:
    if block is None:
        return None
    if not isinstance(block, dict):
        invalid(f"Invalid argument: iamConfiguration.{name} must be an object.")
    value = block.get("enabled")
    if value is not None and not isinstance(value, bool):
        invalid(f"Invalid argument: iamConfiguration.{name}.enabled must be a boolean.")
    return value


def iam_configuration(raw: Any, previous: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """The stored ``iamConfiguration``: UBLA and its ``bucketPolicyOnly`` mirror, and PAP."""
    raw = raw if isinstance(raw, dict) else {}
    ubla = _enabled(raw.get("uniformBucketLevelAccess"), "uniformBucketLevelAccess")
    bpo = _enabled(raw.get("bucketPolicyOnly"), "bucketPolicyOnly")
    # google-cloud-storage sends the stale mirror beside a changed UBLA: the new name wins
    enabled = bool(ubla if ubla is not None else bpo)
    was = (previous or {}).get("uniformBucketLevelAccess", {})
    locked_time = was.get("lockedTime") if was.get("enabled") else None
    if was.get("enabled") and not enabled and locked_time and locked_time < rfc3339(now):
        invalid("Uniform bucket-level access cannot be disabled after its locked time.")
    block: dict[str, Any] = {"enabled": enabled}
    if enabled:
        block["lockedTime"] = locked_time or rfc3339(now + UBLA_LOCK_SECONDS)
    pap = raw.get("publicAccessPrevention") or "inherited"
    if pap == "unspecified":
        pap = "inherited"
    if pap not in ("inherited", "enforced"):
        invalid(f"Invalid argument: publicAccessPrevention '{pap}' is not supported.")
    return {
        "bucketPolicyOnly": dict(block),
        "uniformBucketLevelAccess": dict(block),
        "publicAccessPrevention": pap,
    }


def _soft_delete(raw: Any, previous: Any, now: float) -> dict[str, Any]:
    seconds: Any = SOFT_DELETE_DEFAULT
    if isinstance(raw, dict) and raw.get("retentionDurationSeconds") is not None:
        seconds = raw["retentionDurationSeconds"]
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        invalid("Invalid argument: softDeletePolicy.retentionDurationSeconds must be an integer.")
    if value != 0 and not SOFT_DELETE_DEFAULT <= value <= SOFT_DELETE_MAX:
        invalid("The soft delete retention duration must be 0 or between 7 and 90 days.")
    kept = isinstance(previous, dict) and previous.get("retentionDurationSeconds") == str(value)
    effective = previous.get("effectiveTime") if kept else None
    return {"retentionDurationSeconds": str(value), "effectiveTime": effective or rfc3339(now)}


def normalise(doc: dict[str, Any], previous: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """Check the writable fields of ``doc`` and return them in their stored form."""
    storage_class = doc.get("storageClass") or "STANDARD"
    if storage_class not in STORAGE_CLASSES:
        invalid(f"Invalid argument: storage class '{storage_class}' is not valid.")
    versioning = doc.get("versioning")
    if versioning is not None and not (
        isinstance(versioning, dict) and isinstance(versioning.get("enabled", False), bool)
    ):
        invalid("Invalid argument: versioning.enabled must be a boolean.")
    out: dict[str, Any] = {
        "storageClass": storage_class,
        "iamConfiguration": iam_configuration(
            doc.get("iamConfiguration"),
            (previous or {}).get("iamConfiguration"),
            now,
        ),
        "softDeletePolicy": _soft_delete(
            doc.get("softDeletePolicy"), (previous or {}).get("softDeletePolicy"), now
        ),
    }
    labels = _labels(doc.get("labels"))
    if labels:
        out["labels"] = labels
    lifecycle = _lifecycle(doc.get("lifecycle"))
    if lifecycle:
        out["lifecycle"] = lifecycle
    if versioning is not None:
        out["versioning"] = {"enabled": bool(versioning.get("enabled", False))}
    for key in PASSTHROUGH:
        if doc.get(key) is not None:
            out[key] = copy.deepcopy(doc[key])
    return out


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """JSON merge-patch (RFC 7386) as GCS applies it: ``null`` removes, lists replace."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)

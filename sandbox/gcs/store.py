"""The Storage emulator's records and their persistence.

Bucket names are global in Cloud Storage (one namespace across all projects),
so buckets are keyed by name and carry their project; objects hang off their
bucket; HMAC keys are keyed by access id. Records hold the wire fields plus a
few internal ones (prefixed ``_``: the owning project, the IAM bindings, object
bytes) that views never show. Everything lives in ``<state dir>/storage.json``.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.gcs.gcp import JsonStore

Record = dict[str, Any]


class GcsStore(JsonStore):
    """Buckets, objects and HMAC keys behind one lock."""

    def empty(self) -> dict[str, Any]:
        return {"version": self.version, "buckets": {}, "objects": {}, "hmac_keys": {}}

    def buckets(self) -> dict[str, Record]:
        return self.table("buckets")

    def objects(self, bucket: str) -> dict[str, Record]:
        """The objects of ``bucket`` by name (created on first use)."""
        per_bucket: dict[str, dict[str, Record]] = self.table("objects")
        return per_bucket.setdefault(bucket, {})

    def drop_objects(self, bucket: str) -> None:
        self.table("objects").pop(bucket, None)

    def hmac_keys(self) -> dict[str, Record]:
        return self.table("hmac_keys")

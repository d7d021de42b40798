"""Deterministic Cloud DNS zone names for a workspace's domains.

A zone's name is how vibn finds the zone again after a crash between "created" and
"recorded" (STYLE.md point 7), so it must be derived from the workspace and the domain
alone, and always be a name Cloud DNS accepts: 1-63 characters, a letter first, a
letter or digit last, only ``[a-z0-9-]``. Pure, so the compiler and the drivers agree.
"""

from __future__ import annotations

import hashlib

MAX_ZONE_NAME = 63
_HASH_LENGTH = 8


def zone_name(workspace: str, domain: str) -> str:
    """``vibn-ws-{workspace}-{domain, dots as dashes}``, e.g. ``vibn-ws-acme-mysaas-com``.

    Anything outside ``[a-z0-9]`` becomes a dash (a trailing dot disappears); a name
    past 63 characters is cut and given a short hash of the full one, so two long
    domains sharing a prefix still get distinct zones.
    """
    raw = f"vibn-ws-{workspace}-{domain}".lower()
    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in raw).strip("-")
    if len(name) <= MAX_ZONE_NAME:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: MAX_ZONE_NAME - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"

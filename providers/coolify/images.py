"""Default container images for Coolify databases, and how a stack's version picks one.

The stack says ``engine: postgresql, version: "15"``; Coolify wants an image reference.
Keeping the mapping in one place lets the compiler and the database driver agree on the
exact string, so an unchanged stack never diffs against what Coolify holds.
"""

from __future__ import annotations

#: engine -> (image repository, default tag)
DEFAULT_IMAGES: dict[str, tuple[str, str]] = {
    "postgresql": ("postgres", "16-alpine"),
    "mysql": ("mysql", "8"),
    "mariadb": ("mariadb", "11"),
    "mongodb": ("mongo", "7"),
    "redis": ("redis", "7.2"),
    "keydb": ("eqalpha/keydb", "latest"),
    "dragonfly": ("docker.dragonflydb.io/dragonflydb/dragonfly", "latest"),
    "clickhouse": ("clickhouse/clickhouse-server", "latest"),
}


def image_for(engine: str, version: str | None) -> str:
    """``postgres:16-alpine`` by default; a version replaces the tag, and for postgres
    keeps the ``-alpine`` flavour (``"15"`` -> ``postgres:15-alpine``)."""
    try:
        repository, tag = DEFAULT_IMAGES[engine]
    except KeyError:
        raise ValueError(
            f"unknown database engine {engine!r} (known: {', '.join(sorted(DEFAULT_IMAGES))})"
        ) from None
    if version:
        suffix = "-alpine" if tag.endswith("-alpine") else ""
        tag = version if not suffix or version.endswith(suffix) else f"{version}{suffix}"
    return f"{repository}:{tag}"

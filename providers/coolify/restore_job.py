"""The pieces of a restore job: where the dump is, what runs it, and the job itself.

The job is a Coolify Docker-image application running the database's own image (so the
client tools match the server's version) with its entrypoint replaced by an idle loop
(``custom_docker_run_options: --entrypoint ...``, which Coolify turns into the compose
``entrypoint``): the image's server never starts, and nothing re-runs when Docker
restarts the container. The restore itself is the pre-deployment command of a second
deployment, which Coolify runs with ``docker exec`` in the running container and which
fails the deployment when it exits non-zero.

That command is kept short (the column holds 255 characters): the script travels
base64-encoded in an environment variable, with every other input — the database's
connection details and a presigned, time-limited GET URL of the dump — in variables of
their own, marked literal so Coolify never interpolates them. The URL is signed here with
the HMAC key the backups were uploaded with (AWS Signature V4, which GCS's XML API
accepts for HMAC keys), so the job holds no long-lived credential. The object key is the
execution's ``filename`` without its leading slash, as Coolify's ``mc cp`` names it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from posixpath import basename
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vibn.providers.coolify.client import CoolifyClient
from vibn.providers.errors import NotFoundError
from vibn.specs.values import Sensitive

#: engines whose dumps the job knows how to load
RESTORABLE = frozenset({"postgresql", "mysql", "mariadb", "mongodb"})
DEFAULT_IMAGES = {
    "postgresql": "postgres:16-alpine",
    "mysql": "mysql:8",
    "mariadb": "mariadb:11",
    "mongodb": "mongo:7",
}
#: keeps the container up without the image's own server (compose ``entrypoint``)
IDLE = "--entrypoint \"sh -c 'while :; do sleep 3600; done'\""
#: the pre-deployment command of the restoring deployment (Coolify wraps it in ``sh -c``)
RUN_RESTORE = 'echo "$VIBN_RESTORE_SCRIPT" | base64 -d | sh'
_UNRESERVED = "-_.~"

_FETCH = """set -eu
dump=/tmp/vibn-restore.dump
echo "vibn restore: fetching $VIBN_DUMP_FILE"
if command -v curl >/dev/null 2>&1; then
  curl -fsS -o "$dump" "$VIBN_DUMP_URL"
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$dump" "$VIBN_DUMP_URL"
elif command -v apk >/dev/null 2>&1; then
  apk add -q --no-cache curl
  curl -fsS -o "$dump" "$VIBN_DUMP_URL"
elif command -v apt-get >/dev/null 2>&1; then
  apt-get -qq update
  apt-get -qq install -y --no-install-recommends curl ca-certificates >/dev/null
  curl -fsS -o "$dump" "$VIBN_DUMP_URL"
elif command -v microdnf >/dev/null 2>&1; then
  microdnf -y install curl >/dev/null
  curl -fsS -o "$dump" "$VIBN_DUMP_URL"
else
  echo "vibn restore: the image has neither curl nor wget" >&2
  exit 3
fi
if [ ! -s "$dump" ]; then
  echo "vibn restore: the dump is empty" >&2
  exit 4
fi
if [ "${VIBN_DUMP_FILE%.gz}" != "$VIBN_DUMP_FILE" ]; then
  plain="$dump.sql"
else
  plain=""
fi
"""
_LOAD = {
    "postgresql": """if [ -n "$plain" ]; then
  gunzip -c "$dump" > "$plain"
  psql -v ON_ERROR_STOP=1 -q -d "$DATABASE_URL" -f "$plain"
else
  pg_restore --clean --if-exists --no-owner --no-acl --single-transaction \\
    -d "$DATABASE_URL" "$dump"
fi
""",
    "mysql": """client=$(command -v mariadb || command -v mysql)
if [ -n "$plain" ]; then
  gunzip -c "$dump" > "$plain"
  "$client" -h "$VIBN_DB_HOST" -P "$VIBN_DB_PORT" -u "$VIBN_DB_USER" < "$plain"
else
  "$client" -h "$VIBN_DB_HOST" -P "$VIBN_DB_PORT" -u "$VIBN_DB_USER" "$VIBN_DB_NAME" < "$dump"
fi
""",
    "mongodb": """mongorestore --quiet --uri="$DATABASE_URL" --gzip --archive="$dump" --drop
""",
}
_LOAD["mariadb"] = _LOAD["mysql"]
_DONE = """rm -f "$dump" "$dump.sql"
echo "vibn restore: done"
"""
#: the fields of each engine's root password (the dump was made as root)
_ROOT_PASSWORD = {"mysql": "mysql_root_password", "mariadb": "mariadb_root_password"}


@dataclass(frozen=True)
class Placement:
    """Where the job runs: the database's project and environment, on vibn's server."""

    project_uuid: str
    environment_name: str
    server_uuid: str


@dataclass(frozen=True)
class S3Target:
    """The bucket the backups were uploaded to, with the HMAC key that wrote them
    (Coolify never gives the key back, so the caller brings it from vibn's records)."""

    endpoint: str
    bucket: str
    region: str
    key: str
    secret: Sensitive

    def presigned_get(self, filename: str, when: datetime, expires: int) -> str:
        """A GET URL of the object Coolify uploaded ``filename`` as, valid ``expires`` s."""
        base = urlsplit(self.endpoint.rstrip("/"))
        path = f"{unquote(base.path)}/{self.bucket}/{filename.lstrip('/')}"
        return presign_get(
            f"{base.scheme}://{base.netloc}",
            path,
            self.region,
            self.key,
            self.secret,
            when,
            expires,
        )


def presign_get(
    origin: str,
    path: str,
    region: str,
    access_key: str,
    secret: Sensitive,
    when: datetime,
    expires: int,
) -> str:
    """An AWS Signature V4 presigned GET (query-string auth, ``UNSIGNED-PAYLOAD``)."""
    host = urlsplit(origin).netloc
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    canonical_path = quote(path, safe="/" + _UNRESERVED)
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(
        f"{quote(k, safe=_UNRESERVED)}={quote(v, safe=_UNRESERVED)}"
        for k, v in sorted(query.items())
    )
    request = "\n".join(
        ["GET", canonical_path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    signing = ("AWS4" + secret.value).encode()
    for part in (day, region, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{origin}{canonical_path}?{canonical_query}&X-Amz-Signature={signature}"


def script(engine: str) -> str:
    """The POSIX shell script that fetches and loads a dump of ``engine``."""
    return _FETCH + _LOAD[engine] + _DONE


def job_env(database: Mapping[str, Any], engine: str, filename: str, url: str) -> dict[str, str]:
    """The job's environment: the script, where the dump is, how to reach the database."""
    internal = str(database["internal_db_url"])
    env = {
        "VIBN_RESTORE_SCRIPT": base64.b64encode(script(engine).encode()).decode(),
        "VIBN_DUMP_URL": url,
        "VIBN_DUMP_FILE": basename(filename),
        "DATABASE_URL": internal,
    }
    if engine in _ROOT_PASSWORD:
        parts = urlsplit(internal)
        root = database.get(_ROOT_PASSWORD[engine])
        env.update(
            VIBN_DB_HOST=parts.hostname or "",
            VIBN_DB_PORT=str(parts.port or 3306),
            VIBN_DB_USER="root" if root else unquote(parts.username or ""),
            VIBN_DB_NAME=unquote(parts.path.lstrip("/")),
            MYSQL_PWD=str(root) if root else unquote(parts.password or ""),
        )
    return env


def _image(database: Mapping[str, Any], engine: str) -> tuple[str, str]:
    """(name, tag) of the database's own image (the engine's default when unknown)."""
    image = str(database.get("image") or DEFAULT_IMAGES[engine])
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag


def create(
    client: CoolifyClient,
    database: Mapping[str, Any],
    engine: str,
    backup_uuid: str,
    filename: str,
    url: str,
    placement: Placement,
) -> str:
    """Create the idle job application with its environment; returns its uuid."""
    name, tag = _image(database, engine)
    db_name = str(database.get("name") or database["uuid"])
    body = {
        "project_uuid": placement.project_uuid,
        "environment_name": placement.environment_name,
        "server_uuid": placement.server_uuid,
        "docker_registry_image_name": name,
        "docker_registry_image_tag": tag,
        "name": f"vibn-restore-{db_name}-{backup_uuid[:8]}",
        "description": f"vibn restore job of database {db_name} from backup "
        f"{backup_uuid}; deleted when done",
        "ports_exposes": "80",
        "autogenerate_domain": False,
        "health_check_enabled": False,
        "custom_docker_run_options": IDLE,
        "instant_deploy": False,
    }
    app = str(client.create_application("dockerimage", body)["uuid"])
    env = job_env(database, engine, filename, url)
    rows = [
        {
            "key": key,
            "value": value,
            "is_preview": False,
            "is_literal": True,
            "is_multiline": False,
            "is_runtime": True,
            "is_buildtime": False,
        }
        for key, value in env.items()
    ]
    try:
        client.upsert_envs(app, rows)
    except BaseException:
        remove(client, app)
        raise
    return app


def remove(client: CoolifyClient, app_uuid: str) -> None:
    """Delete the job application (already gone is fine)."""
    with suppress(NotFoundError):
        client.delete_application(app_uuid, delete_volumes=True)

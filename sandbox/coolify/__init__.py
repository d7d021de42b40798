"""A wire-faithful emulator of the Coolify v4 REST API subset vibn drives.

Projects and environments, the one server, applications (public repo, deploy
key, Dockerfile, Docker image) with env vars and deployments, the eight
standalone database flavours with scheduled backups and S3 destinations. Status
codes, field names and error shapes follow Coolify 4.3.11's controllers where
they differ from its OpenAPI document (see shared/reference/coolify-notes.md).
"""

from vibn.sandbox.coolify.app import API_PREFIX, create_emulator
from vibn.sandbox.coolify.store import SERVER_UUID

__all__ = ["API_PREFIX", "SERVER_UUID", "create_emulator"]

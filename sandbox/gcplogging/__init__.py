"""A wire-faithful emulator of the Cloud Logging v2 REST subset vibn drives.

Log buckets (create, get, list, patch, delete, undelete, with the default
``_Default``/``_Required`` buckets of every project) and sinks (create, get,
list, update, patch, delete, with their writer identities). Paths, fields and
error statuses follow the ``logging.v2`` discovery document and what the
official clients send (see shared/reference/gcp-notes.md §4). No emulator of
the log-bucket configuration API exists elsewhere, hence this one.
"""

from vibn.sandbox.gcplogging.app import create_emulator

__all__ = ["create_emulator"]

"""A wire-faithful emulator of the Cloud DNS v1 REST API vibn drives.

Managed zones (create with their apex SOA/NS and four name servers, get, list, patch,
update, delete only when empty), changes (atomic; exact-match deletions, no upsert)
and per-record-set CRUD, answering what google-cloud-dns 0.37 and
google-api-python-client's discovery client send (shared/reference/gcp-notes.md §0,
§1). No usable Cloud DNS emulator exists elsewhere, hence this one; its zones are
published to the sandbox's public DNS so delegation and SES verification can be
followed end to end.
"""

from vibn.sandbox.clouddns.app import create_emulator

__all__ = ["create_emulator"]

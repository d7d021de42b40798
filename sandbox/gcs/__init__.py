"""A wire-faithful emulator of the Cloud Storage JSON API v1 subset vibn drives.

Buckets (location, labels, lifecycle, uniform bucket-level access, versioning,
metageneration preconditions, paginated lists), bucket IAM policies, HMAC keys,
and just enough objects to make a bucket non-empty. Request and error shapes
follow what google-cloud-storage 3.x sends and what GCS answers (see
shared/reference/gcp-notes.md §5). ``gcp`` holds the conventions every Google
Cloud emulator in the sandbox shares.
"""

from vibn.sandbox.gcs.app import create_emulator

__all__ = ["create_emulator"]

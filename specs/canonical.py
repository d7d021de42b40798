"""One byte-exact spelling of a stack, so equal stacks have equal digests.

A plan records the digest of the stack it was made from, and apply refuses a plan whose
stack has moved; that only works if the same stack always serialises the same way:
every field written (defaults too), aliases as in the document, keys sorted, ASCII only.
"""

from __future__ import annotations

import hashlib
import json

from vibn.specs.model import Stack


def canonical_json(stack: Stack) -> str:
    """The stack as compact JSON with sorted keys and every field, by alias."""
    document = stack.model_dump(mode="json", by_alias=True)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(stack: Stack) -> str:
    """The SHA-256 (hex) of ``canonical_json(stack)``."""
    return hashlib.sha256(canonical_json(stack).encode("ascii")).hexdigest()

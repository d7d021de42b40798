"""Conventions every Google Cloud emulator in the sandbox shares.

Google's APIs agree on a few wire habits that have nothing to do with any one
service: opaque ``pageToken``/``nextPageToken`` pagination, the ``fields``
partial-response parameter, RFC 3339 timestamps, a project *number* beside the
project id, and booleans in the query string spelt ``true`` or ``True``
(google-cloud-logging's HTTP client sends the latter). The Storage and Logging
emulators both use these, and both keep their records in one JSON document
behind one lock, persisted after every change: ``JsonStore``. A fault injected
through ``/_sandbox/faults`` without a body answers in the service's own error
shape (``ShapedFaults``), so a client reports it as it would report Google.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from vibn.sandbox.control import ControlState, Fault
from vibn.sandbox.persist import read_json, write_json_atomic

T = TypeVar("T")
Clock = Callable[[], float]


def project_number(project: str) -> str:
    """A stable 12-digit project number for ``project`` (int64 on the wire: a string)."""
    digest = hashlib.sha256(project.encode()).digest()
    return str(100_000_000_000 + int.from_bytes(digest[:6], "big") % 900_000_000_000)


def rfc3339(t: float, digits: int = 3) -> str:
    """``2026-11-25T17:02:03.123Z`` (``digits`` fractional digits: 0, 3, 6)."""
    stamp = datetime.fromtimestamp(t, UTC)
    base = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if digits <= 0:
        return base + "Z"
    return f"{base}.{stamp.strftime('%f')[:digits]}Z"


def query_bool(value: str | None, default: bool = False) -> bool:
    """A boolean query parameter: ``true``, ``True`` and ``1`` are true."""
    if value is None or value == "":
        return default
    return value.strip().lower() in {"true", "1"}


class PageTokenError(ValueError):
    """A ``pageToken`` this emulator did not hand out."""


def paginate(
    items: Sequence[T], key: Callable[[T], str], size: int, token: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after ``token``, and the next token.

    The token names the last key returned, so a page is stable when items are
    added or removed between calls, as Google's continuation tokens are.
    """
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise PageTokenError(token) from exc
        start = next((i for i, item in enumerate(items) if key(item) > after), len(items))
    page = list(items[start : start + size])
    more = start + size < len(items)
    if not more or not page:
        return page, None
    return page, base64.urlsafe_b64encode(key(page[-1]).encode()).decode()


def _split_fields(expr: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in expr:
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def select_fields(doc: Any, expr: str | None) -> Any:
    """Apply the ``fields`` system parameter (``a,b/c,items(name,id)``) to ``doc``."""
    if not expr or not isinstance(doc, dict):
        return doc
    out: dict[str, Any] = {}
    for part in _split_fields(expr):
        name, _, rest = part.partition("(")
        head, _, tail = name.partition("/")
        sub = rest[:-1] if rest.endswith(")") else ""
        if tail:
            sub = tail + (f"({sub})" if sub else "")
        if head not in doc:
            continue
        value = doc[head]
        if sub and isinstance(value, list):
            out[head] = [select_fields(v, sub) for v in value]
        elif sub:
            out[head] = select_fields(value, sub)
        else:
            out[head] = value
    return out


class JsonStore:
    """An emulator's records: one JSON document, one lock, written after each change.

    Handlers run under ``lock``, call ``mark_dirty()`` when they changed
    anything, and the app calls ``flush()`` before the response leaves, so what
    a client was told is on disk.
    """

    version = 1

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self.lock = threading.RLock()
        self._dirty = False
        self.data: dict[str, Any] = self.empty()
        loaded = read_json(path) if path is not None else None
        if isinstance(loaded, dict) and loaded.get("version") == self.version:
            self.data.update(loaded)

    def empty(self) -> dict[str, Any]:
        """The document of an emulator that holds nothing (overridden per emulator)."""
        return {"version": self.version}

    def now(self) -> float:
        return self.clock()

    def table(self, name: str) -> dict[str, Any]:
        rows: dict[str, Any] = self.data.setdefault(name, {})
        return rows

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        """Write the document if this request changed it."""
        if self._dirty and self.path is not None:
            write_json_atomic(self.path, self.data)
        self._dirty = False

    def reset(self) -> None:
        """Forget every record."""
        with self.lock:
            self.data = self.empty()
            self._dirty = True
            self.flush()


class ShapedFaults(ControlState):
    """Faults injected without a body answer with ``body_for(status)``."""

    def __init__(self, body_for: Callable[[int], dict[str, Any]]) -> None:
        super().__init__()
        self.body_for = body_for

    def take_fault(self, method: str, path: str, body: str = "") -> Fault | None:
        fault = super().take_fault(method, path, body)
        if fault is None or fault.status is None or fault.body is not None or fault.text:
            return fault
        return replace(fault, body=self.body_for(fault.status))

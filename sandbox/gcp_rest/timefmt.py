"""Durations and timestamps as Google's JSON spells them.

``google.protobuf.Duration`` travels as ``"600s"`` or ``"0.100s"`` (3, 6 or 9
fractional digits) and ``Timestamp`` as RFC 3339 in UTC with ``Z``; clients
compare what they sent with what they read back, so the emulator answers in
the same canonical spelling Google does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DURATION_RE = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")
_TIMESTAMP_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_duration(text: str) -> float:
    """``"600s"`` / ``"0.100s"`` -> seconds; ValueError otherwise."""
    m = _DURATION_RE.match(text)
    if m is None:
        raise ValueError(f"not a duration: {text!r}")
    seconds = int(m.group(2)) + int((m.group(3) or "0").ljust(9, "0")) / 1e9
    return -seconds if m.group(1) else seconds


def format_duration(seconds: float) -> str:
    """Seconds -> Google's Duration JSON (``"5s"``, ``"0.100s"``)."""
    nanos_total = round(abs(seconds) * 1e9)
    whole, nanos = divmod(nanos_total, 10**9)
    sign = "-" if seconds < 0 else ""
    if nanos == 0:
        return f"{sign}{whole}s"
    digits = 3 if nanos % 10**6 == 0 else 6 if nanos % 1000 == 0 else 9
    return f"{sign}{whole}.{str(nanos).rjust(9, '0')[:digits]}s"


def parse_timestamp(text: str) -> float:
    """RFC 3339 -> epoch seconds (microsecond precision); ValueError otherwise."""
    m = _TIMESTAMP_RE.match(text)
    if m is None:
        raise ValueError(f"not a timestamp: {text!r}")
    zone = "+00:00" if m.group(4) in ("Z", "z") else m.group(4)
    micros = (m.group(3) or "0").ljust(6, "0")[:6]
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{micros}{zone}").timestamp()


def format_timestamp(t: float) -> str:
    """Epoch seconds -> ``2026-11-25T17:02:03Z`` (fraction only when there is one)."""
    moment = datetime.fromtimestamp(round(t, 6), UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond == 0:
        return base + "Z"
    frac = f"{moment.microsecond:06d}"
    return f"{base}.{frac[:3] if frac.endswith('000') else frac}Z"

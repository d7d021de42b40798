"""Proto3 JSON, checked against a schema, the way Google's front end reads it.

Requests name fields in camelCase or snake_case, send enums as names or numbers
(GAPIC REST sends numbers), int64 as strings, durations as ``"600s"``,
timestamps in RFC 3339 and bytes in base64; an unknown field name is refused
with ``Unknown name "x" at 'job': Cannot find field.``. ``decode`` checks a
request body against a ``Message`` and stores it canonically (enum names,
canonical strings); ``encode`` renders the stored form back, with numbers for
enums when the client asked ``enum-encoding=int`` and proto3 defaults omitted.
``mask_paths``/``apply_mask`` implement ``updateMask``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from vibn.sandbox.gcp_rest.errors import invalid
from vibn.sandbox.gcp_rest.timefmt import (
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)

STRING, BOOL, INT32, INT64, DOUBLE, BYTES = "string", "bool", "int32", "int64", "double", "bytes"
DURATION, TIMESTAMP, ANY = "duration", "timestamp", "any"
_SCALAR_TYPES = {STRING: "TYPE_STRING", BOOL: "TYPE_BOOL", INT32: "TYPE_INT32"}
_SCALAR_TYPES |= {INT64: "TYPE_INT64", DOUBLE: "TYPE_DOUBLE", BYTES: "TYPE_BYTES"}


@dataclass(frozen=True)
class Enum:
    """A proto enum: its full name and its values (position = number)."""

    type_name: str
    values: tuple[str, ...]

    def number(self, name: str) -> int:
        return self.values.index(name)


@dataclass(frozen=True)
class MapOf:
    value: Kind


@dataclass(frozen=True)
class ListOf:
    item: Kind


@dataclass(frozen=True)
class Message:
    """A proto message: camelCase field -> kind, its oneofs, its output-only fields."""

    type_name: str
    fields: Mapping[str, Kind]
    oneofs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    output_only: frozenset[str] = frozenset()

    def field_name(self, name: str) -> str | None:
        """The camelCase field a JSON or query name (camel or snake) refers to."""
        wanted = camel(name)
        return wanted if wanted in self.fields else None


Kind = str | Enum | Message | MapOf | ListOf


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _bad_value(path: str, kind: Kind, value: Any) -> NoReturn:
    if isinstance(kind, Enum | Message):
        type_name = f"type.googleapis.com/{kind.type_name}"
    elif kind in (DURATION, TIMESTAMP):
        type_name = f"type.googleapis.com/google.protobuf.{kind.capitalize()}"
    else:
        type_name = _SCALAR_TYPES.get(str(kind), str(kind))
    invalid(f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}")


def _join(path: str, name: str) -> str:
    return f"{path}.{snake(name)}" if path else snake(name)


def decode(kind: Kind, value: Any, path: str) -> Any:
    """Check a proto3-JSON value against ``kind`` and put it in canonical form.

    Enums become names, durations and timestamps canonical strings, bytes
    standard base64; output-only fields are dropped, as Google ignores them.
    """
    if isinstance(kind, Message):
        if not isinstance(value, dict):
            _bad_value(path, kind, value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = kind.field_name(str(key))
            if name is None:
                where = f" at '{path}'" if path else ""
                invalid(
                    f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                    "Cannot find field."
                )
            if item is None or name in kind.output_only:
                continue
            out[name] = decode(kind.fields[name], item, _join(path, name))
        for oneof, members in kind.oneofs.items():
            chosen = [m for m in members if m in out]
            if len(chosen) > 1:
                invalid(
                    f"Invalid JSON payload received. Oneof field '{oneof}' is already set. "
                    f"Cannot set '{chosen[1]}'"
                )
        return out
    if isinstance(kind, Enum):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(kind.values):
            return kind.values[value]
        if isinstance(value, str) and value in kind.values:
            return value
        _bad_value(path, kind, value)
    if isinstance(kind, MapOf):
        if not isinstance(value, dict):
            _bad_value(path, STRING, value)
        return {str(k): decode(kind.value, v, f"{path}[{k}]") for k, v in value.items()}
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            _bad_value(path, kind.item, value)
        return [decode(kind.item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _decode_scalar(kind, value, path)


def _decode_scalar(kind: str, value: Any, path: str) -> Any:
    try:
        if kind == ANY:
            return value
        if kind == STRING and isinstance(value, str):
            return value
        if kind == BOOL and isinstance(value, bool):
            return value
        if kind in (INT32, INT64) and not isinstance(value, bool):
            number = int(value) if isinstance(value, str) else value
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            limit = 2**31 if kind == INT32 else 2**63
            if isinstance(number, int) and -limit <= number < limit:
                return number
        if kind == DOUBLE and not isinstance(value, bool) and isinstance(value, int | float | str):
            return float(value)
        if kind == BYTES and isinstance(value, str):
            padded = value + "=" * (-len(value) % 4)
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
            return base64.b64encode(raw).decode("ascii")
        if kind == DURATION and isinstance(value, str):
            return format_duration(parse_duration(value))
        if kind == TIMESTAMP and isinstance(value, str):
            return format_timestamp(parse_timestamp(value))
    except (ValueError, binascii.Error):
        pass
    _bad_value(path, kind, value)


def _is_default(value: Any) -> bool:
    return value is None or (not isinstance(value, dict) and value in ("", 0, False, [], {}))


def encode(kind: Kind, value: Any, int_enums: bool) -> Any:
    """Stored canonical form -> the JSON Google answers (proto3 defaults omitted)."""
    if isinstance(kind, Message):
        out: dict[str, Any] = {}
        for name, sub in kind.fields.items():
            item = value.get(name)
            if _is_default(item) or (isinstance(sub, Enum) and item == sub.values[0]):
                continue
            out[name] = encode(sub, item, int_enums)
        return out
    if isinstance(kind, Enum):
        return kind.number(value) if int_enums else value
    if isinstance(kind, MapOf):
        return {k: encode(kind.value, v, int_enums) for k, v in value.items()}
    if isinstance(kind, ListOf):
        return [encode(kind.item, v, int_enums) for v in value]
    return str(value) if kind == INT64 else value


def mask_paths(raw: str, message: Message) -> list[tuple[str, ...]]:
    """``updateMask`` (camel or snake, comma-separated) -> checked camelCase paths."""
    paths = []
    for text in filter(None, (p.strip() for p in raw.split(","))):
        kind: Kind = message
        parts = []
        for part in text.split("."):
            name = kind.field_name(part) if isinstance(kind, Message) else None
            if not isinstance(kind, Message) or name is None or name in kind.output_only:
                invalid(f"Invalid update_mask provided: field '{text}' cannot be updated.")
            parts.append(name)
            kind = kind.fields[name]
        paths.append(tuple(parts))
    return paths


def apply_mask(
    target: dict[str, Any], source: Mapping[str, Any], paths: Sequence[tuple[str, ...]]
) -> None:
    """Copy each masked field from ``source`` (absent there: cleared in ``target``)."""
    for path in paths:
        src: Any = source
        dst = target
        for part in path[:-1]:
            src = src.get(part) if isinstance(src, Mapping) else None
            dst = dst.setdefault(part, {})
        leaf = path[-1]
        if isinstance(src, Mapping) and leaf in src:
            dst[leaf] = json.loads(json.dumps(src[leaf]))
        else:
            dst.pop(leaf, None)

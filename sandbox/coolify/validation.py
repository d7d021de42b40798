"""A small Laravel validator: the rules and messages Coolify's controllers produce.

Coolify validates every write with Laravel rules (``string|nullable``,
``boolean``, ``regex:``, ``Rule::enum``...) and then rejects any field outside the
endpoint's allow-list with "This field is not allowed.". Clients see the messages
verbatim in 422 bodies, so they follow Laravel's English defaults ("The git
branch field is required.": underscores become spaces). Like Laravel, a failed
``required`` stops further checks of that field, a null value passes every rule
of a ``nullable`` field, and all other failing rules of a field are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["string", "boolean", "integer", "numeric", "array", "any"]


@dataclass(frozen=True)
class Spec:
    """The rules of one field."""

    kind: Kind = "any"
    required: bool = False
    nullable: bool = False
    regex: str | None = None
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    items: Spec | None = None


def Str(**kw: Any) -> Spec:
    """A ``string`` field (the short names keep the rule tables readable)."""
    return Spec(kind="string", **kw)


def Bool(**kw: Any) -> Spec:
    return Spec(kind="boolean", **kw)


def Int(**kw: Any) -> Spec:
    return Spec(kind="integer", **kw)


def Num(**kw: Any) -> Spec:
    return Spec(kind="numeric", **kw)


def Arr(**kw: Any) -> Spec:
    return Spec(kind="array", **kw)


def attribute(name: str) -> str:
    """Laravel's display name of a field: underscores become spaces."""
    return name.replace("_", " ")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()) is not None


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value.strip())
        except ValueError:
            return False
        return bool(value.strip())
    return False


_TYPE_CHECK: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: v in (True, False, 0, 1, "0", "1") and not isinstance(v, float),
    "integer": _is_int,
    "numeric": _is_numeric,
    "array": lambda v: isinstance(v, list | dict),
    "any": lambda v: True,
}
_TYPE_MESSAGE = {
    "string": "The {a} field must be a string.",
    "boolean": "The {a} field must be true or false.",
    "integer": "The {a} field must be an integer.",
    "numeric": "The {a} field must be a number.",
    "array": "The {a} field must be an array.",
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _size_messages(name: str, spec: Spec, value: Any) -> list[str]:
    a = attribute(name)
    if isinstance(value, str) and spec.kind == "string":
        size, unit = float(len(value)), " characters"
    elif isinstance(value, list | dict):
        size, unit = float(len(value)), " items"
    elif _is_numeric(value):
        size, unit = float(value), ""
    else:
        return []
    out = []
    if spec.min is not None and size < spec.min:
        verb = "have at least" if unit == " items" else "be at least"
        out.append(f"The {a} field must {verb} {_fmt(spec.min)}{unit}.")
    if spec.max is not None and size > spec.max:
        verb = "have more than" if unit == " items" else "be greater than"
        out.append(f"The {a} field must not {verb} {_fmt(spec.max)}{unit}.")
    return out


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def check_field(name: str, spec: Spec, present: bool, value: Any) -> list[str]:
    """Every message Laravel would give for this field (empty when it passes)."""
    a = attribute(name)
    if spec.required and (not present or _blank(value)):
        return [f"The {a} field is required."]
    if not present or (value is None and spec.nullable):
        return []
    messages = []
    if not _TYPE_CHECK[spec.kind](value):
        messages.append(_TYPE_MESSAGE[spec.kind].format(a=a))
    if spec.regex is not None and (not isinstance(value, str) or not re.search(spec.regex, value)):
        messages.append(f"The {a} field format is invalid.")
    if spec.choices is not None and value not in spec.choices:
        messages.append(f"The selected {a} is invalid.")
    if not messages:
        messages.extend(_size_messages(name, spec, value))
    if spec.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            for msg in check_field(f"{name}.{i}", spec.items, True, item):
                messages.append(msg)
    return messages


def validate(
    data: Mapping[str, Any],
    rules: Mapping[str, Spec],
    allowed: Iterable[str] | None = None,
) -> dict[str, list[str]]:
    """Laravel errors for ``data``: rule failures, then fields outside ``allowed``."""
    errors: dict[str, list[str]] = {}
    for name, spec in rules.items():
        messages = check_field(name, spec, name in data, data.get(name))
        if messages:
            errors[name] = messages
    if allowed is not None:
        allow = set(allowed)
        for name in data:
            if name not in allow:
                errors.setdefault(name, []).append("This field is not allowed.")
    return errors


def coerce(value: Any, spec: Spec | None) -> Any:
    """Store a validated value the way the model's casts would."""
    if value is None or spec is None:
        return value
    if spec.kind == "boolean":
        return value in (True, 1, "1")
    if spec.kind == "integer" and _is_int(value):
        return int(float(value))
    if spec.kind == "numeric" and _is_numeric(value):
        f = float(value)
        return int(f) if f.is_integer() else f
    return value

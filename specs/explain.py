"""Pydantic's validation errors, retold for the person (or agent) who wrote the stack.

Pydantic says "Extra inputs are not permitted" at ``('spec', 'app', 'services', 0,
'replica')``; a stack author needs ``spec.app.services[0].replica: unknown field
'replica'; did you mean 'replicas'?``. The allowed names and values are read from the
model itself, so the messages stay true when the model changes.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vibn.specs.model import Stack
from vibn.specs.names import shown
from vibn.specs.problems import Problem, format_path

_EXPECTED = {
    "string_type": "text",
    "string_unicode": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}

_BOUNDS = {
    "greater_than": "greater than {gt}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "less_than_equal": "at most {le}",
}

# The model's regular expressions, in words.
_PATTERNS = {
    r"^/[A-Za-z0-9._~/%?=+-]*$": "a URL path starting with '/' "
    "(letters, digits and . _ ~ / % ? = + -)",
    r"^(https://|git@)[A-Za-z0-9._@:/~+-]+$": "a git repository URL starting with https:// or git@",
    r"^[A-Za-z0-9._/-]{1,255}$": "a branch name of letters, digits and . _ / -",
    r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$": "a key of letters, digits and _ . - "
    "(starting with a letter or _)",
    r"^[A-Za-z0-9._-]{1,64}$": "a version such as 16 or 7.2",
    r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$": "a bucket name of 3-63 lowercase letters, "
    "digits, '-', '_' and '.', starting and ending with a letter or digit",
    r"^[a-z0-9]+([._+-][a-z0-9]+)*$": "a mailbox name such as noreply or billing.team",
    r"^/": "a path starting with '/'",
}


def explain(error: ValidationError) -> list[Problem]:
    """One problem per pydantic error, in the order pydantic found them."""
    return [_problem(detail) for detail in error.errors(include_url=False)]


def _problem(detail: ErrorDetails) -> Problem:
    loc = list(detail["loc"])
    # pydantic marks an invalid dict key with a trailing "[key]" after the key itself
    bad_key = len(loc) >= 2 and loc[-1] == "[key]" and detail["type"] != "extra_forbidden"
    if bad_key:
        loc.pop()
    message = _message(detail, loc)
    if bad_key and detail["type"] != "value_error":
        message = f"invalid key: {message}"
    return Problem(format_path(loc), message)


def _message(detail: ErrorDetails, loc: list[str | int]) -> str:
    kind, value, ctx = detail["type"], detail.get("input"), detail.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden" and loc:
        return _unknown_field(str(loc[-1]), _field_names(loc[:-1]))
    if kind == "literal_error":
        return _not_allowed(value, _literal_values(loc) or [str(ctx.get("expected", ""))])
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else detail["msg"]
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}"
    if kind in _BOUNDS:
        bound = _BOUNDS[kind].format(**{k: _number(v) for k, v in ctx.items()})
        shown_value = value if isinstance(value, str) and len(value) < 40 else _describe(value)
        return f"must be {bound}, not {shown_value}"
    if kind == "too_short":
        return f"needs at least {_items(ctx.get('min_length', 1))}"
    if kind == "too_long":
        return f"may hold at most {_items(ctx.get('max_length', 0))}"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} character(s) long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{_describe(value)} is not {_PATTERNS.get(pattern, f'of the form {pattern}')}"
    text = detail["msg"]
    return text[:1].lower() + text[1:]


def _unknown_field(key: str, allowed: list[str]) -> str:
    message = f"unknown field {shown(key)}"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if allowed:
        return f"{message} (allowed: {', '.join(allowed)})"
    return message


def _not_allowed(value: Any, allowed: list[str]) -> str:
    message = f"{_describe(value)} is not allowed; "
    message += f"use {allowed[0]}" if len(allowed) == 1 else f"use one of {', '.join(allowed)}"
    if isinstance(value, str):
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return shown(value)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _items(count: Any) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _field_names(loc: list[str | int]) -> list[str]:
    model = _type_at(loc)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


def _literal_values(loc: list[str | int]) -> list[str]:
    tp = _type_at(loc)
    if get_origin(tp) is Literal:
        return [str(arg) for arg in get_args(tp)]
    return []


def _type_at(loc: list[str | int]) -> Any:
    """The annotation of the value at ``loc`` in a ``Stack``, or None when unknown."""
    tp: Any = Stack
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            fields = {info.alias or name: info for name, info in tp.model_fields.items()}
            if part not in fields:
                return None
            tp = fields[part].annotation
        elif get_origin(tp) is list and isinstance(part, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict and isinstance(part, str):
            tp = get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(tp) if arg is not type(None)]
            if len(options) != 1:
                return tp
            tp = options[0]
        else:
            return tp

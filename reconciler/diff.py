"""Field-level differences between desired and observed props, in vibn's own type.

Only the keys a resource's desired props name are compared (a provider object has many
fields vibn does not manage); nested mappings are compared key by key so that a removed
env var shows as a removal. Sensitive values are compared by value but never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vibn.specs.values import MASK, Sensitive

from .graph import UNKNOWN

Op = Literal["add", "remove", "change"]


@dataclass(frozen=True)
class FieldChange:
    op: Op
    path: str
    old: Any
    new: Any
    sensitive: bool = False
    forces_replacement: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "path": self.path,
            "old": _show(self.old, self.sensitive),
            "new": _show(self.new, self.sensitive),
            "sensitive": self.sensitive,
            "forces_replacement": self.forces_replacement,
        }


def _show(value: Any, sensitive: bool) -> Any:
    if value is UNKNOWN:
        return str(UNKNOWN)
    if sensitive and value is not None:
        return MASK
    return _plain(value)


def _plain(value: Any) -> Any:
    if value is UNKNOWN:
        return str(UNKNOWN)
    if isinstance(value, Sensitive):
        return MASK
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, Sensitive) or isinstance(b, Sensitive):
        va = a.value if isinstance(a, Sensitive) else a
        vb = b.value if isinstance(b, Sensitive) else b
        return bool(va == vb)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def diff(
    desired: Mapping[str, Any],
    observed: Mapping[str, Any],
    replace_fields: frozenset[str] = frozenset(),
    *,
    secret_keys: frozenset[str] = frozenset(),
) -> list[FieldChange]:
    """Changes needed to turn ``observed`` into ``desired`` (desired keys only).

    ``secret_keys`` names nested keys whose old values were sensitive when last applied,
    so that removing or replacing one never prints its old value.
    """
    changes: list[FieldChange] = []
    for key in desired:
        _walk(
            key,
            desired[key],
            observed.get(key),
            key in observed,
            key in replace_fields,
            secret_keys,
            changes,
        )
    return changes


def _walk(
    path: str,
    new: Any,
    old: Any,
    present: bool,
    replace: bool,
    secret_keys: frozenset[str],
    out: list[FieldChange],
) -> None:
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        for k in new:
            _walk(f"{path}.{k}", new[k], old.get(k), k in old, replace, secret_keys, out)
        for k in old:
            if k not in new:
                secret = f"{path}.{k}" in secret_keys or isinstance(old[k], Sensitive)
                out.append(FieldChange("remove", f"{path}.{k}", old[k], None, secret, replace))
        return
    if new is UNKNOWN:
        sensitive = isinstance(old, Sensitive) or path in secret_keys
        out.append(FieldChange("change" if present else "add", path, old, new, sensitive, replace))
        return
    if present and _equal(new, old):
        return
    sensitive = isinstance(new, Sensitive) or isinstance(old, Sensitive) or path in secret_keys
    out.append(FieldChange("change" if present else "add", path, old, new, sensitive, replace))

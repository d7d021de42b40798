"""The sandbox server with the Coolify emulator's table scans indexed, for benchmarks.

The emulator answers ``GET /applications/{uuid}/envs`` by sorting and scanning the whole
env table; with a thousand stacks (~120,000 env rows) each such answer costs about a
second of emulator CPU, which a real Coolify (an indexed SQL query) does not. Benchmarks
that count vibn's requests and time its sweep run the same emulator with ``rows`` cached
and ``where`` answered from a per-column index, rebuilt whenever a row is inserted or
removed. Behaviour is unchanged; only the emulator's own cost goes.

``python benchmarks/indexed_sandbox.py --dir DIR`` (the arguments of
``python -m vibn.sandbox.server``).
"""

from __future__ import annotations

import sys
from typing import Any

from vibn.sandbox import server
from vibn.sandbox.coolify import store as coolify_store

Store = coolify_store.CoolifyStore
_insert, _remove, _reset = Store.insert, Store.remove, Store.reset


def _caches(self: Any) -> dict[str, Any]:
    found: dict[str, Any] | None = self.__dict__.get("_bench_cache")
    if found is None or found.get("data") is not self.data:
        found = self.__dict__["_bench_cache"] = {"data": self.data, "rows": {}, "index": {}}
    return found


def _forget(self: Any, name: str) -> None:
    cache = _caches(self)
    cache["rows"].pop(name, None)
    for key in [k for k in cache["index"] if k[0] == name]:
        del cache["index"][key]


def rows(self: Any, name: str) -> list[dict[str, Any]]:
    cache = _caches(self)
    table = self.table(name)
    hit = cache["rows"].get(name)
    if hit is None or len(hit) != len(table):
        hit = cache["rows"][name] = sorted(table.values(), key=lambda r: int(r["id"]))
    return list(hit)


def where(self: Any, name: str, **match: Any) -> list[dict[str, Any]]:
    if not match:
        return rows(self, name)
    column = sorted(match)[0]
    if not column.startswith("_"):  # only the owner links, set once at insert, are indexed
        return [r for r in rows(self, name) if all(r.get(k) == v for k, v in match.items())]
    cache = _caches(self)
    ordered = rows(self, name)
    index = cache["index"].get((name, column))
    if index is None or index[0] != len(ordered):
        by: dict[Any, list[dict[str, Any]]] = {}
        for r in ordered:
            value = r.get(column)
            try:
                by.setdefault(value, []).append(r)
            except TypeError:  # unhashable values: no index for this column
                by = {}
                break
        if not by and ordered:
            return [r for r in ordered if all(r.get(k) == v for k, v in match.items())]
        index = cache["index"][(name, column)] = (len(ordered), by)
    try:
        candidates = index[1].get(match[column], [])
    except TypeError:
        candidates = ordered
    return [r for r in candidates if all(r.get(k) == v for k, v in match.items())]


def insert(self: Any, name: str, record: dict[str, Any], *, key: str = "uuid") -> Any:
    _forget(self, name)
    return _insert(self, name, record, key=key)


def remove(self: Any, name: str, uuid: str) -> None:
    _forget(self, name)
    _remove(self, name, uuid)


Store.rows = rows  # type: ignore[method-assign]
Store.where = where  # type: ignore[method-assign]
Store.insert = insert  # type: ignore[method-assign]
Store.remove = remove  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(server.main())

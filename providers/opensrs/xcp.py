"""OPS envelopes and XCP signatures, as vibn's OpenSRS client writes and reads them.

OpenSRS takes one XML document per call: ``OPS_envelope`` > ``body`` > ``data_block``
holding a value where ``dt_assoc`` is a map of ``<item key="k">``, ``dt_array`` a list
keyed ``0``, ``1``... and a scalar the text of an item. All scalars travel as strings
(``True`` -> ``"1"``, ``3`` -> ``"3"``, ``None`` -> empty). The reseller signs the exact
bytes sent with ``md5_hex(md5_hex(body + key) + key)``. Kept apart from the client so the
codec can be tested (and property-tested) on its own.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

VERSION = "0.9"
_PROLOGUE = (
    "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n"
    "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n"
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;", "\r": "&#13;"}
_ATTRIBUTE = {**_TEXT, "\n": "&#10;", "\t": "&#9;"}

#: what ``decode`` returns: nested dicts and lists of strings
Value = Any


class XcpFormatError(ValueError):
    """A document that is not an OPS envelope, or a value one cannot carry."""


def signature(body: bytes, key: str) -> str:
    """The ``X-Signature`` of ``body``: ``md5_hex(md5_hex(body + key) + key)``."""
    secret = key.encode("utf-8")
    first = hashlib.md5(body + secret).hexdigest()
    return hashlib.md5(first.encode("ascii") + secret).hexdigest()


def _escape(text: str, table: Mapping[str, str]) -> str:
    if _NOT_XML.search(text):
        raise XcpFormatError(f"{text!r} holds characters XML 1.0 cannot carry")
    return "".join(table.get(ch, ch) for ch in text)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str | int | Decimal):
        return str(value)
    raise XcpFormatError(f"cannot send a {type(value).__name__} as an OPS scalar")


def _container(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        tag = "dt_assoc"
        pairs: Sequence[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        tag = "dt_array"
        pairs = [(str(i), v) for i, v in enumerate(value)]
    else:
        out.append(f"<dt_scalar>{_escape(_scalar(value), _TEXT)}</dt_scalar>")
        return
    out.append(f"<{tag}>")
    for key, item in pairs:
        out.append(f'<item key="{_escape(key, _ATTRIBUTE)}">')
        if isinstance(item, Mapping | list | tuple):
            _container(item, out)
        else:
            out.append(_escape(_scalar(item), _TEXT))
        out.append("</item>")
    out.append(f"</{tag}>")


def encode(data: Any) -> bytes:
    """The envelope carrying ``data`` (a mapping for every XCP request), UTF-8."""
    out = [_PROLOGUE, f"<OPS_envelope><header><version>{VERSION}</version></header>"]
    out.append("<body><data_block>")
    _container(data, out)
    out.append("</data_block></body></OPS_envelope>")
    return "".join(out).encode("utf-8")


def request(action: str, object_: str, attributes: Mapping[str, Any], **top: Any) -> bytes:
    """An XCP request: ``protocol``, ``action``, ``object``, ``attributes`` and any
    top-level items (``domain``, ``cookie``, ``registrant_ip``)."""
    data: dict[str, Any] = {"protocol": "XCP", "action": action, "object": object_}
    data.update({k: v for k, v in top.items() if v is not None})
    data["attributes"] = dict(attributes)
    return encode(data)


def decode(body: bytes) -> Value:
    """The value inside an envelope: dicts, lists and strings (empty items are ``""``)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise XcpFormatError(f"the reply is not XML: {exc}") from exc
    block = root.find("body/data_block") if root.tag == "OPS_envelope" else None
    if block is None or len(block) != 1:
        raise XcpFormatError("the reply is not an OPS envelope with one value")
    return _read(block[0])


def _read(node: ET.Element) -> Value:
    if node.tag == "dt_assoc":
        return {str(item.get("key")): _item(item) for item in node if item.tag == "item"}
    if node.tag == "dt_array":
        indexed = []
        for item in node:
            if item.tag != "item":
                continue
            key = str(item.get("key"))
            if not key.isdigit():
                raise XcpFormatError(f"a dt_array item is keyed {key!r}")
            indexed.append((int(key), _item(item)))
        return [value for _, value in sorted(indexed, key=lambda pair: pair[0])]
    if node.tag == "dt_scalar":
        return node.text or ""
    raise XcpFormatError(f"unexpected <{node.tag}> in the data block")


def _item(item: ET.Element) -> Value:
    children = list(item)
    return _read(children[0]) if children else (item.text or "")

"""The OPS envelope (version 0.9) and the XCP request signature, as the emulator reads them.

Every OpenSRS call is one XML document POSTed to ``/``: an ``OPS_envelope`` whose
``body/data_block`` holds one value, where ``dt_assoc`` is a map (``<item key="k">``),
``dt_array`` a list (``<item key="0">``...) and a scalar is an item's text (or a bare
``dt_scalar``). The reseller signs the exact body bytes with
``md5_hex(md5_hex(body + key) + key)``. Replies go out the same way, indented as the live
server does; an empty scalar is ``<item key="x"/>``. Written here, not shared with the
client in ``providers``: the emulator must not depend on the code it checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

VERSION = "0.9"
PROLOGUE = (
    "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n"
    "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n"
)
#: characters XML 1.0 cannot carry at all, not even as references
_UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, "\n": "&#10;", "\t": "&#9;"}


class OpsError(ValueError):
    """The body is not an OPS envelope the emulator can read."""


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def signature(body: bytes, key: str) -> str:
    """``md5_hex(md5_hex(body + key) + key)``, lowercase hex."""
    secret = key.encode("utf-8")
    return md5_hex(md5_hex(body + secret).encode("ascii") + secret)


def signature_ok(body: bytes, key: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(given.strip().lower(), signature(body, key))


# --- reading ----------------------------------------------------------------------------


def parse(body: bytes) -> Any:
    """The value in the envelope's data block (dicts, lists and strings)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise OpsError(f"not well-formed XML: {exc}") from exc
    if root.tag != "OPS_envelope":
        raise OpsError(f"the document element is <{root.tag}>, not <OPS_envelope>")
    block = root.find("body/data_block")
    if block is None or len(block) != 1:
        raise OpsError("the envelope has no body/data_block with exactly one value")
    return _value(block[0])


def _value(node: ET.Element) -> Any:
    if node.tag == "dt_assoc":
        return {_key(item): _item(item) for item in node if item.tag == "item"}
    if node.tag == "dt_array":
        pairs = [(_index(item), _item(item)) for item in node if item.tag == "item"]
        return [value for _, value in sorted(pairs, key=lambda pair: pair[0])]
    if node.tag == "dt_scalar":
        return node.text or ""
    raise OpsError(f"unexpected element <{node.tag}>")


def _item(item: ET.Element) -> Any:
    children = list(item)
    if not children:
        return item.text or ""
    return _value(children[0])


def _key(item: ET.Element) -> str:
    key = item.get("key")
    if key is None:
        raise OpsError("an <item> has no key")
    return key


def _index(item: ET.Element) -> int:
    key = _key(item)
    if not key.isdigit():
        raise OpsError(f"a dt_array item has the key {key!r}, not an index")
    return int(key)


# --- writing ----------------------------------------------------------------------------


def escape(text: str, *, attribute: bool = False) -> str:
    """XML-escape ``& < > ' "`` (and, in attributes, newlines and tabs); ``\\r`` as a
    reference so that it survives parsing."""
    if _UNREPRESENTABLE.search(text):
        raise ValueError(f"{text!r} holds characters XML cannot carry")
    table = _ATTR_ESCAPES if attribute else _TEXT_ESCAPES
    out = "".join(table.get(ch, ch) for ch in text)
    return out.replace("\r", "&#13;")


def render(data: Mapping[str, Any]) -> bytes:
    """A whole envelope around ``data`` (the reply's top-level ``dt_assoc``)."""
    lines = [
        "<OPS_envelope>",
        " <header>",
        f"  <version>{VERSION}</version>",
        " </header>",
        " <body>",
        "  <data_block>",
    ]
    _emit(lines, data, "   ")
    lines += ["  </data_block>", " </body>", "</OPS_envelope>", ""]
    return (PROLOGUE + "\n".join(lines)).encode("utf-8")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _emit(lines: list[str], value: Any, pad: str) -> None:
    """``value`` as a container element at indentation ``pad``."""
    if isinstance(value, Mapping):
        pairs: Sequence[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
        tag = "dt_assoc"
    elif isinstance(value, list | tuple):
        pairs = [(str(i), v) for i, v in enumerate(value)]
        tag = "dt_array"
    else:
        lines.append(f"{pad}<dt_scalar>{escape(_scalar(value))}</dt_scalar>")
        return
    if not pairs:
        lines.append(f"{pad}<{tag}/>")
        return
    lines.append(f"{pad}<{tag}>")
    for key, item in pairs:
        head = f'{pad} <item key="{escape(key, attribute=True)}"'
        if isinstance(item, Mapping | list | tuple):
            lines.append(head + ">")
            _emit(lines, item, pad + "  ")
            lines.append(f"{pad} </item>")
            continue
        text = _scalar(item)
        lines.append(f"{head}>{escape(text)}</item>" if text else head + "/>")
    lines.append(f"{pad}</{tag}>")

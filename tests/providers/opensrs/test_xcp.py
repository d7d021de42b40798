"""The client's OPS codec: round trips of nested dt_assoc/dt_array with every escapable
character (hypothesis), against itself and against the emulator's independent codec;
the documented reply parses; the signature is the documented double MD5."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibn.providers.opensrs import xcp
from vibn.sandbox.opensrs import ops

_NOT_XML = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]]
text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters=_NOT_XML)
    | st.sampled_from("&<>'\"\r\n\t "),
    max_size=12,
)
values = st.recursive(
    text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=16,
)
documents = st.dictionaries(text, values, max_size=5)
#: enough variety for a codec, quick enough for every run (and no deadline on a busy CI box)
quick = settings(max_examples=60, deadline=None)

DOCUMENTED_REPLY = b"""<OPS_envelope><header><version>0.9</version></header>
<body><data_block><dt_assoc>
 <item key="protocol">XCP</item><item key="action">REPLY</item><item key="object">DOMAIN</item>
 <item key="is_success">1</item><item key="response_code">200</item>
 <item key="response_text">Registration successful</item>
 <item key="attributes"><dt_assoc>
  <item key="id">3735281</item>
  <item key="registration_code">200</item>
  <item key="registration_text">Domain registration successfully completed.</item>
  <item key="admin_email">ada@example.com</item>
 </dt_assoc></item>
</dt_assoc></data_block></body></OPS_envelope>"""


@given(documents)
@quick
def test_round_trip(doc: dict[str, Any]) -> None:
    assert xcp.decode(xcp.encode(doc)) == doc


@given(documents)
@quick
def test_the_emulator_reads_what_the_client_writes_and_back(doc: dict[str, Any]) -> None:
    assert ops.parse(xcp.encode(doc)) == doc
    assert xcp.decode(ops.render(doc)) == doc


@given(values)
@quick
def test_any_value_at_the_top(value: Any) -> None:
    assert xcp.decode(xcp.encode(value)) == value


def test_scalars_travel_as_strings() -> None:
    sent = {"yes": True, "no": False, "n": 3, "price": Decimal("17.99"), "none": None}
    assert xcp.decode(xcp.encode(sent)) == {
        "yes": "1",
        "no": "0",
        "n": "3",
        "price": "17.99",
        "none": "",
    }


def test_escaping_is_on_the_wire() -> None:
    body = xcp.encode({"a&b": "<tag attr='x'> & \"q\""})
    assert b'<item key="a&amp;b">&lt;tag attr=&apos;x&apos;&gt; &amp; &quot;q&quot;</item>' in body


def test_characters_xml_cannot_carry_are_refused() -> None:
    with pytest.raises(xcp.XcpFormatError):
        xcp.encode({"a": "bell\x07"})
    with pytest.raises(xcp.XcpFormatError):
        xcp.encode({"a": 1.5})


def test_the_documented_reply_decodes() -> None:
    reply = xcp.decode(DOCUMENTED_REPLY)
    assert reply["attributes"]["id"] == "3735281"
    assert (reply["is_success"], reply["response_code"]) == ("1", "200")


def test_array_items_are_ordered_by_index() -> None:
    items = "".join(f'<item key="{i}">{i}</item>' for i in (10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9))
    body = f"<OPS_envelope><body><data_block><dt_array>{items}</dt_array></data_block></body>"
    assert xcp.decode(body.encode() + b"</OPS_envelope>") == [str(i) for i in range(11)]


@pytest.mark.parametrize("body", [b"not xml", b"<other/>", b"<OPS_envelope><body/></OPS_envelope>"])
def test_what_is_not_an_envelope(body: bytes) -> None:
    with pytest.raises(xcp.XcpFormatError):
        xcp.decode(body)


def test_the_signature_is_the_documented_double_md5() -> None:
    body, key = b"<OPS_envelope/>", "0123456789abcdef"
    first = hashlib.md5(body + key.encode()).hexdigest()
    assert xcp.signature(body, key) == hashlib.md5(first.encode() + key.encode()).hexdigest()
    assert xcp.signature(body, key) == ops.signature(body, key)


def test_a_request_has_the_xcp_items() -> None:
    doc = xcp.decode(
        xcp.request("GET", "DOMAIN", {"type": "all_info"}, domain="a.com", cookie=None)
    )
    assert doc == {
        "protocol": "XCP",
        "action": "GET",
        "object": "DOMAIN",
        "domain": "a.com",
        "attributes": {"type": "all_info"},
    }

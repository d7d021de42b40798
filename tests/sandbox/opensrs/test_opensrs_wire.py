"""The OpenSRS emulator on the wire: signatures, the envelope, reply shape and headers.

The documented example envelopes (shared/reference/opensrs-notes.md §5-6) are posted
byte for byte; a wrong key or an unknown reseller gets the XCP reply with code 401 that
the official toolkit looks for; every reply is HTTP 200 ``text/xml`` with an exact
``Content-Length``.
"""

from __future__ import annotations

import hashlib
import re
import socket

from vibn.providers.opensrs import xcp

from .conftest import Xcp

LOOKUP = b"""<?xml version='1.0' encoding='UTF-8' standalone='no' ?>
<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>
<OPS_envelope>
 <header><version>0.9</version></header>
 <body><data_block><dt_assoc>
  <item key="protocol">XCP</item>
  <item key="action">LOOKUP</item>
  <item key="object">DOMAIN</item>
  <item key="attributes"><dt_assoc>
   <item key="domain">example-stack.com</item>
  </dt_assoc></item>
 </dt_assoc></data_block></body>
</OPS_envelope>
"""
OWNER = b"""<dt_assoc>
     <item key="first_name">Ada</item><item key="last_name">Lovelace</item>
     <item key="org_name">Example &amp; Sons &lt;Inc.&gt;</item>
     <item key="address1">1 Main St</item><item key="address2"/><item key="address3"/>
     <item key="city">Toronto</item><item key="state">ON</item>
     <item key="country">CA</item><item key="postal_code">M5V 3M2</item>
     <item key="phone">+1.4165550123</item><item key="fax"/>
     <item key="email">ada@example.com</item>
    </dt_assoc>"""
SW_REGISTER = (
    b"""<?xml version='1.0' encoding='UTF-8' standalone='no' ?>
<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>
<OPS_envelope>
 <header><version>0.9</version></header>
 <body><data_block><dt_assoc>
  <item key="protocol">XCP</item>
  <item key="action">sw_register</item>
  <item key="object">domain</item>
  <item key="registrant_ip">203.0.113.10</item>
  <item key="attributes"><dt_assoc>
   <item key="domain">example-stack.com</item>
   <item key="reg_type">new</item>
   <item key="period">1</item>
   <item key="handle">process</item>
   <item key="reg_username">stackowner</item>
   <item key="reg_password">s3cretPass99</item>
   <item key="auto_renew">1</item>
   <item key="f_lock_domain">1</item>
   <item key="f_whois_privacy">1</item>
   <item key="custom_tech_contact">0</item>
   <item key="custom_nameservers">1</item>
   <item key="nameserver_list"><dt_array>
    <item key="1"><dt_assoc>
     <item key="name">ns-cloud-a2.googledomains.com</item><item key="sortorder">2</item>
    </dt_assoc></item>
    <item key="0"><dt_assoc>
     <item key="name">ns-cloud-a1.googledomains.com</item><item key="sortorder">1</item>
    </dt_assoc></item>
   </dt_array></item>
   <item key="contact_set"><dt_assoc>
    <item key="owner">"""
    + OWNER
    + b"""</item>
    <item key="admin">"""
    + OWNER
    + b"""</item>
    <item key="billing">"""
    + OWNER
    + b"""</item>
   </dt_assoc></item>
  </dt_assoc></item>
 </dt_assoc></data_block></body>
</OPS_envelope>
"""
)


def test_the_md5_self_test_vector_of_the_docs() -> None:
    assert hashlib.md5(b"ConnecttoOpenSRSviaSSL").hexdigest() == "e787cc1d1951dfec4827cede7b1a0933"


def test_the_documented_lookup_envelope_gets_the_documented_reply(api: Xcp) -> None:
    resp = api.post(LOOKUP)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/xml")
    assert int(resp.headers["content-length"]) == len(resp.content)
    assert resp.content.startswith(b"<?xml version='1.0' encoding='UTF-8' standalone='no' ?>")
    assert b"<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>" in resp.content
    assert b"<version>0.9</version>" in resp.content
    assert xcp.decode(resp.content) == {
        "protocol": "XCP",
        "action": "REPLY",
        "object": "DOMAIN",
        "is_success": "1",
        "response_code": "210",
        "response_text": "Domain available",
        "attributes": {"status": "available", "price_status": "undef"},
    }


def test_the_documented_registration_in_lowercase_with_escapes_registers(api: Xcp) -> None:
    reply = xcp.decode(api.post(SW_REGISTER).content)
    assert (reply["is_success"], reply["response_code"]) == ("1", "200")
    assert reply["response_text"] == "Registration successful"
    assert reply["attributes"]["admin_email"] == "ada@example.com"
    assert reply["attributes"]["id"].isdigit()
    info = api.ok("GET", attributes={"type": "all_info"}, domain="example-stack.com")
    owner = info["attributes"]["contact_set"]["owner"]
    assert owner["org_name"] == "Example & Sons <Inc.>"
    names = [ns["name"] for ns in info["attributes"]["nameserver_list"]]
    assert names == ["ns-cloud-a1.googledomains.com", "ns-cloud-a2.googledomains.com"]


def test_a_wrong_key_gets_the_401_reply(api: Xcp) -> None:
    resp = api.post(LOOKUP, key="not-the-key")
    assert resp.status_code == 200
    assert int(resp.headers["content-length"]) == len(resp.content)
    assert re.search(rb'<item key="response_code">401</item>', resp.content)
    reply = xcp.decode(resp.content)
    assert (reply["action"], reply["is_success"], reply["response_code"]) == ("REPLY", "0", "401")
    assert "attributes" not in reply


def test_an_unknown_reseller_gets_the_401_reply(api: Xcp) -> None:
    reply = xcp.decode(api.post(LOOKUP, user="someone-else").content)
    assert (reply["is_success"], reply["response_code"]) == ("0", "401")


def test_the_signature_covers_every_byte(api: Xcp) -> None:
    signed_for = LOOKUP.replace(b"example-stack.com", b"other-stack.com")
    resp = api.http.post(
        "/",
        content=LOOKUP,
        headers={"X-Username": "vibn-sandbox", "X-Signature": xcp.signature(signed_for, api.key)},
    )
    assert xcp.decode(resp.content)["response_code"] == "401"


def test_no_signature_header_is_refused(api: Xcp) -> None:
    resp = api.http.post("/", content=LOOKUP, headers={"X-Username": "vibn-sandbox"})
    assert xcp.decode(resp.content)["response_code"] == "401"


def test_an_unparsable_body_is_answered_in_xcp(api: Xcp) -> None:
    reply = xcp.decode(api.post(b"<OPS_envelope><body>").content)
    assert (reply["is_success"], reply["response_code"]) == ("0", "400")


def test_an_unknown_command_is_430(api: Xcp) -> None:
    reply = api.call("TELEPORT", "DOMAIN", {"domain": "a.com"})
    assert (reply["is_success"], reply["response_code"]) == ("0", "430")


def test_the_protocol_must_be_xcp(api: Xcp) -> None:
    body = xcp.encode({"protocol": "SOAP", "action": "LOOKUP", "object": "DOMAIN"})
    assert xcp.decode(api.post(body).content)["response_code"] == "430"


def test_only_post_on_the_root_exists(api: Xcp) -> None:
    assert api.http.get("/").status_code == 405
    assert api.http.post("/api").status_code == 404


def test_the_reply_names_the_requested_object(api: Xcp) -> None:
    reply = api.ok("GET_BALANCE", "BALANCE")
    assert reply["object"] == "BALANCE"


def test_an_http_1_0_client_reads_the_reply_by_its_content_length(api: Xcp) -> None:
    """What the PHP toolkit does: a raw ``POST / HTTP/1.0`` and a read of exactly
    ``Content-Length`` bytes after the headers."""
    host, port = str(api.http.base_url.host), int(api.http.base_url.port or 80)
    head = (
        "POST / HTTP/1.0\r\nContent-Type: text/xml\r\nX-Username: vibn-sandbox\r\n"
        f"X-Signature: {xcp.signature(LOOKUP, api.key)}\r\nContent-Length: {len(LOOKUP)}\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(head.encode() + LOOKUP)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    headers, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", headers)
    assert length is not None and int(length.group(1)) == len(body)
    assert xcp.decode(body)["response_code"] == "210"

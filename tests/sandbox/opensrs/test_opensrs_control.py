"""The OpenSRS emulator's sandbox plane: persistence across a restart, settings, faults
(HTTP ones and XCP-shaped ones, matched on the action in the body), call counts, reset."""

from __future__ import annotations

from pathlib import Path

from vibn.providers.opensrs import xcp
from vibn.sandbox.server import start_in_thread

from ..helpers import client as http_client
from .conftest import Control, Xcp, registration


def test_domains_orders_balance_and_prices_survive_a_restart(tmp_path: Path) -> None:
    for attempt in range(2):
        with start_in_thread(tmp_path, names=["opensrs"]) as running:
            ep = running.providers["opensrs"]
            with http_client(ep.url) as http, http_client(ep.control_url) as ctl:
                api = Xcp(http, ep.token)
                if attempt == 0:
                    Control(ctl).settings(balance="500", prices={"com": "20.00", "io": None})
                    order = api.register("keep-me.com")["attributes"]["id"]
                    continue
                assert api.ok("GET_BALANCE")["attributes"]["balance"] == "480.00"
                price = api.ok("GET_PRICE", attributes={"domain": "a.com"})["attributes"]
                assert price["price"] == "20.00"
                unsold = api.call("GET_PRICE", attributes={"domain": "a.io"})
                assert unsold["response_code"] == "400"
                info = api.ok("GET", attributes={"type": "all_info"}, domain="keep-me.com")
                assert info["attributes"]["auto_renew"] == "1"
                nxt = api.register("next-one.com")["attributes"]["id"]
                assert int(nxt) == int(order) + 1
    assert (tmp_path / "opensrs.json").exists()


def test_bad_settings_are_refused_whole(control: Control) -> None:
    for body in (
        {"balance": "lots"},
        {"balance": -1},
        {"prices": {"com": {"gift": "1"}}},
        {"prices": "cheap"},
        {"taken": "google.com"},
        {"colour": "blue"},
    ):
        resp = control.http.post("/opensrs/settings", json={"balance": 1, **body})
        assert resp.status_code == 400, body
    assert control.http.get("/opensrs/settings").json()["balance"] == "10000.00"


def test_an_http_fault_on_one_action(api: Xcp, control: Control) -> None:
    control.fault(status=503, body_match='<item key="action">GET_PRICE</item>')
    body = xcp.request("LOOKUP", "DOMAIN", {"domain": "a.com"})
    assert api.post(body).status_code == 200
    resp = api.post(xcp.request("GET_PRICE", "DOMAIN", {"domain": "a.com"}))
    assert resp.status_code == 503
    assert api.call("GET_PRICE", attributes={"domain": "a.com"})["is_success"] == "1"


def test_an_xcp_shaped_fault(api: Xcp, control: Control) -> None:
    control.fault(status=200, body={"response_code": 705, "response_text": "Timed out"}, times=2)
    for _ in range(2):
        resp = api.post(xcp.request("LOOKUP", "DOMAIN", {"domain": "a.com"}))
        assert resp.headers["content-type"].startswith("text/xml")
        assert int(resp.headers["content-length"]) == len(resp.content)
        reply = xcp.decode(resp.content)
        assert (reply["is_success"], reply["response_code"], reply["response_text"]) == (
            "0",
            "705",
            "Timed out",
        )
    assert api.ok("LOOKUP", attributes={"domain": "a.com"})["response_code"] == "210"


def test_a_fault_after_the_work_hides_a_registration(api: Xcp, control: Control) -> None:
    control.fault(status=502, body_match="SW_REGISTER", after=True)
    lost = api.post(xcp.request("SW_REGISTER", "DOMAIN", registration("lost-reply.com")))
    assert lost.status_code == 502
    assert api.ok("LOOKUP", attributes={"domain": "lost-reply.com"})["response_code"] == "211"


def test_calls_are_counted_by_action(api: Xcp, control: Control) -> None:
    api.ok("LOOKUP", attributes={"domain": "a.com"})
    api.ok("lookup", "domain", {"domain": "b.com"})
    api.ok("GET_BALANCE", "BALANCE")
    counted = control.http.get("/opensrs/calls").json()
    assert counted == {"total": 3, "by_action": {"GET_BALANCE BALANCE": 1, "LOOKUP DOMAIN": 2}}
    assert control.http.get("/requests").json()["by_route"] == {"POST /": 3}
    control.http.delete("/opensrs/calls").raise_for_status()
    assert control.http.get("/opensrs/calls").json()["total"] == 0


def test_reset_forgets_the_domains(api: Xcp, control: Control) -> None:
    api.register("gone-soon.com")
    control.http.post("/reset").raise_for_status()
    assert api.ok("LOOKUP", attributes={"domain": "gone-soon.com"})["response_code"] == "210"


def test_the_clock_moves_dates(api: Xcp, control: Control) -> None:
    control.http.post("/opensrs/clock", json={"advance": 366 * 86400}).raise_for_status()
    api.register("future.com")
    info = api.ok("GET", attributes={"type": "all_info"}, domain="future.com")["attributes"]
    assert info["registry_createdate"].startswith("2027-09-22")


def test_health(control: Control) -> None:
    assert control.http.get("/health").json()["emulator"] == "opensrs"

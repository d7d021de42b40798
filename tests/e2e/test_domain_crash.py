"""Kill ``vibn apply`` after the registrar registered the domain and before vibn heard
back: the next apply neither registers it again nor pays again.

The OpenSRS emulator is told to register and then hold its reply (a connection lost
after the registrar committed, as happens on real networks); the process is killed
while it waits. The ledger was debited before the call, under the purchase's key, so
the resumed apply finds that key, adopts the domain the workspace's registrar profile
holds, and the books show exactly one purchase.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from vibn.providers.opensrs.client import OpenSrsClient
from vibn.sandbox.opensrs import RESELLER

from .conftest import Cli

pytestmark = pytest.mark.slow

DOMAIN = "mysaas-demo.com"


def registrations(control: httpx.Client) -> int:
    calls = control.get("/opensrs/calls").json()["by_action"]
    return int(calls.get("SW_REGISTER DOMAIN", 0))


def test_killed_between_registration_and_record_never_buys_twice(cli: Cli) -> None:
    osrs = cli.sandbox.providers["opensrs"]
    with httpx.Client(base_url=osrs.control_url) as control:
        run_killed_then_resumed(cli, control)


def run_killed_then_resumed(cli: Cli, control: httpx.Client) -> None:
    osrs = cli.sandbox.providers["opensrs"]
    with OpenSrsClient(osrs.url, RESELLER, osrs.token) as registrar:
        reseller_before = registrar.balance()
    control.post(
        "/faults",
        json={"body_match": "SW_REGISTER", "after": True, "delay": 60, "times": 1},
    ).raise_for_status()
    control.delete("/opensrs/calls").raise_for_status()

    proc = subprocess.Popen(
        [sys.executable, "-m", "vibn.cli", "apply", "examples/saas.yaml", "--auto-approve"],
        cwd=cli.cwd,
        env={**os.environ, **cli.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if registrations(control):
            break
        time.sleep(0.02)
    time.sleep(0.2)  # the registration is committed; the reply is being held
    assert proc.poll() is None, "apply ended before the registration"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    with OpenSrsClient(osrs.url, RESELLER, osrs.token) as registrar:
        assert registrar.info(DOMAIN) is not None, "the registrar did not register"
        price = reseller_before - registrar.balance()
    ledger = cli("float", "show", "--json").json()
    assert [e["amount"] for e in ledger["entries"] if e["amount"].startswith("-")] != []

    control.delete("/faults").raise_for_status()
    r = cli("apply", "examples/saas.yaml", "--auto-approve")
    assert r.code == 0, r.stderr

    with OpenSrsClient(osrs.url, RESELLER, osrs.token) as registrar:
        assert reseller_before - registrar.balance() == price, "the registrar charged twice"
    assert registrations(control) == 2  # the killed one, and the resumed one refused (485)
    ledger = cli("float", "show", "--json").json()
    debits = [e for e in ledger["entries"] if e["amount"].startswith("-")]
    assert len(debits) == 1, f"the workspace paid twice: {debits}"
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0

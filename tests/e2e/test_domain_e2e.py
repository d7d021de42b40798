"""A domain, mail and backups end to end through the CLI: the example stack buys its
domain at the OpenSRS emulator, gets a Cloud DNS zone the registrar delegates to, an SES
identity that verifies through that zone, SMTP settings in every app, and nightly
backups to the workspace bucket; drift in the zone is noticed and mended; a destroy
keeps the domain."""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal
from typing import Any

import boto3
import httpx

from vibn.providers.opensrs.client import OpenSrsClient
from vibn.sandbox.opensrs import RESELLER
from vibn.sandbox.ses import ACCESS_KEY_ID

from .conftest import Cli
from .test_cli_flow import edit
from .test_gcp_e2e import coolify_envs

DOMAIN = "mysaas-demo.com"
ZONE = "vibn-ws-default-mysaas-demo-com"
RRSETS = f"/dns/v1/projects/vibn-test/managedZones/{ZONE}/rrsets"


def registrar(cli: Cli) -> OpenSrsClient:
    ep = cli.sandbox.providers["opensrs"]
    return OpenSrsClient(ep.url, RESELLER, ep.token)


def dns(cli: Cli) -> httpx.Client:
    return httpx.Client(base_url=cli.sandbox.providers["dns"].url)


def rrsets(cli: Cli) -> dict[tuple[str, str], dict[str, Any]]:
    with dns(cli) as d:
        listed = d.get(RRSETS).json()["rrsets"]
    return {(r["name"], r["type"]): r for r in listed}


def ses(cli: Cli) -> Any:
    ep = cli.sandbox.providers["ses"]
    return boto3.client(
        "sesv2",
        region_name="ca-central-1",
        endpoint_url=ep.url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=ep.token,
    )


def debits(cli: Cli) -> list[str]:
    ledger = cli("float", "show", "--json").json()
    return [e["amount"] for e in ledger["entries"] if e["amount"].startswith("-")]


def test_domain_email_and_backups_apply_verify_and_replan_to_noop(cli: Cli) -> None:
    plan = cli("plan", "examples/saas.yaml", "--json").json()
    assert plan["charges"][0]["what"] == f"register {DOMAIN} for 1 year"
    assert Decimal(plan["charges"][0]["amount"]) > 0 and plan["float_balance"] == "100.00"
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0

    with registrar(cli) as osrs:
        info = osrs.info(DOMAIN)
    assert info is not None
    zone = httpx.get(
        f"{cli.sandbox.providers['dns'].url}/dns/v1/projects/vibn-test/managedZones/{ZONE}"
    ).json()
    assert sorted(n.rstrip(".") for n in zone["nameServers"]) == sorted(info.nameservers)
    records = rrsets(cli)
    assert records[(f"{DOMAIN}.", "A")]["rrdatas"] == ["203.0.113.10"]
    assert records[(f"www.{DOMAIN}.", "CNAME")]["rrdatas"] == [f"{DOMAIN}."]
    dkim = [k for k in records if k[0].endswith(f"._domainkey.{DOMAIN}.")]
    assert len(dkim) == 3
    assert records[(f"_dmarc.{DOMAIN}.", "TXT")]["rrdatas"] == ['"v=DMARC1; p=quarantine"']
    assert records[(f"mail.{DOMAIN}.", "MX")]["rrdatas"] == [
        "10 feedback-smtp.ca-central-1.amazonses.com."
    ]

    with closing(ses(cli)) as client:
        identity = client.get_email_identity(EmailIdentity=DOMAIN)
    assert identity["VerifiedForSendingStatus"] is True
    assert identity["MailFromAttributes"]["MailFromDomainStatus"] == "SUCCESS"

    env = coolify_envs(cli, "mysaas-web-1")
    assert env["SMTP_HOST"] == "email-smtp.ca-central-1.amazonaws.com"
    assert env["SMTP_PORT"] == "587" and env["SMTP_USERNAME"] == ACCESS_KEY_ID
    assert env["EMAIL_FROM"] == f"noreply@{DOMAIN}"
    assert env["EMAIL_FROM_FOUNDER"] == f"founder@{DOMAIN}"
    with cli.coolify as c:
        web = next(a for a in c.get("/applications").json() if a["name"] == "mysaas-web-1")
        assert web["fqdn"] == f"https://{DOMAIN},https://www.{DOMAIN}"
        assert web["redirect"] == "non-www"  # www answers with a redirect to the apex
        storages = c.get("/s3-storages").json()
        assert [s["bucket"] for s in storages] == ["vibn-ws-default"]
        db = next(d for d in c.get("/databases").json() if d["name"] == "mysaas-database")
        schedule = c.get(f"/databases/{db['uuid']}/backups").json()[0]
        assert schedule["save_s3"] is True and schedule["frequency"] == "0 3 * * *"

    status = cli("status", "mysaas", "--json").json()
    conditions = {
        r["address"]: {c["type"]: c["status"] for c in r["conditions"]} for r in status["resources"]
    }
    assert conditions["domain.status"] == {"DomainReady": "True"}
    assert conditions["email.identity"] == {"EmailReady": "True"}
    plan_secret_free = cli("plan", "examples/saas.yaml").stdout
    assert env["SMTP_PASSWORD"] not in plan_secret_free + cli("status", "mysaas").stdout
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0
    assert len(debits(cli)) == 1


def test_a_deleted_dkim_record_is_drift_and_is_restored(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    records = rrsets(cli)
    victim = next(r for k, r in records.items() if k[0].endswith(f"._domainkey.{DOMAIN}."))
    with dns(cli) as d:
        change = {"additions": [], "deletions": [victim]}
        d.post(f"/dns/v1/projects/vibn-test/managedZones/{ZONE}/changes", json=change)
    assert (victim["name"], "CNAME") not in rrsets(cli)
    plan = cli("plan", "examples/saas.yaml", "--json").json()
    changed = {a["address"]: a for a in plan["actions"] if a["action"] != "noop"}
    assert list(changed) == ["email.dns"]
    assert "changed outside vibn" in changed["email.dns"]["reason"]
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    assert rrsets(cli)[(victim["name"], "CNAME")]["rrdatas"] == victim["rrdatas"]
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0


def test_edits_update_records_and_destroy_keeps_the_domain(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    edit(cli, "policy: quarantine", "policy: reject")
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    assert rrsets(cli)[(f"_dmarc.{DOMAIN}.", "TXT")]["rrdatas"] == ['"v=DMARC1; p=reject"']

    r = cli("destroy", "mysaas", "--confirm", "mysaas")
    assert r.code == 0, r.stderr
    assert "= domain.registration" in r.stderr and "never cancels" in r.stderr
    with registrar(cli) as osrs:
        assert osrs.info(DOMAIN) is not None, "a destroy cancelled the registration"
    with dns(cli) as d:
        zones = d.get("/dns/v1/projects/vibn-test/managedZones").json().get("managedZones", [])
    assert zones == []
    with closing(ses(cli)) as client:
        identities = client.list_email_identities()["EmailIdentities"]
    assert identities == []
    assert len(debits(cli)) == 1

    # the workspace still owns the domain: another stack of it takes it over, buying nothing
    minimal = (cli.cwd / "examples/minimal.yaml").read_text()
    again = cli.write(
        "again.yaml",
        minimal.replace("spec:\n", f"spec:\n  domain: {{name: {DOMAIN}, register: true}}\n"),
    )
    plan = cli("plan", str(again), "--json").json()
    assert plan["charges"][0]["already_paid"] is True
    r = cli("apply", str(again), "--auto-approve")
    assert r.code == 0, r.stderr
    assert len(debits(cli)) == 1

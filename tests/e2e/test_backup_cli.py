"""``vibn backup now|list|restore`` end to end: a stack with a postgres database applied
to the sandbox, a backup taken and listed, a restore refused without ``--confirm`` and
done with it."""

from __future__ import annotations

from .conftest import Cli
from .test_cli_flow import wait_until

STACK = """apiVersion: vibn.dev/v1
kind: Stack
metadata: {name: shop}
spec:
  databases:
    - {name: db, engine: postgresql, version: "16"}
    - {name: cache, engine: redis, version: "7"}
"""


def applied(cli: Cli) -> str:
    """Apply the stack; returns the Coolify uuid of its postgres database."""
    cli.write("shop.yaml", STACK)
    r = cli("apply", "shop.yaml", "--auto-approve")
    assert r.code == 0, r.stderr
    with cli.coolify as c:
        (db,) = [d for d in c.get("/databases").json() if d["name"] == "shop-db"]
        assert wait_until(
            lambda: c.get(f"/databases/{db['uuid']}").json()["status"].startswith("running")
        )
    return str(db["uuid"])


def restore_jobs(cli: Cli) -> list[str]:
    with cli.coolify as c:
        apps = c.get("/applications").json()
    return [a["name"] for a in apps if a["name"].startswith("vibn-restore-")]


def test_backup_now_list_and_restore(cli: Cli) -> None:
    db = applied(cli)

    r = cli("backup", "now", "shop", "db", "--wait", "--json")
    assert r.code == 0, r.stderr
    run = r.json()
    assert (run["status"], run["s3_uploaded"]) == ("success", True)
    assert f"-{db}/pg-dump-" in run["filename"]

    r = cli("backup", "list", "shop", "db", "--json")
    assert r.code == 0 and [e["uuid"] for e in r.json()] == [run["uuid"]]
    r = cli("backup", "list", "shop", "db")
    assert r.code == 0 and run["uuid"] in r.stdout and "success" in r.stdout

    r = cli("backup", "restore", "shop", "db", run["uuid"])
    assert r.code == 1 and "--confirm shop" in r.stderr
    r = cli("backup", "restore", "shop", "db", run["uuid"], "--confirm", "shop-typo")
    assert r.code == 1 and "--confirm shop" in r.stderr
    assert restore_jobs(cli) == []  # refused before any call

    r = cli("backup", "restore", "shop", "db", run["uuid"], "--confirm", "shop", "--json")
    assert r.code == 0, r.stderr
    done = r.json()
    assert done["status"] == "restored" and done["backup"]["uuid"] == run["uuid"]
    assert wait_until(lambda: restore_jobs(cli) == [])
    # a restore changes the data, never the stack: its S3 destination and database plan
    # as unchanged (the HMAC secret Coolify never shows is taken from the record)
    plan = cli("plan", "shop.yaml", "--show-unchanged").stdout
    assert "backups.s3" in plan and "~ backups.s3" not in plan and "~ database.db " not in plan


def test_mistakes_are_one_line_errors(cli: Cli) -> None:
    applied(cli)
    cases = [
        (("list", "nope", "db"), "no stack default/nope"),
        (("now", "shop", "orders"), "has no database 'orders' (its databases: cache, db)"),
        (("now", "shop", "cache"), "database cache of stack shop has no backup schedule"),
        (("restore", "shop", "db", "nope", "--confirm", "shop"), "no backup nope"),
        (("list", "shop", "db", "--workspace", "other"), "no stack other/shop"),
    ]
    for args, message in cases:
        r = cli("backup", *args)
        assert r.code == 1, (args, r.stdout)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "HTTP" not in errors[0], r.stderr

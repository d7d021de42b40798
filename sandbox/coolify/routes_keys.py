"""Private keys (``/security/keys``), needed to create deploy-key applications.

Only enough of the key store to let ``POST /applications/private-deploy-key``
be exercised: create, list, read, delete. The emulator does not parse the key;
it derives a stable stand-in fingerprint from its text.
"""

from __future__ import annotations

import hashlib

from starlette.responses import Response

from vibn.sandbox.coolify.store import TEAM_ID, Record
from vibn.sandbox.coolify.validation import Str, validate
from vibn.sandbox.coolify.views import ordered, public
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router

RULES = {
    "name": Str(max=255),
    "description": Str(nullable=True),
    "private_key": Str(required=True),
}


def _view(rec: Record) -> dict[str, object]:
    return ordered(public(rec))


def _find(call: Call) -> Record:
    key = call.store.find("private_keys", call.param("uuid"))
    if key is None:
        fail(404, "Private Key not found.")
    return key


def list_keys(call: Call) -> Response:
    return reply([_view(k) for k in call.store.rows("private_keys")])


def create_key(call: Call) -> Response:
    body = call.strict_json()
    errors = validate(body, RULES, RULES)
    if errors:
        invalid(errors)
    digest = hashlib.sha256(str(body["private_key"]).encode()).hexdigest()
    key = call.store.insert(
        "private_keys",
        {
            "name": body.get("name") or "sandbox-key",
            "description": body.get("description"),
            "private_key": body["private_key"],
            "public_key": f"ssh-ed25519 {digest[:68]} sandbox",
            "fingerprint": "SHA256:" + digest[:43],
            "is_git_related": False,
            "team_id": TEAM_ID,
        },
    )
    return reply({"uuid": key["uuid"]}, 201)


def get_key(call: Call) -> Response:
    return reply(_view(_find(call)))


def delete_key(call: Call) -> Response:
    key = _find(call)
    if call.store.where("applications", private_key_id=key["id"]):
        fail(422, "Private Key is in use and cannot be deleted.")
    call.store.remove("private_keys", key["uuid"])
    return reply({"message": "Private Key deleted."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/security/keys", list_keys),
    ("POST", "/security/keys", create_key),
    ("GET", "/security/keys/{uuid}", get_key),
    ("DELETE", "/security/keys/{uuid}", delete_key),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)

"""A DNS-over-HTTPS resolver answering from the sandbox's public DNS.

It speaks the JSON API of Google Public DNS (``GET /resolve?name=&type=``, answer
``{"Status", "Question", "Answer": [{"name", "type", "TTL", "data"}]}``), which is
what vibn's domain-status probe asks in production to see a domain as the internet
does: delegated or not, its A record, before its certificate can be issued. Here the
answers come from ``PublicDns`` (the Cloud DNS emulator's zones, the OpenSRS
emulator's delegations).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.publicdns import PublicDns, fqdn

NAME = "resolver"
#: RR type numbers of the types the probe asks for (RFC 1035, 3596)
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
NOERROR, FORMERR, NXDOMAIN = 0, 1, 3
TTL = 300


class ResolverApi:
    def __init__(self, dns: PublicDns) -> None:
        self.dns = dns

    def template_for(self, method: str, path: str) -> str | None:
        return "/resolve" if path == "/resolve" else None

    async def __call__(self, request: Request) -> Response:
        if request.url.path != "/resolve" or request.method.upper() != "GET":
            return JSONResponse({"error": "not found"}, 404)
        name = request.query_params.get("name", "")
        rtype = request.query_params.get("type", "A").upper()
        if rtype.isdigit():
            rtype = next((k for k, v in TYPES.items() if str(v) == rtype), rtype)
        if not name or rtype not in TYPES:
            return JSONResponse({"Status": FORMERR, "Comment": "Invalid name or type"}, 400)
        question = [{"name": fqdn(name), "type": TYPES[rtype]}]
        datas = self.dns.resolve(name, rtype)
        answer = [
            {"name": fqdn(name), "type": TYPES[rtype], "TTL": TTL, "data": data} for data in datas
        ]
        body = {
            "Status": NOERROR if answer else NXDOMAIN,
            "TC": False,
            "RD": True,
            "RA": True,
            "AD": False,
            "CD": False,
            "Question": question,
        }
        if answer:
            body["Answer"] = answer
        return JSONResponse(
            body, headers={"Content-Type": "application/x-javascript; charset=UTF-8"}
        )


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The resolver; its URL + ``/resolve`` stands in for ``https://dns.google/resolve``."""
    api = ResolverApi(config.public_dns)
    app = SandboxApp(NAME, api, api.template_for, lambda: None)
    return Emulator(NAME, app, "")

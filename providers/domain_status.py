"""The ``dns.domain_status`` probe: is the domain live for the app, as the internet sees it?

A domain goes live in steps nobody controls directly: the registrar publishes the zone's
name servers (minutes to hours), resolvers pick up the app's A record, and only then can
Coolify's proxy obtain the TLS certificate. Apply must not wait for any of it, so this
probe creates nothing: it asks a DNS-over-HTTPS resolver (Google Public DNS's JSON API,
the sandbox's resolver in tests) and reports a ``DomainReady`` condition with the step
still pending. The reconciler's condition refresh (``vibn status``, the daemon) advances
it; ``attach_status`` is the same answer as an output agents can poll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.errors import TransientError
from vibn.providers.reads import read_each
from vibn.specs.values import Condition

PROVIDER = "dns"
KIND = "dns.domain_status"
PUBLIC_RESOLVER = "https://dns.google/resolve"


def _bare(name: str) -> str:
    return name.rstrip(".").lower()


class Resolver:
    """A DNS-over-HTTPS JSON client (``GET {url}?name=&type=``)."""

    def __init__(self, url: str = PUBLIC_RESOLVER, http: httpx.Client | None = None) -> None:
        self.url = url
        self._http = http or httpx.Client(timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def lookup(self, name: str, rtype: str) -> list[str]:
        """The answer's data for ``name``/``rtype`` ([] for none)."""
        try:
            resp = self._http.get(self.url, params={"name": name, "type": rtype})
        except httpx.HTTPError as exc:
            raise TransientError(PROVIDER, f"resolver {self.url}: {exc}") from exc
        if resp.status_code >= 500:
            raise TransientError(PROVIDER, f"resolver {self.url} answered {resp.status_code}")
        if resp.status_code != 200:
            return []
        body = resp.json()
        return [str(a.get("data", "")) for a in body.get("Answer") or [] if "data" in a]


def _condition(status: bool, reason: str, message: str) -> Condition:
    return Condition("DomainReady", "True" if status else "False", reason, message)


class DomainStatusDriver:
    """props ``{"domain", "attach_to"}`` (the app address or None); outputs
    ``{"url", "attach_status"}``; conditions ``DomainReady``."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ("gcp.dns_zone", "coolify.application")

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        zones = ctx.observed("gcp.dns_zone")

        def read(rec: Recorded) -> Observed:
            owner = Owner(scope.workspace, rec.stack, rec.address)
            condition = self._check(rec.props, rec.stack, zones, ctx)
            return self._observed(rec.address, owner, rec.props, condition)

        return read_each(read, [r for r in ctx.recorded(KIND) if r.stack in scope.stacks])

    def create(self, desired: Desired) -> Observed:
        pending = _condition(
            False,
            "Pending",
            f"{desired.props['domain']} was just set up; delegation, DNS and the "
            "certificate are checked by the next status refresh",
        )
        return self._observed(desired.address, desired.owner, desired.props, pending)

    def update(self, desired: Desired, current: Observed) -> Observed:
        return self.create(desired)

    def delete(self, current: Observed) -> None:
        """Nothing exists at a provider: the probe just stops."""

    def _observed(
        self, address: str, owner: Owner, props: Mapping[str, Any], condition: Condition
    ) -> Observed:
        domain = str(props["domain"])
        return Observed(
            address=address,
            kind=KIND,
            provider_id=domain,
            owner=owner,
            props={"domain": domain, "attach_to": props.get("attach_to")},
            outputs={"url": f"https://{domain}", "attach_status": condition.reason},
            conditions=(condition,),
        )

    def _check(
        self,
        props: Mapping[str, Any],
        stack: str,
        zones: Sequence[Observed],
        ctx: ObserveContext,
    ) -> Condition:
        domain = _bare(str(props["domain"]))
        zone = next(
            (z for z in zones if z.owner.stack == stack and _bare(z.props["dns_name"]) == domain),
            None,
        )
        if zone is None:
            return _condition(False, "PendingZone", f"no DNS zone for {domain} yet")
        wanted = sorted(_bare(ns) for ns in zone.outputs.get("name_servers") or [])
        delegated = sorted(_bare(ns) for ns in self._resolver.lookup(domain, "NS"))
        if delegated != wanted:
            return _condition(
                False,
                "PendingDelegation",
                f"the registrar lists {', '.join(delegated) or 'no name servers'} for "
                f"{domain}; it must list the zone's: {', '.join(wanted)}",
            )
        attach = props.get("attach_to")
        if attach:
            app = next(
                (
                    a
                    for a in ctx.observed("coolify.application")
                    if a.address == attach and a.owner.stack == stack
                ),
                None,
            )
            if app is None or f"https://{domain}" not in str(app.outputs.get("fqdn") or ""):
                return _condition(
                    False, "PendingAttach", f"{attach} does not serve https://{domain} yet"
                )
            ip = str(app.outputs.get("server_ip") or "")
            answers = self._resolver.lookup(domain, "A")
            if ip not in answers:
                return _condition(
                    False,
                    "PendingDns",
                    f"{domain} resolves to {', '.join(answers) or 'nothing'}, not the app's "
                    f"server {ip}",
                )
        return _condition(
            True,
            "Ready",
            f"{domain} is delegated to its zone and resolves to the app's server; Coolify's "
            "proxy obtains its certificate on the first HTTPS request",
        )

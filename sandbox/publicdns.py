"""The sandbox's stand-in for the public DNS: what resolvers on the internet would see.

Real SES verifies a domain by resolving its DKIM CNAMEs through public DNS, and public
DNS only answers from a Cloud DNS zone once the registrar delegates the domain to that
zone's name servers. In the sandbox the zones live in the Cloud DNS emulator and the
delegations in the OpenSRS emulator, so both *publish* here and SES (or a test) asks
here: ``resolve(name, type)`` answers as the internet would, including "not delegated
yet". Emulators stay independent: each only knows this seam, not the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

#: ``(fqdn, rtype) -> (zone apex, zone name servers, rrdatas)`` for the most specific
#: zone holding ``fqdn``, or None when no zone covers it
ZoneLookup = Callable[[str, str], "ZoneAnswer | None"]
#: ``registered domain -> its name servers at the registrar``, None when the registrar
#: does not hold the domain (registered elsewhere: assumed delegated by its owner)
Delegation = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class ZoneAnswer:
    """What the authoritative zone says about one name and type."""

    apex: str
    name_servers: tuple[str, ...]
    rrdatas: tuple[str, ...]


def fqdn(name: str) -> str:
    """``Example.COM`` and ``example.com.`` both become ``example.com.``."""
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


class PublicDns:
    """Resolution across the sandbox's zones and registrar delegations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zones: list[ZoneLookup] = []
        self._delegations: list[Delegation] = []

    def publish_zones(self, lookup: ZoneLookup) -> None:
        """A DNS host (the Cloud DNS emulator) makes its zones resolvable."""
        with self._lock:
            self._zones.append(lookup)

    def publish_delegations(self, delegation: Delegation) -> None:
        """A registrar (the OpenSRS emulator) makes its name-server sets known."""
        with self._lock:
            self._delegations.append(delegation)

    def resolve(self, name: str, rtype: str) -> list[str]:
        """The rrdatas the internet would see for ``name``/``rtype`` ([] when none).

        A zone answers only when the domain is delegated to it: its registrar's name
        servers equal the zone's (compared without trailing dots, ignoring order and
        case). A domain the registrar does not know is taken as delegated.
        """
        with self._lock:
            zones, delegations = list(self._zones), list(self._delegations)
        wanted = fqdn(name)
        if rtype.upper() == "NS":
            for delegation in delegations:
                servers = delegation(wanted.rstrip("."))
                if servers is not None:
                    return [fqdn(ns) for ns in servers]
        for lookup in zones:
            answer = lookup(wanted, rtype.upper())
            if answer is None:
                continue
            if not self._delegated(answer, delegations):
                return []
            return list(answer.rrdatas)
        return []

    @staticmethod
    def _delegated(answer: ZoneAnswer, delegations: list[Delegation]) -> bool:
        apex = answer.apex.rstrip(".").lower()
        zone_ns = {ns.rstrip(".").lower() for ns in answer.name_servers}
        for delegation in delegations:
            servers = delegation(apex)
            if servers is not None:
                return {ns.rstrip(".").lower() for ns in servers} == zone_ns
        return True

"""The ``opensrs.domain`` driver: a domain registration at OpenSRS, pointed at the zone.

props ``{"name", "period" (years, 1-10), "auto_renew", "nameservers" (lowercase, no
trailing dot, sorted)}``; outputs ``{"name", "expires" (YYYY-MM-DD), "order_id",
"nameservers"}``. A registration costs money (``quote``) and is never given back:
``delete`` refuses, the engine keeps the domain (``retained``).

OpenSRS has no labels, so ownership comes from the records: observe reads, with one GET
``all_info`` each, the domains this scope's stacks recorded; one the reseller no longer
holds is absent. Every workspace has its own end-user profile (``reg_username`` derived
from the workspace, ``reg_password`` an HMAC of it), so the registrar's own control panel
groups a workspace's domains. A create that meets "taken" (485) adopts the domain only
when the apply says the workspace already paid for it (``adopt``, a resumed apply after
a crash between the registration and the bookkeeping) and the workspace's profile holds
it; anything else is a ConflictError naming the domain.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, TransientError
from vibn.providers.opensrs.client import Contact, DomainInfo, OpenSrsClient
from vibn.providers.opensrs.transport import PROVIDER, response_code
from vibn.providers.reads import read_each

__all__ = ["OpenSrsDomainDriver", "profile_password", "profile_username"]

#: OpenSRS profile usernames: 3-20 letters and digits
USERNAME_MAX = 20
_BASE62 = string.digits + string.ascii_letters


def profile_username(workspace: str) -> str:
    """``vibn`` + the workspace, as OpenSRS allows it (3-20 letters and digits).

    A workspace that loses characters to those rules (``my-shop``) or is too long gets a
    short digest of its full name, so two workspaces never share a profile."""
    clean = re.sub(r"[^a-z0-9]", "", workspace.lower())
    name = "vibn" + clean
    if clean == workspace and len(name) <= USERNAME_MAX:
        return name
    digest = hashlib.sha256(workspace.encode("utf-8")).hexdigest()[:6]
    return name[: USERNAME_MAX - len(digest)] + digest


def profile_password(workspace: str, secret: str) -> str:
    """A deterministic 20-character password (letters and digits, both present)."""
    mac = hmac.new(secret.encode("utf-8"), workspace.encode("utf-8"), hashlib.sha256).digest()
    number, chars = int.from_bytes(mac, "big"), []
    for _ in range(18):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "v" + "".join(chars) + str(number % 10)


def _hosts(names: Sequence[Any]) -> list[str]:
    return sorted(str(n).strip().lower().rstrip(".") for n in names)


def _years(info: DomainInfo) -> int:
    """Whole years between the registry's create and expiry dates."""
    return max(0, round((info.expires - info.created).days / 365.2425))


class OpenSrsDomainDriver:
    """Registrations of one OpenSRS reseller account."""

    kind: ClassVar[str] = "opensrs.domain"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = True
    observe_after: ClassVar[tuple[str, ...]] = ()
    #: the engine keeps a registration out of destroys and rollbacks (it was paid for)
    retained: ClassVar[bool] = True

    def __init__(self, client: OpenSrsClient, contact: Contact, profile_secret: str) -> None:
        self._client = client
        self._contact = contact
        self._secret = profile_secret

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """One ``GET`` per recorded registration (OpenSRS objects carry no labels, so the
        records say which to read), several at once."""
        recorded = [rec for rec in ctx.recorded(self.kind) if rec.stack in scope.stacks]

        def read(rec: Recorded) -> Observed | None:
            name = str(rec.props.get("name") or rec.provider_id or "")
            info = self._client.info(name) if name else None
            if info is None:
                return None
            owner = Owner(scope.workspace, rec.stack, rec.address)
            order = rec.outputs.get("order_id")
            return self._observed(rec.address, owner, info, order, asked=rec.props.get("period"))

        return [obs for obs in read_each(read, recorded) if obs is not None]

    def quote(self, desired: Desired, current: Observed | None) -> Decimal:
        """The registrar's CAD price: a new registration for the period, or the renewal of
        the years the desired period adds."""
        name, period = str(desired.props["name"]), int(desired.props["period"])
        if current is None:
            if not self._client.lookup(name).available:
                raise ConflictError(
                    PROVIDER,
                    f"{name} is already registered by someone else; choose another name "
                    "(vibn domains search NAME lists free ones)",
                    resource=desired.address,
                )
            return self._client.price(name, period, "new")
        years = period - int(current.outputs.get("years") or current.props.get("period") or 0)
        return self._client.price(name, years, "renewal") if years > 0 else Decimal("0")

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        workspace = desired.owner.workspace
        user, password = profile_username(workspace), profile_password(workspace, self._secret)
        try:
            order_id: str | None = self._client.register(
                name,
                int(desired.props["period"]),
                _hosts(desired.props["nameservers"]),
                bool(desired.props["auto_renew"]),
                user,
                password,
                self._contact,
            )
        except ConflictError as refused:
            if response_code(refused) != 485:
                raise
            if not desired.props.get("adopt"):
                raise self._taken(desired.address, name) from refused
            info = self._client.info(name)
            if info is None or not self._client.profile_holds(name, user, password):
                raise self._taken(desired.address, name) from refused
            return self._converge(desired, info, None)
        info = self._client.info(name)
        if info is None:
            # an asynchronous registry: bought, not yet held; the next apply adopts it
            raise TransientError(
                PROVIDER,
                f"{name} was ordered (order {order_id}) but the registrar does not hold it yet",
                resource=desired.address,
            )
        return self._observed(desired.address, desired.owner, info, order_id)

    def update(self, desired: Desired, current: Observed) -> Observed:
        """Renew up to the asked period (a shorter one asks for nothing: a registration
        is never shortened), then converge name servers and the expire action."""
        name = str(desired.props["name"])
        want = int(desired.props["period"])
        info = self._client.info(name)
        have = _years(info) if info is not None else want
        if info is not None and want > have:
            auto_renew = bool(desired.props["auto_renew"])
            self._client.renew(name, info.expires.year, want - have, auto_renew)
            info = self._client.info(name)
        if info is None:
            raise NotFoundError(
                PROVIDER, f"{name} is no longer in the reseller account", resource=desired.address
            )
        return self._converge(desired, info, current.outputs.get("order_id"))

    def delete(self, current: Observed) -> None:
        raise InvalidError(
            PROVIDER,
            f"{current.provider_id} stays registered: vibn never cancels a domain registration "
            "(it was paid for and someone else could take the name); remove it from the "
            "stack to stop managing it, or let it expire with auto_renew: false",
            resource=current.address,
        )

    def _converge(self, desired: Desired, info: DomainInfo, order_id: Any) -> Observed:
        """Set the name servers and the expire action the stack asks for; as now held."""
        name = str(desired.props["name"])
        nameservers = _hosts(desired.props["nameservers"])
        changed = False
        if _hosts(info.nameservers) != nameservers:
            self._client.set_nameservers(name, nameservers)
            changed = True
        if info.auto_renew != bool(desired.props["auto_renew"]):
            self._client.set_auto_renew(name, bool(desired.props["auto_renew"]))
            changed = True
        latest = self._client.info(name) if changed else info
        asked = desired.props.get("period")
        return self._observed(desired.address, desired.owner, latest or info, order_id, asked=asked)

    def _taken(self, address: str, name: str) -> ConflictError:
        return ConflictError(PROVIDER, f"{name} is already registered", resource=address)

    def _observed(
        self, address: str, owner: Owner, info: DomainInfo, order_id: Any, *, asked: Any = None
    ) -> Observed:
        """``period`` reads "held for at least the asked years": an auto-renewal that adds
        a year is not drift, and only a period the registration falls short of shows as a
        change (a renewal). ``years`` is the registration's real length."""
        nameservers = _hosts(info.nameservers)
        years = _years(info)
        period = min(years, int(asked)) if asked is not None else years
        outputs: Mapping[str, Any] = {
            "name": info.domain,
            "years": years,
            "expires": info.expires.strftime("%Y-%m-%d"),
            "order_id": None if order_id is None else str(order_id),
            "nameservers": nameservers,
        }
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=info.domain,
            owner=owner,
            props={
                "name": info.domain,
                "period": period,
                "auto_renew": info.auto_renew,
                "nameservers": nameservers,
            },
            outputs=outputs,
        )

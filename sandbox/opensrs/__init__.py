"""A wire-faithful emulator of the OpenSRS (Tucows) XCP domain API vibn drives.

One reseller account: LOOKUP, NAME_SUGGEST, GET_PRICE, GET_BALANCE, SW_REGISTER (into
end-user profiles, paid from the reseller balance), RENEW, GET, ADVANCED_UPDATE_NAMESERVERS,
MODIFY (expire action, lock), SET COOKIE and GET_DOMAINS_BY_EXPIREDATE, as OPS XML
envelopes POSTed to ``/`` and signed with the reseller key
(shared/reference/opensrs-notes.md). OpenSRS's own test environment needs an
allow-listed IP and a paid reseller account, and no local emulator of XCP exists, hence
this one. The domains it holds are delegated in the sandbox's public DNS to their name
servers, so SES verification sees a domain only once its registration points at the zone.
"""

from vibn.sandbox.opensrs.app import create_emulator
from vibn.sandbox.opensrs.store import RESELLER

__all__ = ["RESELLER", "create_emulator"]

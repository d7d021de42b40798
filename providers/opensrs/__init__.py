"""OpenSRS (Tucows), the domain registrar: the XCP client and the ``opensrs.domain`` driver.

``xcp`` writes and reads OPS envelopes and signs them, ``client`` makes the calls vibn
needs (availability, suggestions, prices, balance, register, renew, domain info, name
servers, expire action) with typed errors and retries, ``domains`` is the driver.
"""

from vibn.providers.opensrs.client import (
    Availability,
    Contact,
    DomainInfo,
    OpenSrsClient,
    Renewal,
    RetryPolicy,
    Suggestion,
    response_code,
)
from vibn.providers.opensrs.domains import OpenSrsDomainDriver

__all__ = [
    "Availability",
    "Contact",
    "DomainInfo",
    "OpenSrsClient",
    "OpenSrsDomainDriver",
    "Renewal",
    "RetryPolicy",
    "Suggestion",
    "response_code",
]

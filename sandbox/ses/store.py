"""The SES emulator's records and run-time knobs.

Email identities, configuration sets (with their event destinations) and the messages
SendEmail accepted live in ``<state dir>/ses.json``, one JSON document behind one lock,
written before each changing response leaves (``GcpStore``, whose persistence, clock
offset and ``/_sandbox/<name>/settings`` plane are not Google-specific). The knobs:

* ``region`` — the one region this endpoint serves (``ca-central-1``; ``ca-west-1`` is
  the only other choice, vibn keeps mail in Canada). A request signed for any other
  region is refused as AWS refuses it.
* ``verification_delay`` — seconds after a DKIM or MAIL FROM check starts before the
  records can be seen (real SES takes minutes to hours), measured on the emulator clock.
* ``production_access`` — false puts the account in the SES sandbox: recipients must be
  verified identities too, and the send quota is 200 a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibn.sandbox.gcp_rest import GcpSettings, GcpStore
from vibn.sandbox.gcp_rest.service import Clock

REGIONS = ("ca-central-1", "ca-west-1")
#: the account the emulator's ARNs name (AWS's documentation example account)
ACCOUNT_ID = "123456789012"
TABLES = ("identities", "configuration_sets", "messages")
Record = dict[str, Any]


@dataclass
class SesSettings(GcpSettings):
    region: str = "ca-central-1"
    verification_delay: float = 0.0
    production_access: bool = True

    def update(self, changes: Mapping[str, Any]) -> None:
        rest = dict(changes)
        region = rest.pop("region", None)
        if region is not None and region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}")
        super().update(rest)
        if region is not None:
            self.region = str(region)


class SesStore(GcpStore):
    """Identities (keyed by lower-cased name), configuration sets and sent messages."""

    settings: SesSettings

    def __init__(self, path: Path | None, clock: Clock, settings: SesSettings) -> None:
        super().__init__(path, clock, TABLES, settings)

    def identities(self) -> dict[str, Record]:
        return self.table("identities")

    def configuration_sets(self) -> dict[str, Record]:
        return self.table("configuration_sets")

    def messages(self) -> dict[str, Record]:
        return self.table("messages")

    def identity(self, name: str) -> Record | None:
        return self.identities().get(name.lower())

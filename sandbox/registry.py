"""Which emulators a sandbox runs: provider name -> factory.

One sandbox process serves every registered emulator, each on its own port.
Adding a provider (Storage, Scheduler, Tasks, Logging, Cloud DNS, SES, OpenSRS)
is one entry here; the server, the manager and ``sandbox.json`` pick it up.
"""

from __future__ import annotations

from vibn.sandbox.clouddns import create_emulator as _dns
from vibn.sandbox.coolify import create_emulator as _coolify
from vibn.sandbox.emulator import EmulatorFactory
from vibn.sandbox.gcplogging import create_emulator as _logging
from vibn.sandbox.gcs import create_emulator as _storage
from vibn.sandbox.opensrs import create_emulator as _opensrs
from vibn.sandbox.resolver import create_emulator as _resolver
from vibn.sandbox.scheduler import create_emulator as _scheduler
from vibn.sandbox.ses import create_emulator as _ses
from vibn.sandbox.tasks import create_emulator as _tasks

EMULATORS: dict[str, EmulatorFactory] = {
    "coolify": _coolify,
    "storage": _storage,
    "logging": _logging,
    "scheduler": _scheduler,
    "tasks": _tasks,
    "resolver": _resolver,
    "ses": _ses,
    "opensrs": _opensrs,
    "dns": _dns,
}

"""Local, wire-faithful emulators of the providers vibn drives.

vibn's contract tests, end-to-end tests and benchmarks, and anyone rehearsing a
stack without cloud accounts, need providers that answer like the real ones.
``server`` runs every registered emulator in one process (one loopback port
each), ``manager`` starts and stops that process for the CLI, and every emulator
shares the ``/_sandbox`` control plane (faults, latency, request counts, reset).
"""

from vibn.sandbox.info import ProviderEndpoint, SandboxError, SandboxInfo

__all__ = ["ProviderEndpoint", "SandboxError", "SandboxInfo"]

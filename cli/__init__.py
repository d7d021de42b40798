"""The ``vibn`` command line: validate, plan, apply, destroy, status, secrets, sandbox,
serve, daemon, keys, backup, domains, float.

Terraform's habits where they fit: ``plan -o`` saves a plan that ``apply plan.json``
applies exactly (no question asked), ``--detailed-exitcode`` tells "changes" from
"nothing to do", data-bearing deletes need ``--confirm STACK``. ``--json`` output goes to
stdout alone; logs and progress go to stderr. No user ever sees a traceback: every
expected failure is a one-line (or one-line-per-problem) message and exit code 1.
"""

from vibn.cli import backups, domains, keys, sandbox_cmds, secrets, service, stacks
from vibn.cli.base import app

__all__ = [
    "app",
    "backups",
    "domains",
    "keys",
    "main",
    "sandbox_cmds",
    "secrets",
    "service",
    "stacks",
]


def main() -> None:
    app()

"""Rules for the strings a stack hands to providers as names and paths.

A name or a path in a stack ends up in a provider's URL, a container's shell command
(Coolify runs health checks with ``curl`` in a shell) or a bucket's DNS name, so the rules
live in one place, as plain functions that say what is wrong or return ``None``. The
models call them for field-local checks (so their problems come with every other schema
problem) and the policy calls them for names built from several fields.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote

DNS_LABEL_MAX = 63

# Characters that a shell, a URL or a file system gives a meaning to; never part of a path.
METACHARACTERS = ("\\", ";", "&", "|", "$", "`", "<", ">", "'", '"', " ")

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")

# unix-cron as Cloud Scheduler and Coolify both read it: numbers, '*', ranges, steps,
# lists, and three-letter month or weekday names (croniter alone also takes L, W, # and ?).
_CRON_ATOM = r"(\*|[0-9]{1,2}|[A-Za-z]{3})"
_CRON_FIELD = re.compile(rf"^{_CRON_ATOM}(-{_CRON_ATOM})?(/[0-9]{{1,2}})?$")
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
_NOT_TIMEZONES = frozenset({"localtime", "Factory", "posixrules"})


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about user input."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a very large number"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def unsafe_path(value: str) -> str | None:
    """Why ``value`` cannot be a path (URL path, repository path, image, key), or None.

    ``/`` is allowed; ``..``, control characters and shell metacharacters are not, also
    when percent-encoded (``%2e%2e``).
    """
    for candidate in dict.fromkeys((value, unquote(value))):
        if ".." in candidate:
            return f"{shown(value)} contains '..'; paths may not climb out of their directory"
        for char in candidate:
            if char in METACHARACTERS:
                what = "a space" if char == " " else repr(char)
                return (
                    f"{shown(value)} contains {what}; names and paths may not contain spaces, "
                    "quotes or shell characters (\\ ; & | $ ` < >)"
                )
            if ord(char) < 0x20 or ord(char) == 0x7F:
                return f"{shown(value)} contains a control character"
    return None


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a usable Cloud Storage bucket name, or None."""
    if not _BUCKET.fullmatch(name):
        return (
            f"{shown(name)} is not a valid bucket name: use 3-63 lowercase letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    if name.startswith("goog") or "google" in name.replace("0", "o"):
        return (
            f"{shown(name)} is reserved by Google: bucket names may not start with 'goog' "
            "or contain 'google'"
        )
    if _IPV4.fullmatch(name):
        return (
            f"{shown(name)} looks like an IP address, which Cloud Storage refuses as a bucket name"
        )
    if ".." in name or ".-" in name or "-." in name:
        return f"{shown(name)} has an empty or dash-edged part between dots"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a five-field unix-cron schedule, or None."""
    from croniter import croniter

    fields = expression.split()
    well_formed = len(fields) == 5 and all(
        _CRON_FIELD.fullmatch(atom) for field in fields for atom in field.split(",")
    )
    if not well_formed or not croniter.is_valid(expression):
        return (
            f"{shown(expression)} is not a valid cron expression: five fields "
            "'minute hour day-of-month month day-of-week', e.g. '0 3 * * *'"
        )
    return None


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone, or None (no file is opened with ``name``)."""
    if _TIMEZONE.fullmatch(name) and name in _timezones():
        return None
    return f"{shown(name)} is not an IANA time zone, e.g. America/Toronto or UTC"


@functools.cache
def _timezones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) - _NOT_TIMEZONES


def default_bucket_name(workspace: str) -> str:
    """The bucket a workspace's stacks share when ``storage.bucket`` is not given."""
    return f"vibn-ws-{workspace}"


def coolify_app_name(stack: str, service: str, replica: int) -> str:
    """The Coolify application name of one replica, as the compiler spells it."""
    return f"{stack}-{service}-{replica}"

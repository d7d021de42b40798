"""The API as a process: what ``vibn serve`` hands to uvicorn.

``vibn.cli`` and ``vibn.api`` are independent layers (neither imports the other), so the
command names ``app_from_environment`` to uvicorn as an import string, and this module
builds the app from the same configuration the CLI reads: ``vibn.toml`` in the working
directory and the ``VIBN_*`` environment, through ``vibn.wiring`` like the CLI: the
state store (migrated), and every configured provider or, for those left unconfigured,
the local sandbox (started if needed). ``uvicorn --factory
vibn.api.server:app_from_environment`` runs it without the CLI too.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path

from fastapi import FastAPI

from vibn.wiring import open_context

from .app import create_app
from .settings import load_api_settings


def app_from_environment() -> FastAPI:
    """The app for the working directory's configuration (a uvicorn app factory)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per provider request
    api_settings = load_api_settings(Path.cwd(), os.environ)
    resources = ExitStack()
    try:
        ctx = resources.enter_context(open_context())
        return create_app(ctx.store, ctx.engine, settings=api_settings, on_close=resources.close)
    except BaseException:
        resources.close()
        raise

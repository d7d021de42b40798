"""The HTTP API for agents: stacks in, plans out, applies by plan id, events as they happen.

``create_app(store, engine, settings=...)`` builds the FastAPI application; ``vibn serve``
runs it under uvicorn (``server.app_from_environment``). Routes live in small modules
by resource (``stacks``, ``applies``, ``events``, ``keys``, ``ops``); authentication and
scopes in ``auth``, problem details in ``problems``, quotas in ``quotas``.
"""

from vibn.api.app import create_app
from vibn.api.settings import ApiSettings, Quotas, load_api_settings

__all__ = ["ApiSettings", "Quotas", "create_app", "load_api_settings"]

"""The ``google.cloud.location.Locations`` mixin every regional Google API serves.

GAPIC clients expose ``list_locations`` / ``get_location`` on every regional
service (``GET /v1/projects/{p}/locations``, ``GET .../locations/{l}``). The
emulators answer with a fixed set: the two Canadian regions vibn may use and a
few others, so a client that lists them sees a realistic mix.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.gcp_rest.errors import fail
from vibn.sandbox.gcp_rest.service import Call, Endpoint, paginate
from vibn.sandbox.routing import Router

LOCATIONS = (
    ("europe-west1", "Belgium"),
    ("northamerica-northeast1", "Montréal"),
    ("northamerica-northeast2", "Toronto"),
    ("us-central1", "Iowa"),
    ("us-east1", "South Carolina"),
)


def _location(project: str, location_id: str, display: str) -> dict[str, Any]:
    return {
        "name": f"projects/{project}/locations/{location_id}",
        "locationId": location_id,
        "displayName": display,
    }


def _list(call: Call) -> dict[str, Any]:
    project = call.params["project"]
    page, token = paginate(list(LOCATIONS), lambda loc: loc[0], call, 100)
    out: dict[str, Any] = {"locations": [_location(project, *loc) for loc in page]}
    if token:
        out["nextPageToken"] = token
    return out


def _get(call: Call) -> dict[str, Any]:
    project, wanted = call.params["project"], call.params["location"]
    for loc in LOCATIONS:
        if loc[0] == wanted:
            return _location(project, *loc)
    fail("NOT_FOUND", f"Location {wanted} is not found or access is unauthorized.")


def add_location_routes(router: Router[Endpoint], version: str) -> None:
    """Register the mixin under ``/<version>/projects/{project}/locations``."""
    query = frozenset({"pageSize", "pageToken", "filter", "extraLocationTypes"})
    router.add("GET", f"/{version}/projects/{{project}}/locations", Endpoint(_list, query))
    router.add("GET", f"/{version}/projects/{{project}}/locations/{{location}}", Endpoint(_get))

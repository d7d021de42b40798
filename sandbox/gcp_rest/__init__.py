"""The dialect of Google's gRPC-transcoded REST APIs, shared by their emulators.

Cloud Scheduler v1 and Cloud Tasks v2 are gRPC services that Google also serves
as JSON over HTTP, and the GAPIC clients (``transport="rest"``) depend on the
details of that transcoding: the error shape, proto3 JSON with enums as names or
numbers (numbers back when the query says ``$alt=json;enum-encoding=int``),
``updateMask``, ``pageSize``/``pageToken``, refused unknown fields and query
parameters. Writing it once keeps each emulator down to its own resources and
rules. Small private modules, re-exported here.
"""

from vibn.sandbox.gcp_rest.errors import CODES, GcpError, error_body_for, fail, invalid
from vibn.sandbox.gcp_rest.locations import add_location_routes
from vibn.sandbox.gcp_rest.outbound import Delivery, Outbound, deliver, target_headers
from vibn.sandbox.gcp_rest.schema import (
    ANY,
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    INT32,
    INT64,
    STRING,
    TIMESTAMP,
    Enum,
    Kind,
    ListOf,
    MapOf,
    Message,
    apply_mask,
    decode,
    encode,
    mask_paths,
)
from vibn.sandbox.gcp_rest.service import (
    Call,
    Endpoint,
    GcpApi,
    GcpSettings,
    GcpStore,
    control_json,
    control_routes,
    paginate,
    sandbox_app,
)
from vibn.sandbox.gcp_rest.timefmt import (
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)

__all__ = [
    "ANY",
    "BOOL",
    "BYTES",
    "CODES",
    "DOUBLE",
    "DURATION",
    "INT32",
    "INT64",
    "STRING",
    "TIMESTAMP",
    "Call",
    "Delivery",
    "Endpoint",
    "Enum",
    "GcpApi",
    "GcpError",
    "GcpSettings",
    "GcpStore",
    "Kind",
    "ListOf",
    "MapOf",
    "Message",
    "Outbound",
    "add_location_routes",
    "apply_mask",
    "control_json",
    "control_routes",
    "decode",
    "deliver",
    "encode",
    "error_body_for",
    "fail",
    "format_duration",
    "format_timestamp",
    "invalid",
    "mask_paths",
    "paginate",
    "parse_duration",
    "parse_timestamp",
    "sandbox_app",
    "target_headers",
]

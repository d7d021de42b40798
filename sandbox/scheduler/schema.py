"""The Cloud Scheduler v1 resources as their JSON travels on the wire.

Field names, kinds, oneofs and output-only fields are those of
``google/cloud/scheduler/v1/{job,target}.proto`` (as shipped in
google-cloud-scheduler 2.21); requests are checked against them, so a field the
real API does not know is refused here too.
"""

from __future__ import annotations

from vibn.sandbox.gcp_rest import (
    ANY,
    BYTES,
    DURATION,
    INT32,
    STRING,
    TIMESTAMP,
    Enum,
    ListOf,
    MapOf,
    Message,
)

HTTP_METHOD = Enum(
    "google.cloud.scheduler.v1.HttpMethod",
    ("HTTP_METHOD_UNSPECIFIED", "POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"),
)
STATE = Enum(
    "google.cloud.scheduler.v1.Job.State",
    ("STATE_UNSPECIFIED", "ENABLED", "PAUSED", "DISABLED", "UPDATE_FAILED"),
)
OIDC_TOKEN = Message(
    "google.cloud.scheduler.v1.OidcToken", {"serviceAccountEmail": STRING, "audience": STRING}
)
OAUTH_TOKEN = Message(
    "google.cloud.scheduler.v1.OAuthToken", {"serviceAccountEmail": STRING, "scope": STRING}
)
HTTP_TARGET = Message(
    "google.cloud.scheduler.v1.HttpTarget",
    {
        "uri": STRING,
        "httpMethod": HTTP_METHOD,
        "headers": MapOf(STRING),
        "body": BYTES,
        "oauthToken": OAUTH_TOKEN,
        "oidcToken": OIDC_TOKEN,
    },
    oneofs={"authorization_header": ("oauthToken", "oidcToken")},
)
APP_ENGINE_ROUTING = Message(
    "google.cloud.scheduler.v1.AppEngineRouting",
    {"service": STRING, "version": STRING, "instance": STRING, "host": STRING},
    output_only=frozenset({"host"}),
)
APP_ENGINE_HTTP_TARGET = Message(
    "google.cloud.scheduler.v1.AppEngineHttpTarget",
    {
        "httpMethod": HTTP_METHOD,
        "appEngineRouting": APP_ENGINE_ROUTING,
        "relativeUri": STRING,
        "headers": MapOf(STRING),
        "body": BYTES,
    },
)
PUBSUB_TARGET = Message(
    "google.cloud.scheduler.v1.PubsubTarget",
    {"topicName": STRING, "data": BYTES, "attributes": MapOf(STRING)},
)
RETRY_CONFIG = Message(
    "google.cloud.scheduler.v1.RetryConfig",
    {
        "retryCount": INT32,
        "maxRetryDuration": DURATION,
        "minBackoffDuration": DURATION,
        "maxBackoffDuration": DURATION,
        "maxDoublings": INT32,
    },
)
STATUS = Message("google.rpc.Status", {"code": INT32, "message": STRING, "details": ListOf(ANY)})
TARGETS = ("pubsubTarget", "appEngineHttpTarget", "httpTarget")
JOB = Message(
    "google.cloud.scheduler.v1.Job",
    {
        "name": STRING,
        "description": STRING,
        "pubsubTarget": PUBSUB_TARGET,
        "appEngineHttpTarget": APP_ENGINE_HTTP_TARGET,
        "httpTarget": HTTP_TARGET,
        "schedule": STRING,
        "timeZone": STRING,
        "userUpdateTime": TIMESTAMP,
        "state": STATE,
        "status": STATUS,
        "scheduleTime": TIMESTAMP,
        "lastAttemptTime": TIMESTAMP,
        "retryConfig": RETRY_CONFIG,
        "attemptDeadline": DURATION,
    },
    oneofs={"target": TARGETS},
    output_only=frozenset({"userUpdateTime", "state", "status", "scheduleTime", "lastAttemptTime"}),
)
#: the bodies of ``:pause``, ``:resume`` and ``:run`` (``body: "*"`` of a name-only request)
EMPTY = Message("google.cloud.scheduler.v1.PauseJobRequest", {"name": STRING})
LOCATION = Message(
    "google.cloud.location.Location",
    {
        "name": STRING,
        "locationId": STRING,
        "displayName": STRING,
        "labels": MapOf(STRING),
        "metadata": ANY,
    },
)

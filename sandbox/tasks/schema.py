"""The Cloud Tasks v2 resources as their JSON travels on the wire.

Field names, kinds, oneofs and output-only fields are those of
``google/cloud/tasks/v2/{queue,task,target,cloudtasks}.proto`` as shipped in
google-cloud-tasks 2.26; requests are checked against them, so a field the real
API does not know is refused here too.
"""

from __future__ import annotations

from vibn.sandbox.gcp_rest import (
    ANY,
    BYTES,
    DOUBLE,
    DURATION,
    INT32,
    INT64,
    STRING,
    TIMESTAMP,
    Enum,
    ListOf,
    MapOf,
    Message,
)

_V2 = "google.cloud.tasks.v2."
HTTP_METHOD = Enum(
    _V2 + "HttpMethod",
    ("HTTP_METHOD_UNSPECIFIED", "POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"),
)
QUEUE_STATE = Enum(_V2 + "Queue.State", ("STATE_UNSPECIFIED", "RUNNING", "PAUSED", "DISABLED"))
VIEW = Enum(_V2 + "Task.View", ("VIEW_UNSPECIFIED", "BASIC", "FULL"))
OIDC_TOKEN = Message(_V2 + "OidcToken", {"serviceAccountEmail": STRING, "audience": STRING})
OAUTH_TOKEN = Message(_V2 + "OAuthToken", {"serviceAccountEmail": STRING, "scope": STRING})
_AUTH = {"authorization_header": ("oauthToken", "oidcToken")}
APP_ENGINE_ROUTING = Message(
    _V2 + "AppEngineRouting",
    {"service": STRING, "version": STRING, "instance": STRING, "host": STRING},
    output_only=frozenset({"host"}),
)
URI_OVERRIDE = Message(
    _V2 + "UriOverride",
    {
        "scheme": Enum(_V2 + "UriOverride.Scheme", ("SCHEME_UNSPECIFIED", "HTTP", "HTTPS")),
        "host": STRING,
        "port": INT64,
        "pathOverride": Message(_V2 + "PathOverride", {"path": STRING}),
        "queryOverride": Message(_V2 + "QueryOverride", {"queryParams": STRING}),
        "uriOverrideEnforceMode": Enum(
            _V2 + "UriOverride.UriOverrideEnforceMode",
            ("URI_OVERRIDE_ENFORCE_MODE_UNSPECIFIED", "IF_NOT_EXISTS", "ALWAYS"),
        ),
    },
)
HEADER_OVERRIDE = Message(
    _V2 + "HttpTarget.HeaderOverride",
    {"header": Message(_V2 + "HttpTarget.Header", {"key": STRING, "value": STRING})},
)
QUEUE_HTTP_TARGET = Message(
    _V2 + "HttpTarget",
    {
        "uriOverride": URI_OVERRIDE,
        "httpMethod": HTTP_METHOD,
        "headerOverrides": ListOf(HEADER_OVERRIDE),
        "oauthToken": OAUTH_TOKEN,
        "oidcToken": OIDC_TOKEN,
    },
    oneofs=_AUTH,
)
RATE_LIMITS = Message(
    _V2 + "RateLimits",
    {"maxDispatchesPerSecond": DOUBLE, "maxBurstSize": INT32, "maxConcurrentDispatches": INT32},
    output_only=frozenset({"maxBurstSize"}),
)
RETRY_CONFIG = Message(
    _V2 + "RetryConfig",
    {
        "maxAttempts": INT32,
        "maxRetryDuration": DURATION,
        "minBackoff": DURATION,
        "maxBackoff": DURATION,
        "maxDoublings": INT32,
    },
)
QUEUE = Message(
    _V2 + "Queue",
    {
        "name": STRING,
        "appEngineRoutingOverride": APP_ENGINE_ROUTING,
        "httpTarget": QUEUE_HTTP_TARGET,
        "rateLimits": RATE_LIMITS,
        "retryConfig": RETRY_CONFIG,
        "state": QUEUE_STATE,
        "purgeTime": TIMESTAMP,
        "stackdriverLoggingConfig": Message(
            _V2 + "StackdriverLoggingConfig", {"samplingRatio": DOUBLE}
        ),
    },
    output_only=frozenset({"state", "purgeTime"}),
)
HTTP_REQUEST = Message(
    _V2 + "HttpRequest",
    {
        "url": STRING,
        "httpMethod": HTTP_METHOD,
        "headers": MapOf(STRING),
        "body": BYTES,
        "oauthToken": OAUTH_TOKEN,
        "oidcToken": OIDC_TOKEN,
    },
    oneofs=_AUTH,
)
APP_ENGINE_HTTP_REQUEST = Message(
    _V2 + "AppEngineHttpRequest",
    {
        "httpMethod": HTTP_METHOD,
        "appEngineRouting": APP_ENGINE_ROUTING,
        "relativeUri": STRING,
        "headers": MapOf(STRING),
        "body": BYTES,
    },
)
STATUS = Message("google.rpc.Status", {"code": INT32, "message": STRING, "details": ListOf(ANY)})
ATTEMPT = Message(
    _V2 + "Attempt",
    {
        "scheduleTime": TIMESTAMP,
        "dispatchTime": TIMESTAMP,
        "responseTime": TIMESTAMP,
        "responseStatus": STATUS,
    },
)
TASK = Message(
    _V2 + "Task",
    {
        "name": STRING,
        "appEngineHttpRequest": APP_ENGINE_HTTP_REQUEST,
        "httpRequest": HTTP_REQUEST,
        "scheduleTime": TIMESTAMP,
        "createTime": TIMESTAMP,
        "dispatchDeadline": DURATION,
        "dispatchCount": INT32,
        "responseCount": INT32,
        "firstAttempt": ATTEMPT,
        "lastAttempt": ATTEMPT,
        "view": VIEW,
        "retryConfig": RETRY_CONFIG,
    },
    oneofs={"message_type": ("appEngineHttpRequest", "httpRequest")},
    output_only=frozenset(
        {"createTime", "dispatchCount", "responseCount", "firstAttempt", "lastAttempt", "view"}
    ),
)
CREATE_TASK = Message(
    _V2 + "CreateTaskRequest", {"parent": STRING, "task": TASK, "responseView": VIEW}
)
#: the bodies of ``:pause``, ``:resume``, ``:purge`` (a name-only request, ``body: "*"``)
QUEUE_ACTION = Message(_V2 + "PauseQueueRequest", {"name": STRING})
RUN_TASK = Message(_V2 + "RunTaskRequest", {"name": STRING, "responseView": VIEW})

"""A stack's events as Server-Sent Events: each action as it starts, succeeds, fails or
rolls back, and each apply's acceptance and end.

The stream polls the store's append-only event log (``id`` only grows), so it works the
same whichever replica ran the apply. ``Last-Event-ID`` (or ``?after=``) resumes where a
client left off. A stream ends on its own — at ``apply.finished`` when following an apply
(``?apply_id=`` or ``?follow=apply``), else at its timeout — with a final ``end`` event
that carries no id, so resuming never skips anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from vibn.state import Event

from .auth import Caller, Require
from .problems import PROBLEM_RESPONSE, ApiProblem
from .service import Service, get_service
from .stacks import StackName, find_stack

router = APIRouter(prefix="/v1/stacks", tags=["events"])

#: events read from the store per poll
BATCH = 100
#: how long a client waits before reconnecting after the connection drops (ms)
RETRY_MS = 2000

MAX_ID = 2**62


def sse(event: Event) -> str:
    """One event in the text/event-stream format (JSON never holds a raw newline)."""
    phase = event.payload.get("phase")
    name = f"{event.type}.{phase}" if event.type == "action" and phase else event.type
    data = {
        "id": event.id,
        "type": event.type,
        "at": event.at.isoformat(),
        "run_id": event.apply_id,
        **event.payload,
    }
    return f"id: {event.id}\nevent: {name}\ndata: {json.dumps(data, default=str)}\n\n"


def _end(reason: str) -> str:
    return f"event: end\ndata: {json.dumps({'reason': reason})}\n\n"


def _resume_from(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None:
        return after or 0
    text = last_event_id.strip()
    if text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    raise ApiProblem(
        400,
        "bad-last-event-id",
        f"Last-Event-ID must be an event id this stream sent, not {last_event_id[:40]!r}",
    )


async def _stream(
    service: Service,
    workspace: str,
    stack: str,
    cursor: int,
    seconds: float,
    until_apply: bool,
    apply_id: str | None,
) -> AsyncIterator[str]:
    settings = service.settings
    deadline = time.monotonic() + seconds
    quiet_since = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        batch = await run_in_threadpool(service.store.events, workspace, stack, cursor, BATCH)
        for event in batch:
            cursor = event.id
            quiet_since = time.monotonic()
            yield sse(event)
            if (
                until_apply
                and event.type == "apply.finished"
                and apply_id in (None, event.payload.get("apply_id"))
            ):
                yield _end("apply finished")
                return
        if len(batch) == BATCH:
            continue
        now = time.monotonic()
        if now >= deadline:
            yield _end("timeout")
            return
        if now - quiet_since >= settings.event_keepalive_seconds:
            yield ": keepalive\n\n"
            quiet_since = now
        await anyio.sleep(min(settings.event_poll_seconds, deadline - now))


@router.get(
    "/{name}/events",
    summary="The stack's events, as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: action.started|action.succeeded|"
            "action.failed|action.rolled_back|...|apply.accepted|apply.finished`, "
            "`data:` JSON, then a final `event: end`.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        400: PROBLEM_RESPONSE,
        404: PROBLEM_RESPONSE,
    },
)
async def stream_events(
    name: StackName,
    caller: Caller = Depends(Require("stacks:read")),
    service: Service = Depends(get_service),
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Send only events after this id.")
    ] = None,
    apply_id: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-f-]{1,64}$",
            description="End the stream when this apply (from the 202 answer) finishes.",
        ),
    ] = None,
    follow: Annotated[
        Literal["apply"] | None,
        Query(description="apply: end the stream at the first apply.finished."),
    ] = None,
    timeout: Annotated[
        float | None,
        Query(gt=0, le=3600, description="End the stream after this many seconds."),
    ] = None,
    last_event_id: Annotated[str | None, Header(description="Resume after this id.")] = None,
) -> StreamingResponse:
    await run_in_threadpool(find_stack, service, caller, name)
    cursor = _resume_from(last_event_id, after)
    settings = service.settings
    seconds = min(timeout or settings.event_timeout_seconds, settings.event_timeout_max_seconds)
    until_apply = follow == "apply" or apply_id is not None
    return StreamingResponse(
        _stream(service, caller.workspace, name, cursor, seconds, until_apply, apply_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

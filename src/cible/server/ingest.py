"""Segment-compatible ingestion routes: ``/v1/identify``, ``track``, ``page``, ``screen``,
``group``, ``alias`` and ``batch``.

Segment's clients (``segment-analytics-python``, ``analytics.js`` server side,
RudderStack's) work unchanged when pointed at ``cible serve``: the write key is the
HTTP Basic user name (password empty) or ``writeKey`` in the body; a request is
checked whole (:mod:`cible.ingest.payloads`), then its messages wait for the
micro-batch that stores them (:mod:`cible.server.batcher`) and the answer, ``200
{"success": true}``, comes once they are committed. Errors answer as Segment's API
does, ``{"code": ..., "message": ...}``: 400 for a malformed or too large request
(nothing of it is stored), 401 without a valid write key, 503 when the workspace
cannot write (retry later).

Examples
--------
>>> import asyncio, tempfile, httpx
>>> from pathlib import Path
>>> from fastapi import FastAPI
>>> from cible import Workspace
>>> from cible.server.batcher import Batcher
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db, Batcher.running(db) as batcher:
...         app = FastAPI()
...         app.include_router(ingest_router(Ingestion(batcher, lambda key: key == "k1")))
...         transport = httpx.ASGITransport(app=app)
...         async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
...             ok = await client.post("/v1/track", auth=("k1", ""),
...                                    json={"userId": "c1", "event": "Clicked"})
...             bad = await client.post("/v1/track", auth=("k1", ""), json={"userId": "c1"})
...             return ok.json(), bad.status_code, bad.json()["message"]
>>> asyncio.run(main())
({'success': True}, 400, 'event: missing.')
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from cible.domain.errors import CibleError
from cible.ingest.payloads import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    MESSAGE_TYPES,
    Alias,
    Group,
    Identify,
    Page,
    PayloadError,
    Screen,
    Track,
    parse_request,
)
from cible.server.batcher import Batcher, ShuttingDownError

_MODELS = {
    "identify": Identify,
    "track": Track,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed or too large; the message names the field. Nothing stored."},
    401: {"description": "No valid write key (HTTP Basic user, or writeKey in the body)."},
    503: {"description": "The workspace cannot write now; send the same request again."},
}


@dataclass(frozen=True)
class Ingestion:
    """What the ``/v1`` routes write through: the group commit and the write-key check.

    Parameters
    ----------
    batcher : Batcher
        Group commit of the accepted messages into the served workspace.
    check_write_key : callable
        ``check_write_key(key)`` is True for a key allowed to send events.
    """

    batcher: Batcher
    check_write_key: Callable[[str], bool]


def ingest_router(source: Ingestion | Callable[[Request], Ingestion]) -> APIRouter:
    """The ``/v1`` ingestion routes.

    Parameters
    ----------
    source : Ingestion or callable
        The batcher and write-key check, or ``source(request)`` returning them: the
        app builds its routes before it starts, and its batcher only once it has.
    """
    resolve = source if callable(source) else (lambda request: source)
    router = APIRouter(prefix="/v1", tags=["ingest"], route_class=_RawRoute)
    for endpoint in (*MESSAGE_TYPES, "batch"):
        router.add_api_route(
            f"/{endpoint}",
            _handler(endpoint, resolve),
            methods=["POST"],
            name=f"ingest_{endpoint}",
            summary=f"Segment {endpoint} call",
            openapi_extra={"requestBody": _request_body(endpoint)},
            responses=_ERRORS,
        )
    return router


class _RawRoute(APIRoute):
    """A documented route whose endpoint is called with the request, nothing solved first.

    FastAPI's own handler looks for dependencies and a body to parse on every request,
    though these endpoints read and check their raw body themselves: about 30 µs a
    request (on the development machine an empty route answered 7,500 requests/s with
    it, 9,900 without). The OpenAPI description, the middleware and the exception
    handlers are the same as for any route.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)


def _handler(
    endpoint: str, resolve: Callable[[Request], Ingestion]
) -> Callable[[Request], Coroutine[Any, Any, JSONResponse]]:
    limit = MAX_BATCH_BYTES if endpoint == "batch" else MAX_MESSAGE_BYTES

    async def receive(request: Request) -> JSONResponse:
        ingestion = resolve(request)
        batcher, check_write_key = ingestion.batcher, ingestion.check_write_key
        header_key = _basic_user(request.headers.get("authorization"))
        authorised = header_key is not None and check_write_key(header_key)
        try:
            body = await _read_body(request, limit)
            parsed = parse_request(endpoint, body, encoding=request.headers.get("content-encoding"))
        except PayloadError as error:
            # Who has no key learns nothing about the payload.
            if not authorised:
                return _unauthorised()
            return _error(error.status, "invalid_request", str(error))
        if not authorised and not (parsed.write_key and check_write_key(parsed.write_key)):
            return _unauthorised()
        try:
            await batcher.submit(parsed.messages)
        except ShuttingDownError as error:
            return _error(503, "unavailable", str(error))
        except CibleError as error:  # the workspace could not write: nothing acknowledged
            return _error(503, "unavailable", str(error))
        return JSONResponse({"success": True})

    receive.__name__ = f"ingest_{endpoint}"
    return receive


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is longer than the endpoint allows."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadError(
            f"body: more than the {limit // 1024} KB a request to this endpoint may hold."
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(
                f"body: more than the {limit // 1024} KB a request to this endpoint may hold."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header (Segment's write key)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "code": code, "message": message}, status_code=status)


def _unauthorised() -> JSONResponse:
    response = _error(
        401, "unauthorized", "Give a valid write key: the HTTP Basic user, or writeKey."
    )
    response.headers["WWW-Authenticate"] = 'Basic realm="cible ingest"'
    return response


def _request_body(endpoint: str) -> dict[str, Any]:
    """The request body in the OpenAPI document (the handlers read the raw body)."""
    if endpoint == "batch":
        items = [_schema(model) for model in _MODELS.values()]
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {"type": "array", "items": {"oneOf": items}},
                "context": {"type": "object"},
                "writeKey": {"type": "string"},
            },
        }
    else:
        schema = _schema(_MODELS[endpoint])
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    return schema

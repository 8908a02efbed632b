"""The HTTP API of one workspace: ``create_app(path)`` builds it, nothing at import.

The app's lifespan opens the workspace on its database thread
(:class:`~cible.server.database.Database`), loads the live tokens into memory, writes
the local user's token file (:mod:`cible.server.served`), and on shutdown waits for
the jobs it accepted, then closes the workspace. Routes are JSON under ``/api``; the
OpenAPI description is at ``/openapi.json``. FastAPI's interactive pages are off:
they load their scripts from a CDN, and Cible fetches nothing from the network at run time.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from fastapi.testclient import TestClient
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> with Workspace.create(folder) as ws:
...     secret, _ = ws.tokens.create("dashboard", "viewer")
>>> with TestClient(create_app(folder)) as client:
...     answer = client.get("/api/status", headers={"Authorization": f"Bearer {secret}"})
>>> answer.status_code, answer.json()["counts"]["customers"]
(200, 0)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from cible import __version__
from cible.access.roles import LOCAL_USER, Role
from cible.access.tokens import new_secret
from cible.server import served, web
from cible.server.automation import AutomationWorker
from cible.server.batcher import Batcher
from cible.server.database import Database
from cible.server.delivery import DeliveryWorker
from cible.server.deps import ServerState, StrictJSONResponse
from cible.server.errors import add_handlers
from cible.server.ingest import Ingestion, ingest_router
from cible.server.jobs import Jobs
from cible.server.routes import (
    audit,
    automations,
    campaigns,
    customers,
    deliveries,
    drift,
    experiments,
    exports,
    fairness,
    jobs,
    kpis,
    objection,
    privacy,
    privacy_access,
    segments,
    snapshots,
    status,
    tags,
    templates,
    tokens,
    unsubscribe,
)
from cible.server.schedule import scheduling
from cible.server.sweep import sweeping

_log = logging.getLogger(__name__)

DESCRIPTION = """\
The API of one Cible workspace. Authenticate with `Authorization: Bearer <token>`
(`cible tokens create NAME --role ROLE`). Roles: viewer < analyst < editor < admin;
`ingest` write keys only post events. Errors are `{"detail": "one sentence"}`.
"""


def create_app(path: Path) -> FastAPI:
    """The FastAPI app serving the workspace at ``path`` (opened when the app starts)."""
    folder = Path(path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Database.open(folder) as db:
            local = new_secret()
            keyring = await db.call(lambda ws: ws.tokens.keyring([(local, LOCAL_USER)]))
            state = ServerState(db=db, jobs=Jobs(db), keyring=keyring, local_secret=local)
            app.state.cible = state
            settings = await db.call(lambda ws: ws.config.ingest)
            # The first live refresh would otherwise compile its plan (about a second).
            try:
                await db.call(lambda ws: ws.config.live.refresh and ws.segments.prepare_live())
            except Exception:  # a stored segment gone invalid, say: refreshes will say it
                _log.exception("Preparing live refreshes failed; the first one will try again")
            served.write_local_token(folder, state.local_secret)
            # Uploads never imported nor cancelled hold personal data: a day at most.
            stale = served.remove_stale_incoming(folder)
            if stale:
                _log.info("Removed %d file(s) left over a day in incoming/", len(stale))
            try:
                # Time passing moves customers too (within_days, recency): the sweep
                # re-evaluates everyone every [live] sweep_interval_seconds.
                async with (
                    DeliveryWorker.running(db) as delivery,
                    sweeping(db),
                    scheduling(state.jobs),
                    AutomationWorker.running(db, after_pass=delivery.wake) as automations,
                    Batcher.running(
                        db,
                        max_messages=settings.batch_max_messages,
                        max_wait=settings.batch_max_wait_ms / 1000,
                        after_write=automations.wake,
                    ) as batcher,
                ):
                    state.automations = automations
                    app.state.ingestion = Ingestion(batcher, lambda key: _ingest_key(state, key))
                    # After an enqueue: app.state.delivery.wake() (any thread).
                    app.state.delivery = delivery
                    yield
                # Events acknowledged are written when the batcher stops, above.
            finally:
                # Work already accepted ends before the workspace closes.
                await state.jobs.drain()
                served.remove_local_token(folder)

    app = FastAPI(
        title="Cible",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=StrictJSONResponse,
        # Swagger UI and ReDoc load their scripts from a CDN: no network at run time.
        docs_url=None,
        redoc_url=None,
    )
    add_handlers(app)
    # First: routes are matched in order, and ingestion is the busiest path.
    app.include_router(ingest_router(lambda request: request.app.state.ingestion))
    for module in (
        status,
        segments,
        customers,
        jobs,
        exports,
        audit,
        tokens,
        tags,
        automations,
        campaigns,
        templates,
        deliveries,
        snapshots,
        drift,
        experiments,
        kpis,
        privacy,
        privacy_access,
        fairness,
        objection,
    ):
        app.include_router(module.router, prefix="/api")
    app.include_router(unsubscribe.router)
    # Last: the pages answer paths the API and ingestion do not.
    web.install(app)
    return app


def _ingest_key(state: ServerState, key: str) -> bool:
    """Whether ``key`` is a live write key (role ``ingest``; other tokens may not post)."""
    principal = state.keyring.authenticate(key)
    return principal is not None and principal.may(Role.INGEST)

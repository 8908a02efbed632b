"""Schemathesis over the served OpenAPI: generated requests to every route, never a 5xx.

The app runs in a real uvicorn on 127.0.0.1 (a thread), its lifespan and jobs included,
on the small workspace of ``conftest``. Requests carry the local user's admin token
(not in the token table, so a generated ``DELETE /api/tokens/{id}`` cannot revoke it),
so they reach the handlers rather than stopping at 401. Bounded: a few examples per
operation, no deadline (a job's first run warms DuckDB up).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cible.server.app import create_app
from cible.server.served import read_local_token
from tests.server.conftest import make_workspace

pytestmark = pytest.mark.slow

#: Examples generated per operation (about 25 operations).
EXAMPLES = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The URL of a served workspace and the local user's token."""
    folder = tmp_path_factory.mktemp("fuzz") / "data"
    make_workspace(folder)
    shop = folder / "shop"
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(create_app(shop), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    token = read_local_token(Path(shop))
    assert token
    yield f"http://127.0.0.1:{port}", token
    uv.should_exit = True
    # The shutdown waits for the jobs generated requests started (runs, imports...).
    thread.join(timeout=120)
    assert not thread.is_alive(), "the server did not stop within 2 minutes"


def test_no_generated_request_gets_a_5xx(server: tuple[str, str]):
    url, token = server
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()

        # Schemathesis' pytest plugin does not run on this pytest; Hypothesis drives it.
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=url, headers=headers, checks=[not_a_server_error], timeout=60
            )

        check()
        checked.append(operation.label)
    # Every route of the API and of ingestion was exercised.
    assert len(checked) >= 20 and "POST /api/imports" in checked and "POST /v1/batch" in checked

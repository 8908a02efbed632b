"""Where the test engines are, and what to do when one cannot be reached."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest

from cible.domain.errors import WorkspaceError
from cible.store.engines import connect_engine

#: The PostgreSQL server the tests use (trust authentication, database ``test``).
POSTGRES = os.environ.get("CIBLE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
#: The Spark master the tests use: local mode on two cores, the machine's size.
SPARK = os.environ.get("CIBLE_TEST_SPARK", "spark://local[2]")


def unavailable(engine: str, reason: object) -> NoReturn:
    """Skip the engine's tests on a developer's machine; fail them in CI (``CI=true``),
    where every engine must run."""
    message = f"{engine} is unavailable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_schema(prefix: str) -> Iterator[Any]:
    """A PostgreSQL engine in a schema of its own (``prefix``, the process, a random
    part), dropped at the end, so that two test runs or xdist workers never share
    tables; :func:`unavailable` when the server cannot be reached."""
    try:
        admin = connect_engine(POSTGRES)
    except WorkspaceError as exc:
        unavailable("PostgreSQL", exc)
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.con.execute(f'CREATE SCHEMA "{schema}"')
    engine = connect_engine(f"{POSTGRES.rstrip('/')}/{schema}")
    try:
        yield engine
    finally:
        engine.disconnect()
        admin.con.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.disconnect()


@contextmanager
def postgres_address(prefix: str, *beside: str) -> Iterator[str]:
    """The address of a schema of its own on the test server (``prefix`` and a random
    part), for a workspace held there; it and the schemas named with the ``beside``
    suffixes are dropped at the end. :func:`unavailable` when the server cannot be
    reached."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(
            POSTGRES.replace("postgres://", "postgresql://", 1), autocommit=True
        )
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield f"{POSTGRES.rstrip('/')}/{schema}"
    finally:
        for dropped in (schema, *(schema + suffix for suffix in beside)):
            admin.execute(f'DROP SCHEMA IF EXISTS "{dropped}" CASCADE')
        admin.close()

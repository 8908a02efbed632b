"""Where the test engines are, and what to do when one cannot be reached."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

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

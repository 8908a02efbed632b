"""The hand-made shop of :mod:`tests.features.test_traits`, as database tables."""

from __future__ import annotations

from typing import Any

import ibis
import pytest

from tests.features.test_traits import SCHEMAS, frames


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    """The dataset as tables of an in-memory DuckDB, as a workspace would hold them."""
    con = ibis.duckdb.connect()
    return {
        # Through a memtable: this DuckDB release rejects Ibis's cleanup statement when
        # a pandas frame is passed to create_table directly.
        name: con.create_table(name, ibis.memtable(frame, schema=SCHEMAS[name]))
        for name, frame in frames().items()
    }

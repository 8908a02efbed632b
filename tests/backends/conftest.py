"""One shop, three engines, each step of the pipeline computed once per engine.

The engines come from :func:`cible.store.engines.connect_engine`:

- DuckDB, in memory: the reference;
- PostgreSQL at ``CIBLE_TEST_POSTGRES`` (default: the local server's ``test``
  database), in a schema of its own per test process, dropped at the end, so that
  parallel runs never meet;
- Spark at ``CIBLE_TEST_SPARK`` (default ``spark://local[2]``): ONE session for the
  whole test session, its tables in a temporary warehouse folder.

An engine that cannot be reached skips its tests on a developer's machine and fails
them in CI (``CI=true``), where every engine must run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cible.domain.errors import WorkspaceError
from cible.store.engines import connect_engine
from tests.backends.engines import SPARK, postgres_schema, unavailable
from tests.backends.pipeline import Results, definitions, load_shop, model_scores, run_pipeline
from tests.backends.shop import Shop, build_shop


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("shop") / "demo")


@pytest.fixture(scope="session")
def duckdb_engine() -> Any:
    return connect_engine("duckdb")


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Any]:
    with postgres_schema("cible_test") as engine:
        yield engine


@pytest.fixture(scope="session")
def pyspark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    warehouse: Path = tmp_path_factory.mktemp("spark-warehouse")
    try:
        engine = connect_engine(SPARK, spark_settings={"spark.sql.warehouse.dir": str(warehouse)})
    except WorkspaceError as exc:
        unavailable("Spark", exc)
    try:
        yield engine
    finally:
        engine._session.stop()


@pytest.fixture(scope="session")
def reference(shop: Shop, duckdb_engine: Any) -> Results:
    """Every step on DuckDB."""
    return run_pipeline(duckdb_engine, load_shop(duckdb_engine, shop), definitions(shop))


@pytest.fixture(scope="session")
def postgres_results(shop: Shop, postgres_engine: Any, reference: Results) -> Results:
    return _results(shop, postgres_engine, reference)


@pytest.fixture(scope="session")
def pyspark_results(shop: Shop, pyspark_engine: Any, reference: Results) -> Results:
    return _results(shop, pyspark_engine, reference)


def _results(shop: Shop, engine: Any, reference: Results) -> Results:
    # Value and churn scores are fitted in Python on the reference's rows: each
    # engine then holds the same ones, as a run hands its scores to the database.
    models = model_scores(reference["value_inputs"], reference["raw_traits"])
    return run_pipeline(engine, load_shop(engine, shop), definitions(shop), models=models)

"""A workspace whose runs compute on Spark (``[engine] backend = "spark"``).

Spark has neither transactions nor row updates, so it cannot hold what a workspace
changes row by row and all at once (imports merged into tables, memberships and their
history, tags, deliveries): that state stays in the Store, ``cible.duckdb``. What grows
with the data, a run's traits, scores and segments, is computed on Spark:

- :class:`SparkEngine` opens the Spark session of ``[engine.spark]`` and copies the
  workspace's data tables (:data:`DATA_TABLES`) into its Spark database, each when it
  changed since it was last copied (:meth:`SparkEngine.publish`: a table's
  fingerprint, its row count and the sum of its rows' hashes, is kept as a property
  of Spark's table);
- :class:`SparkRun` is the Store a run is given: it reads those tables and holds each
  step on Spark, scores models a page at a time in Python, and at the commit brings
  the traits and memberships into the Store a page at a time, where they are stored
  with their history in one transaction, as on DuckDB.

Examples
--------
>>> DATA_TABLES
('customers', 'orders', 'order_lines', 'events', 'products', 'consents')
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cible.domain.errors import WorkspaceError
from cible.store import runs
from cible.store.engines import connect_engine, require_java
from cible.store.sql import fetch_row, quote
from cible.store.store import PAGE_ROWS, Store

#: The workspace's data, read by a run and copied into Spark when it changed.
DATA_TABLES = ("customers", "orders", "order_lines", "events", "products", "consents")
#: The Store's own tables a run's expressions read beside the data (the segment
#: language's tags): small, copied at the start of every run.
STATE_TABLES = ("customer_tags",)
#: Rows of a data table sent to Spark at once while it is copied.
PUBLISH_ROWS = 500_000
#: The property of a Spark table holding the fingerprint of the rows copied into it.
FINGERPRINT = "cible.fingerprint"


def database_name(workspace: str) -> str:
    """The Spark database of a workspace named ``workspace`` when ``[engine.spark]``
    names none.

    Examples
    --------
    >>> database_name("Boutique Lyon-2")
    'cible_boutique_lyon_2'
    """
    return "cible_" + re.sub(r"[^a-z0-9_]+", "_", workspace.lower()).strip("_")


@dataclass
class SparkEngine:
    """The Spark session of a workspace, and its copies of the workspace's tables.

    Parameters
    ----------
    master : str or None
        The Spark master; None: ``spark.master`` of Spark's usual settings, else
        ``local[*]``.
    database : str
        The Spark database holding the copies.
    settings : dict of str to str
        Spark settings for a new session.

    Examples
    --------
    >>> engine = SparkEngine(master="local[1]", database="cible_shop")
    >>> engine.database
    'cible_shop'
    """

    master: str | None
    database: str
    settings: dict[str, str] = field(default_factory=dict)
    _backend: Any = None

    @property
    def backend(self) -> Any:
        """Ibis's PySpark backend, the session started (or the process's reused) on
        first use, with the database created when missing."""
        if self._backend is None:
            master = _master(self.master)
            try:
                self._backend = connect_engine(master, spark_settings=self.settings)
            except WorkspaceError:
                raise
            except Exception as exc:  # Java's error through py4j
                raise WorkspaceError(
                    f"Spark did not start on master {master!r} ([engine.spark]): {_why(exc)}"
                ) from None
            self._backend._session.sql(f"CREATE DATABASE IF NOT EXISTS {_name(self.database)}")
        return self._backend

    @property
    def session(self) -> Any:
        """The ``pyspark.sql.SparkSession``."""
        return self.backend._session

    def publish(self, store: Store, *, progress: Callable[[str], None] | None = None) -> list[str]:
        """Copy into Spark each data table whose rows changed since its last copy;
        return the names of those copied.

        A table is written a page of :data:`PUBLISH_ROWS` rows at a time and its
        fingerprint set last: a copy cut short is copied again whole the next time.
        """
        copied = []
        for name in DATA_TABLES:
            fingerprint = table_fingerprint(store, name)
            if self._fingerprint_of(name) == fingerprint:
                continue
            if progress is not None:
                progress(name)
            self._copy(store, name)
            self.session.sql(
                f"ALTER TABLE {self.qualified(name)} "
                f"SET TBLPROPERTIES ('{FINGERPRINT}' = '{fingerprint}')"
            )
            copied.append(name)
        return copied

    def forget(self) -> None:
        """Drop Spark's copies of the data tables (after an erasure): the next run
        copies them again. Copies another process's session holds are replaced at
        its next run."""
        for name in DATA_TABLES:
            self.session.sql(f"DROP TABLE IF EXISTS {self.qualified(name)}")

    def qualified(self, name: str) -> str:
        """``database.name``, quoted for Spark SQL."""
        return f"{_name(self.database)}.{_name(name)}"

    def _fingerprint_of(self, name: str) -> str | None:
        if not self.session.catalog.tableExists(f"{self.database}.{name}"):
            return None
        rows = self.session.sql(f"SHOW TBLPROPERTIES {self.qualified(name)}").collect()
        found = {row["key"]: row["value"] for row in rows}
        return found.get(FINGERPRINT)

    def _copy(self, store: Store, name: str) -> None:
        schema = _spark_schema(store.table(name).schema())
        target = f"{self.database}.{name}"
        mode = "overwrite"
        for batch in store.connection.sql(f"FROM {quote(name)}").to_arrow_reader(PUBLISH_ROWS):
            if batch.num_rows == 0:
                continue
            frame = self.session.createDataFrame(pa.Table.from_batches([batch]), schema=schema)
            frame.write.saveAsTable(target, mode=mode, format="parquet")
            mode = "append"
        if mode == "overwrite":
            # No row: the table exists all the same, with its columns.
            self.session.createDataFrame([], schema=schema).write.saveAsTable(
                target, mode=mode, format="parquet"
            )
        self.session.sql(f"REFRESH TABLE {self.qualified(name)}")


class SparkRun:
    """The Store as a run on Spark sees it: data and held steps on Spark, the rest the Store's.

    A run's code is the same on every backend: it reads tables (:meth:`table`), holds
    steps (:meth:`hold`, :meth:`hold_pages`) and commits (:meth:`commit_run`). Here the
    data tables are the Spark copies, every held step is computed once by Spark and
    kept by it (``localCheckpoint``: later steps read the rows, not the plan that made
    them), and the commit brings the held traits and memberships into the Store.
    Everything else (models, segment definitions, the history) is the Store's.
    Use :func:`spark_run`, which drops what was held when the run ends.
    """

    def __init__(self, store: Store, engine: SparkEngine) -> None:
        self._store = store
        self._engine = engine
        self._held: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        # Called only for what this class does not define: the Store's other methods.
        return getattr(self._store, name)

    def table(self, name: str) -> ir.Table:
        """A held step, a data table's Spark copy, a state table copied to Spark, or
        (any other name) the Store's table."""
        backend = self._engine.backend
        if name in self._held:
            return backend.table(name)
        if name in DATA_TABLES:
            return backend.table(name, database=self._engine.database)
        if name in STATE_TABLES:
            return self.hold(name, self._store.table(name).to_pyarrow())
        return self._store.table(name)

    def hold(self, name: str, rows: ir.Table | pd.DataFrame | pa.Table) -> ir.Table:
        """Compute ``rows`` once on Spark and keep them as temporary view ``name``."""
        session = self._engine.session
        if isinstance(rows, ir.Table):
            backend = self._engine.backend
            # What Ibis does before it runs an expression: register the literal tables
            # and the Python functions (JSON unwrapping) it reads. (No public method
            # gives a Spark DataFrame of an expression.)
            backend._run_pre_execute_hooks(rows)
            frame = session.sql(backend.compile(rows))
        else:
            arrow = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows)
            arrow = arrow.drop_columns(
                [c for c in arrow.column_names if c.startswith("__index_level")]
            )
            frame = session.createDataFrame(
                arrow, schema=_spark_schema(ibis.Schema.from_pyarrow(arrow.schema))
            )
        self._keep(name, frame.localCheckpoint(eager=True))
        return self._engine.backend.table(name)

    def hold_pages(
        self,
        name: str,
        rows: ir.Table,
        score: Callable[[pd.DataFrame], pd.DataFrame],
        schema: pa.Schema,
        *,
        page: int | None = None,
    ) -> ir.Table:
        """Hold ``score`` of ``rows``, about ``page`` rows at a time, as view ``name``
        (see :meth:`cible.store.store.Store.hold_pages`): each page of input comes from
        Spark to Python and its scores go back to Spark, where they are kept."""
        session = self._engine.session
        spark_schema = _spark_schema(ibis.Schema.from_pyarrow(schema))
        source = self.hold(f"{name}_pages", rows)
        pieces = []
        try:
            for chosen in pages_of(source, page or PAGE_ROWS):
                scored = score(chosen.to_pandas())
                arrow = pa.Table.from_pandas(scored, schema=schema, preserve_index=False)
                pieces.append(
                    session.createDataFrame(arrow, schema=spark_schema).localCheckpoint(eager=True)
                )
        finally:
            self.drop_held(f"{name}_pages")
        frame = session.createDataFrame([], schema=spark_schema)
        for piece in pieces:
            frame = frame.unionByName(piece)
        self._keep(name, frame.localCheckpoint(eager=True))
        return self._engine.backend.table(name)

    def drop_held(self, *names: str) -> None:
        """Let Spark forget held steps nothing reads any more."""
        for name in names:
            frame = self._held.pop(name, None)
            if frame is not None:
                self._engine.session.catalog.dropTempView(name)
                frame.unpersist()

    def commit_run(self, *, traits: str, members: ir.Table, **rest: Any) -> runs.RunRecord:
        """Bring the held traits and memberships into the Store, then
        :meth:`~cible.store.store.Store.commit_run` there."""
        self._bring("_traits", self.table(traits))
        self._bring("_run_members", members)
        return self._store.commit_run(
            traits="_traits", members=self._store.table("_run_members"), **rest
        )

    def commit_snapshot(self, *, traits: str, members: ir.Table, **rest: Any) -> Any:
        """Bring the held traits and memberships into the Store, then
        :meth:`~cible.store.store.Store.commit_snapshot` there."""
        self._bring("_traits", self.table(traits))
        self._bring("_run_members", members)
        return self._store.commit_snapshot(
            traits="_traits", members=self._store.table("_run_members"), **rest
        )

    def close(self) -> None:
        """Drop every step held on Spark."""
        self.drop_held(*list(self._held))

    def _keep(self, name: str, frame: Any) -> None:
        self.drop_held(name)
        frame.createOrReplaceTempView(name)
        self._held[name] = frame

    def _bring(self, name: str, rows: ir.Table) -> None:
        """Hold ``rows`` of Spark as the Store's temporary table ``name``, a page at a time."""
        held = self.hold(f"{name}_brought", rows)
        con = self._store.connection
        try:
            runs.stage_frame(con, name, held.schema().to_pyarrow().empty_table())
            for chosen in pages_of(held, PAGE_ROWS):
                runs.append_frame(con, name, chosen.to_pyarrow())
        finally:
            self.drop_held(f"{name}_brought")


@contextmanager
def spark_run(store: Store, engine: SparkEngine) -> Iterator[SparkRun]:
    """A :class:`SparkRun` on ``store``, its held steps dropped when the block ends."""
    run = SparkRun(store, engine)
    try:
        yield run
    finally:
        run.close()


def pages_of(table: ir.Table, page: int) -> Iterator[ir.Table]:
    """``table`` in parts of about ``page`` rows, split by the hash of its first
    column (a customer id): no sort, no numbering, which Spark would do on one core.

    Examples
    --------
    >>> ids = ibis.memtable({"customer_id": [f"c{i}" for i in range(100)]})
    >>> parts = [part.count().execute() for part in pages_of(ids, 30)]
    >>> len(parts), sum(parts)
    (4, 100)
    """
    total = int(table.count().to_pyarrow().as_py())
    if total == 0:
        return
    parts = math.ceil(total / page)
    if parts == 1:
        yield table
        return
    key = table[table.columns[0]].hash()
    for part in range(parts):
        yield table.filter(((key % parts) + parts) % parts == part)


def table_fingerprint(store: Store, name: str) -> str:
    """The row count, the sum of the rows' hashes and the columns of the Store's
    table ``name``: any row added, removed or changed changes it, the order of the
    rows does not.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> store = Store.open(Path(tempfile.mkdtemp()) / "cible.duckdb")
    >>> _ = store.connection.execute("CREATE TABLE t AS SELECT 1 AS x")
    >>> before = table_fingerprint(store, "t")
    >>> _ = store.connection.execute("UPDATE t SET x = 2")
    >>> table_fingerprint(store, "t") == before
    False
    >>> store.close()
    """
    count, total = fetch_row(
        store.connection, f"SELECT count(*), sum(hash(t)) FROM {quote(name)} AS t"
    )
    columns = ",".join(f"{c}:{t}" for c, t in store.table(name).schema().items())
    return f"{count}-{total or 0}-{hashlib.sha256(columns.encode()).hexdigest()[:16]}"


def _spark_schema(schema: ibis.Schema) -> Any:
    from ibis.backends.pyspark.datatypes import PySparkSchema

    return PySparkSchema.from_ibis(schema)


def _master(master: str | None) -> str:
    """The engine address of ``master``: Spark's own setting when there is one."""
    if master is not None:
        return master
    try:
        from pyspark import SparkConf, SparkContext
    except ImportError:
        raise WorkspaceError(
            "Spark needs the pyspark package: pip install 'cible[spark]'."
        ) from None
    require_java()
    # Starting the gateway reads spark-defaults.conf and PYSPARK_SUBMIT_ARGS.
    SparkContext._ensure_initialized()
    configured = SparkConf().get("spark.master")
    return configured if configured else "spark"


def _why(error: Exception) -> str:
    """The Java exception behind a py4j error (its class and message), else the error's
    first line."""
    java = getattr(error, "java_exception", None)
    if java is not None:
        return str(java.toString())
    return (str(error).strip().splitlines() or [repr(error)])[0]


def _name(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"

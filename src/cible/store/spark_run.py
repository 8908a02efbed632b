"""A run computed on Spark: the Store as the run sees it (``backend = "spark"``).

A run's code is the same on every backend: it reads tables, holds steps and commits
through the Store's methods (:mod:`cible.segments.runner`). :class:`SparkRun` offers
those methods with the data tables read from Spark's copies
(:class:`cible.store.spark.SparkEngine`) and every held step computed by Spark and
kept there; models score pages of customers in Python, and the commit brings the
traits and memberships into the Store a page at a time, where the run is stored with
its history in one transaction, as on DuckDB. Everything else a run reads (segment
definitions, models, the history) is the Store's.

Examples
--------
>>> import ibis
>>> ids = ibis.memtable({"customer_id": [f"c{i}" for i in range(100)]})
>>> parts = [part.count().execute() for part in pages_of(ids, 30)]
>>> len(parts), sum(parts)
(4, 100)
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cible.store import runs
from cible.store.spark import DATA_TABLES, SparkEngine, spark_schema
from cible.store.store import PAGE_ROWS, Store

#: The Store's own tables a run's expressions read beside the data (the segment
#: language's tags): small, copied to Spark at every run.
STATE_TABLES = ("customer_tags",)
#: The column pages are split by: every table a run pages holds one row per customer,
#: or a few (memberships).
PAGE_KEY = "customer_id"


@dataclass(frozen=True)
class _Held:
    """A held step: its temporary view, and the blocks of Spark's storage keeping it."""

    view: str
    rdds: frozenset[int]


class SparkRun:
    """The Store as a run on Spark sees it: data and held steps on Spark, the rest the Store's.

    Each held step is computed once and kept by Spark (``localCheckpoint``: later
    steps read its rows, not the plan that made them, and the driver keeps no
    lineage), as a temporary view named for this run only, so that two runs in one
    process never read each other's steps; :meth:`drop_held` and :meth:`close` release
    the view and its blocks. Use :func:`spark_run`, which closes it when the run ends.

    Parameters
    ----------
    store : Store
        The workspace's Store: its methods that this class does not define are used
        as they are.
    engine : SparkEngine
        The session, and the copies of the data tables.
    """

    def __init__(self, store: Store, engine: SparkEngine) -> None:
        self._store = store
        self._engine = engine
        self._held: dict[str, _Held] = {}
        self._prefix = f"cible_{secrets.token_hex(4)}_"

    def __getattr__(self, name: str) -> Any:
        # Called only for what this class does not define: the Store's other methods.
        return getattr(self._store, name)

    def table(self, name: str) -> ir.Table:
        """A held step, a data table's Spark copy, a state table copied to Spark, or
        (any other name) the Store's table."""
        backend = self._engine.backend
        if name in self._held:
            return backend.table(self._held[name].view)
        if name in DATA_TABLES:
            return backend.table(name, database=self._engine.database)
        if name in STATE_TABLES:
            return self.hold(name, self._store.table(name).to_pyarrow())
        return self._store.table(name)

    def hold(self, name: str, rows: ir.Table | pd.DataFrame | pa.Table) -> ir.Table:
        """Compute ``rows`` once on Spark and keep them as the held step ``name``.

        Parameters
        ----------
        name : str
            The step's name, read back by :meth:`table`.
        rows : ibis.Table, pandas.DataFrame or pyarrow.Table
            An expression on Spark's tables, or rows from Python.

        Returns
        -------
        ibis.Table
            The held step.
        """
        session = self._engine.session
        if isinstance(rows, ir.Table):
            backend = self._engine.backend
            # What Ibis does before it runs an expression: register the literal tables
            # and the Python functions (JSON unwrapping) it reads. (No public method
            # gives a Spark DataFrame of an expression.)
            backend._run_pre_execute_hooks(rows)
            frame = _typed(session.sql(backend.compile(rows)), rows.schema())
            self._keep(name, frame)
            self._forget_literals(rows)
        else:
            arrow = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows)
            arrow = arrow.drop_columns(
                [c for c in arrow.column_names if c.startswith("__index_level")]
            )
            schema = spark_schema(ibis.Schema.from_pyarrow(arrow.schema))
            self._keep(name, session.createDataFrame(arrow, schema=schema))
        return self.table(name)

    def hold_pages(
        self,
        name: str,
        rows: ir.Table,
        score: Callable[[pd.DataFrame], pd.DataFrame],
        schema: pa.Schema,
        *,
        page: int | None = None,
    ) -> ir.Table:
        """Hold ``score`` of ``rows``, about ``page`` rows at a time, as step ``name``
        (see :meth:`cible.store.store.Store.hold_pages`): each page of input comes from
        Spark to Python, and its scores go back to Spark, where they are kept.

        Parameters
        ----------
        name : str
            The step's name.
        rows : ibis.Table
            The rows to score, with a ``customer_id`` column.
        score : callable
            From a pandas page of ``rows`` to the rows to keep, with ``schema``'s columns.
        schema : pyarrow.Schema
            The columns ``score`` returns.
        page : int, optional
            Rows a page (default :data:`cible.store.store.PAGE_ROWS`).

        Returns
        -------
        ibis.Table
            The held scores.
        """
        session = self._engine.session
        typed = spark_schema(ibis.Schema.from_pyarrow(schema))
        source = self.hold(f"{name}_pages", rows)
        pieces: list[tuple[Any, frozenset[int]]] = []
        try:
            for chosen in pages_of(source, page or PAGE_ROWS):
                scored = score(chosen.to_pandas())
                arrow = pa.Table.from_pandas(scored, schema=schema, preserve_index=False)
                pieces.append(self._checkpoint(session.createDataFrame(arrow, schema=typed)))
            frame = session.createDataFrame([], schema=typed)
            for piece, _ in pieces:
                frame = frame.unionByName(piece)
            self._keep(name, frame)
        finally:
            # The pages are in the step now (or the step failed): let Spark free them.
            self.drop_held(f"{name}_pages")
            for _, rdds in pieces:
                self._release(rdds)
        return self.table(name)

    def drop_held(self, *names: str) -> None:
        """Let Spark forget held steps nothing reads any more: their views and blocks."""
        for name in names:
            held = self._held.pop(name, None)
            if held is not None:
                self._engine.session.catalog.dropTempView(held.view)
                self._release(held.rdds)

    def commit_run(self, *, traits: str, members: ir.Table, **rest: Any) -> runs.RunRecord:
        """Bring the held traits and memberships into the Store, then
        :meth:`~cible.store.store.Store.commit_run` there."""
        self._bring("_traits", self.table(traits))
        self._bring("_run_members", self.hold("_run_members", members))
        return self._store.commit_run(
            traits="_traits", members=self._store.table("_run_members"), **rest
        )

    def close(self) -> None:
        """Drop every step held on Spark."""
        self.drop_held(*list(self._held))

    def _keep(self, name: str, frame: Any) -> None:
        self.drop_held(name)
        kept, rdds = self._checkpoint(frame)
        view = self._prefix + name
        kept.createOrReplaceTempView(view)
        self._held[name] = _Held(view, rdds)

    def _checkpoint(self, frame: Any) -> tuple[Any, frozenset[int]]:
        """``frame`` computed now and kept by Spark, and the ids of the blocks (RDDs)
        keeping it: ``unpersist`` of a checkpointed frame frees nothing, so they are
        released by id (:meth:`_release`)."""
        persistent = self._engine.session.sparkContext._jsc.getPersistentRDDs()
        before = set(persistent.keySet())
        kept = frame.localCheckpoint(eager=True)
        after = set(self._engine.session.sparkContext._jsc.getPersistentRDDs().keySet())
        return kept, frozenset(after - before)

    def _release(self, rdds: frozenset[int]) -> None:
        persistent = self._engine.session.sparkContext._jsc.getPersistentRDDs()
        for rdd in rdds:
            found = persistent.get(rdd)
            if found is not None:
                found.unpersist(True)

    def _forget_literals(self, rows: ir.Table) -> None:
        """Drop the views of the literal tables ``rows`` read (long lists, samples),
        which Ibis keeps until the process ends: the held step holds their rows."""
        backend = self._engine.backend
        for literal in rows.op().find(ops.InMemoryTable):
            self._engine.session.catalog.dropTempView(literal.name)
            # So that Ibis registers it again should another expression read it.
            backend._memtables.discard(literal)

    def _bring(self, name: str, held: ir.Table) -> None:
        """Copy held step ``held`` into the Store's temporary table ``name``, a page at
        a time."""
        con = self._store.connection
        runs.stage_frame(con, name, held.schema().to_pyarrow().empty_table())
        for chosen in pages_of(held, PAGE_ROWS):
            runs.append_frame(con, name, chosen.to_pyarrow())


@contextmanager
def spark_run(store: Store, engine: SparkEngine) -> Iterator[SparkRun]:
    """A :class:`SparkRun` on ``store``, its held steps dropped when the block ends."""
    run = SparkRun(store, engine)
    try:
        yield run
    finally:
        run.close()


def pages_of(table: ir.Table, page: int, key: str = PAGE_KEY) -> Iterator[ir.Table]:
    """``table`` in parts of about ``page`` rows, split by the hash of column ``key``.

    No sort and no numbering, which Spark would do on one core; a customer's rows
    are all in one part. Each part is a filter of ``table``, which should be held.

    Parameters
    ----------
    table : ibis.Table
        The rows.
    page : int
        About how many rows a part holds.
    key : str
        The column the parts are split by.

    Yields
    ------
    ibis.Table
        Each part; none for a table without rows.
    """
    total = int(table.count().to_pyarrow().as_py())
    if total == 0:
        return
    parts = math.ceil(total / page)
    if parts == 1:
        yield table
        return
    hashed = table[key].hash()
    for part in range(parts):
        yield table.filter(((hashed % parts) + parts) % parts == part)


def _typed(frame: Any, schema: ibis.Schema) -> Any:
    """``frame`` with the column types of ``schema``: Spark reads a literal such as
    ``86400.0`` as a decimal where Ibis, and the Store, expect a double."""
    wanted = spark_schema(schema)
    if frame.schema == wanted:
        return frame
    return frame.select(
        *[
            frame[field.name]
            if frame.schema[field.name].dataType == field.dataType
            else frame[field.name].cast(field.dataType).alias(field.name)
            for field in wanted.fields
        ]
    )

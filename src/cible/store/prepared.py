"""Steps compiled once and run again at another moment: the plan of a live refresh.

Compiling Ibis expressions to SQL costs a live refresh more than running them: about
250 ms of Python for the traits and segments of a few customers, against tens of
milliseconds in DuckDB once their rows are held. Two refreshes build the same
expressions but for their ``as_of``, which reaches the SQL only as one timestamp
literal (:func:`cible.features.clock.moment`). So the steps of a first evaluation are
recorded with their SQL (:class:`Recorder`), and later evaluations run that SQL with
the literal replaced (:func:`replay`).

Nothing checks by hand that every use of ``as_of`` goes through that literal: the
steps are recorded twice, at two sentinel moments, and the plan is kept only when the
second recording is the first with the sentinel's literal replaced (:func:`plan_of`).
When a value was computed from ``as_of`` in Python, the two differ elsewhere and the
caller evaluates without a plan.

Examples
--------
>>> import duckdb, ibis
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE t AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) DAY AS at "
...                 "FROM range(10) r(i)")
>>> recordings = []
>>> for sentinel in SENTINELS:
...     recorder = Recorder(con)
...     table = ibis.duckdb.from_connection(con).table("t")
...     moment = ibis.literal(sentinel, "timestamp")
...     recorder.hold("_before", table.filter(table.at < moment - ibis.interval(days=2)))
...     recordings.append(recorder.steps)
>>> plan = plan_of(*recordings)
>>> replay(con, plan, datetime(2024, 1, 6))
>>> con.execute("SELECT count(*) FROM _before").fetchone()
(3,)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import pyarrow as pa

from cible.store.postgres import PostgresConnection, is_postgres
from cible.store.sql import quote

#: The two moments a plan is recorded at; chosen so that no field repeats another.
SENTINELS = (
    datetime(2001, 2, 3, 4, 5, 6, 789012),
    datetime(2002, 3, 4, 5, 6, 7, 890123),
)


@dataclass(frozen=True)
class Step:
    """One temporary table of a plan: its name, its SQL, the literal tables it reads."""

    name: str
    sql: str
    literal_tables: tuple[tuple[str, pa.Table], ...]


@dataclass(frozen=True)
class Plan:
    """Steps recorded at ``SENTINELS[0]``, to be replayed at any moment."""

    steps: tuple[Step, ...]


class Recorder:
    """Holds expressions as temporary tables, as :meth:`Store.hold` does, and keeps their SQL."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.steps: list[Step] = []

    def hold(self, name: str, expr: Any) -> None:
        """Compute ``expr`` into temporary table ``name`` and record the step."""
        sql = _compiled(self.con, expr)
        tables = []
        for n, op in enumerate(expr.op().find(ops.InMemoryTable)):
            # Ibis names literal tables at random: renamed by their place, two
            # recordings of the same steps read the same names.
            stable = f"_literal_{len(self.steps)}_{n}"
            sql = sql.replace(op.name, stable)
            tables.append((stable, op.data.to_pyarrow(op.schema)))
        step = Step(name, sql, tuple(tables))
        _run(self.con, step, step.sql)
        self.steps.append(step)


def plan_of(first: Sequence[Step], second: Sequence[Step]) -> Plan | None:
    """The plan of two recordings at :data:`SENTINELS`, or None when they differ otherwise.

    They must hold the same tables in the same order, with the same literal tables,
    and the second's SQL must be the first's with the sentinel moment replaced.
    """
    if [s.name for s in first] != [s.name for s in second]:
        return None
    for one, other in zip(first, second, strict=True):
        if _substitute(one.sql, SENTINELS[0], SENTINELS[1]) != other.sql:
            return None
        pairs = list(zip(one.literal_tables, other.literal_tables, strict=False))
        if len(one.literal_tables) != len(other.literal_tables) or not all(
            a_name == b_name and a.equals(b) for (a_name, a), (b_name, b) in pairs
        ):
            return None
    return Plan(tuple(first))


def replay(con: duckdb.DuckDBPyConnection, plan: Plan, as_of: datetime) -> None:
    """Hold every step of ``plan`` again, at ``as_of`` (naive UTC)."""
    for step in plan.steps:
        _run(con, step, _substitute(step.sql, SENTINELS[0], as_of))


def _compiled(con: duckdb.DuckDBPyConnection, expr: Any) -> str:
    if is_postgres(con):
        return cast(PostgresConnection, con).compile(expr)
    return str(ibis.to_sql(expr, dialect="duckdb", pretty=False))


def _run(con: duckdb.DuckDBPyConnection, step: Step, sql: str) -> None:
    for table_name, rows in step.literal_tables:
        con.register(table_name, rows)
    try:
        if is_postgres(con):
            # Compiled for PostgreSQL by Ibis: run as it is, not translated.
            cast(PostgresConnection, con).create_temporary(step.name, sql)
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(step.name)} AS {sql}")
    finally:
        for table_name, _ in step.literal_tables:
            con.unregister(table_name)


def _substitute(sql: str, old: datetime, new: datetime) -> str:
    """``sql`` with every spelling of moment ``old`` replaced by ``new``'s."""
    for before, after in zip(_spellings(old), _spellings(new), strict=True):
        sql = sql.replace(before, after)
    return sql


@functools.lru_cache(maxsize=16)
def _spellings(moment: datetime) -> tuple[str, ...]:
    """How a moment appears in compiled SQL: as a naive and a UTC timestamp literal
    (in DuckDB's and PostgreSQL's dialects), and in the column names Ibis derives from
    an expression (the ``repr`` of the datetime, without its closing parenthesis so
    that a time zone may follow)."""
    return (
        *(
            _literal_sql(literal, dialect)
            for dialect in ("duckdb", "postgres")
            for literal in (
                ibis.literal(moment, dt.timestamp),
                ibis.literal(moment.replace(tzinfo=UTC), dt.Timestamp(timezone="UTC")),
            )
        ),
        repr(moment)[:-1],
    )


def _literal_sql(literal: Any, dialect: str) -> str:
    sql = ibis.to_sql(literal.name("x"), dialect=dialect, pretty=False)
    return str(sql).removeprefix("SELECT ").removesuffix(' AS "x"')

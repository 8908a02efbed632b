"""Connecting to the engines Cible's expressions run on: DuckDB, PostgreSQL, Spark.

Traits, scores and segments are Ibis expressions, so one expression runs on every
backend Ibis supports (DESIGN.md section 2). :func:`connect_engine` turns an
address into an Ibis backend whose clock is UTC, like the workspace's own DuckDB
(:mod:`cible.store.backend`):

- ``duckdb`` (an in-memory database) or ``duckdb:///path/to/file.duckdb``;
- ``postgres://user:password@host:port/database`` (or ``postgresql://``), with an
  optional schema as a second path segment (``.../database/schema``) and libpq
  settings as query parameters (``?sslmode=require``);
- ``spark`` (local mode on every core), ``spark://local[N]`` (local mode on ``N``
  cores) or a Spark master URL (``spark://host:7077``, ``yarn``, ``k8s://...``).

:func:`load_table` copies a pyarrow or pandas table into a backend under a name.

Two Ibis 12 backends get a correction here, where the engine is known, so that the
expressions above ``store/`` stay the same for every engine:

- PostgreSQL: Ibis reads a JSON value as text with ``json_extract_path_text(value,
  VARIADIC ARRAY[]::TEXT[])``, which sqlglot 30.16 and later rewrite into the invalid
  ``value ->> VARIADIC ARRAY[]::TEXT[]``; the call is kept as written. Its clean-up
  of literal tables (``DROP TABLE IF EXISTS`` without the table's name, from the
  same sqlglot) is written out here too.
- Spark: Ibis reads ``properties['key']`` with ``get_json_object``, which returns a
  string value without its quotes, so that its own JSON unwrapping (``.str``,
  ``unwrap_as``) fails on every string value and a value cast to text differs from
  the other engines. The key is read as JSON text instead (Spark 4's variant type:
  ``to_json(try_variant_get(try_parse_json(value), path))``), strings quoted as on
  DuckDB and PostgreSQL.

Examples
--------
>>> import pyarrow as pa
>>> engine = connect_engine("duckdb")
>>> orders = load_table(engine, "orders", pa.table({"order_id": ["o1", "o2"]}))
>>> orders.count().execute()
2
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import ibis
import pandas as pd
import pyarrow as pa

from cible.domain.errors import WorkspaceError
from cible.store.backend import connect as connect_duckdb
from cible.store.sql import quote

#: URL schemes of PostgreSQL servers.
POSTGRES_SCHEMES = ("postgres", "postgresql")
#: Spark master URL schemes besides ``spark`` (``local`` without a scheme, too).
SPARK_MASTERS = ("yarn", "k8s", "mesos", "local")
#: Shuffle partitions per core of a local session: Spark's default of 200 spreads a
#: few thousand rows over 200 tasks, each costing more to schedule than to compute.
_LOCAL_PARTITIONS_PER_CORE = 2
_APP_NAME = "cible"
_PORT = 5432
_MICROSECONDS = 1_000_000.0


def connect_engine(url: str, *, spark_settings: Mapping[str, str] | None = None) -> Any:
    """Return an Ibis backend on the engine ``url`` names, with its clock in UTC.

    Parameters
    ----------
    url : str
        ``duckdb`` or ``duckdb:///path``; ``postgres://...`` or ``postgresql://...``;
        ``spark``, ``spark://local[N]`` or a Spark master URL (see the module).
    spark_settings : mapping of str to str, optional
        Spark settings for a new session (``spark.sql.warehouse.dir``...), on top of
        Cible's and those of ``spark-defaults.conf``.

    Returns
    -------
    ibis.BaseBackend
        A DuckDB, PostgreSQL or PySpark backend. A Spark session already active in
        this process is reused (Spark holds one per process) and set to UTC.

    Raises
    ------
    WorkspaceError
        In one sentence, when the scheme is unknown, PostgreSQL cannot be reached or
        refuses the login, or pyspark or Java is missing.

    Examples
    --------
    >>> connect_engine("duckdb").name
    'duckdb'
    >>> connect_engine("mysql://localhost/shop")
    Traceback (most recent call last):
    ...
    cible.domain.errors.WorkspaceError: Unknown engine 'mysql://localhost/shop': use duckdb, duckdb:///path, postgres://..., spark or spark://local[N].
    """  # noqa: E501
    scheme = url.split(":", 1)[0].lower()
    if scheme == "duckdb":
        return _duckdb(url)
    if scheme in POSTGRES_SCHEMES:
        return _postgres(url)
    if scheme == "spark" or scheme in SPARK_MASTERS or scheme.startswith("local["):
        return _spark(url, spark_settings or {})
    raise WorkspaceError(
        f"Unknown engine {url!r}: use duckdb, duckdb:///path, postgres://..., spark "
        "or spark://local[N]."
    )


def load_table(
    backend: Any, name: str, data: pa.Table | pd.DataFrame, *, schema: Any = None
) -> Any:
    """Write ``data`` into ``backend`` as table ``name``, replacing any table of that name.

    Parameters
    ----------
    backend : ibis.BaseBackend
        A backend from :func:`connect_engine`.
    name : str
        The table's name, in the backend's current database (or schema).
    data : pyarrow.Table or pandas.DataFrame
        The rows.
    schema : ibis.Schema or mapping, optional
        The columns and their types, when they are not the data's own: a JSON column
        comes out of Arrow as text and is declared ``json`` here (Spark, without a
        JSON type, keeps it as text, which Cible's JSON expressions read alike).

    Returns
    -------
    ibis.Table
        The stored table.

    Examples
    --------
    >>> import pyarrow as pa
    >>> engine = connect_engine("duckdb")
    >>> rows = pa.table({"customer_id": ["a", "b"], "properties": ['{"x": 1}', None]})
    >>> events = load_table(
    ...     engine, "events", rows, schema={"customer_id": "string", "properties": "json"}
    ... )
    >>> events.schema()["properties"].is_json()
    True
    >>> events.properties["x"].unwrap_as("int64").sum().execute()
    1
    """
    if isinstance(data, pd.DataFrame):
        data = pa.Table.from_pandas(data, preserve_index=False)
    types = ibis.schema(schema) if schema is not None else ibis.Schema.from_pyarrow(data.schema)
    loader = _LOADERS.get(backend.name)
    if loader is None:
        raise WorkspaceError(f"Cible cannot load tables into a {backend.name} engine.")
    loader(backend, name, data.select(list(types.names)), types)
    return backend.table(name)


# Engines ---------------------------------------------------------------------------


def _duckdb(url: str) -> Any:
    # duckdb:///tmp/x.duckdb is an absolute path, duckdb://x.duckdb a relative one.
    path = url.split("://", 1)[1] if "://" in url else ""
    return connect_duckdb(Path(path or ":memory:"))


def _postgres(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise WorkspaceError(
            "PostgreSQL needs the psycopg package: pip install 'cible[postgres]'."
        ) from None
    parts = urlsplit(url)
    try:
        return _compatible_postgres()._from_url(parts, **dict(parse_qsl(parts.query)))
    except psycopg.OperationalError as exc:
        # libpq says 'connection to server at "h", port p failed: REASON', then hints.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = first.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
        raise WorkspaceError(
            f"Cannot connect to PostgreSQL at {parts.hostname or 'localhost'}:"
            f"{parts.port or _PORT}: {reason}."
        ) from None


def _spark(url: str, settings: Mapping[str, str]) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WorkspaceError(
            "Spark needs the pyspark package: pip install 'cible[spark]'."
        ) from None
    session = SparkSession.getActiveSession()
    if session is None:
        require_java()
        master = spark_master(url)
        builder = SparkSession.builder.master(master).appName(_APP_NAME)
        for key, value in {**spark_session_settings(master), **settings}.items():
            builder = builder.config(key, value)
        if master.startswith("local") and "spark.sql.warehouse.dir" not in settings:
            # Tables would otherwise go to ./spark-warehouse and outlive the session's
            # in-memory catalogue: the next process could not write one of that name.
            warehouse = tempfile.mkdtemp(prefix="cible-spark-")
            builder = builder.config("spark.sql.warehouse.dir", warehouse)
            # Copies of customers' data must not outlive the process in /tmp.
            atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
        if master.startswith("local"):
            # Python functions Ibis registers (JSON unwrapping) run in workers started
            # on this machine; PySpark starts them with $PYSPARK_PYTHON, else the
            # first python3 on the PATH, which may lack pandas and pyarrow.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        session = builder.getOrCreate()
    # Ibis sets the session's time zone to UTC as it connects: timestamps are then
    # read and written as UTC whatever the machine's zone.
    return _compatible_spark().connect(session)


def spark_master(url: str) -> str:
    """The Spark master of an engine address.

    Examples
    --------
    >>> spark_master("spark"), spark_master("spark://local[2]"), spark_master("yarn")
    ('local[*]', 'local[2]', 'yarn')
    >>> spark_master("spark://10.0.0.5:7077")
    'spark://10.0.0.5:7077'
    """
    if url.lower() == "spark":
        return "local[*]"
    if url.lower().startswith("spark://local"):
        return url[len("spark://") :]
    return url


def spark_session_settings(master: str) -> dict[str, str]:
    """Cible's settings of a new Spark session on ``master``: UTC, no web UI and, in
    local mode, the driver on the loopback and few shuffle partitions.

    Examples
    --------
    >>> settings = spark_session_settings("local[2]")
    >>> settings["spark.sql.session.timeZone"], settings["spark.sql.shuffle.partitions"]
    ('UTC', '4')
    >>> "spark.driver.bindAddress" in spark_session_settings("spark://10.0.0.5:7077")
    False
    """
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if master.startswith("local"):
        # local, local[N], local[*] and local[N, retries]: the cores come first.
        inside = master[len("local[") : -1] if master.startswith("local[") else "1"
        first = inside.split(",")[0].strip()
        cores = (os.cpu_count() or 1) if first in ("*", "") else int(first)
        settings |= {
            # A local session is reached from this machine only.
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.sql.shuffle.partitions": str(cores * _LOCAL_PARTITIONS_PER_CORE),
            "spark.default.parallelism": str(cores),
        }
    return settings


def require_java() -> None:
    """Refuse with how to install it when Java, which Spark runs on, is missing."""
    home = os.environ.get("JAVA_HOME")
    found = Path(home, "bin", "java").exists() if home else shutil.which("java") is not None
    if not found:
        raise WorkspaceError(
            "Spark needs Java 17 or later: install it (apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME."
        )


# Loading ---------------------------------------------------------------------------


def _load_duckdb(backend: Any, name: str, arrow: pa.Table, types: Any) -> None:
    # Ibis's own replacement (create_table(overwrite=True)) drops the old table with
    # a statement recent sqlglot writes without the table's name.
    con = backend.con
    staged = f"_load_{name}"
    con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    backend.create_table(name, schema=types)
    con.register(staged, arrow)
    try:
        con.execute(f"INSERT INTO {quote(name)} SELECT * FROM {quote(staged)}")
    finally:
        con.unregister(staged)


def _load_postgres(backend: Any, name: str, arrow: pa.Table, types: Any) -> None:
    con = backend.con
    columns = ", ".join(quote(column) for column in types.names)
    with con.transaction(), con.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    backend.create_table(name, schema=types)
    # COPY streams every row in one statement, where INSERTs cost a round trip each.
    statement = f"COPY {quote(name)} ({columns}) FROM STDIN"
    with con.transaction(), con.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in arrow.to_batches(max_chunksize=10_000):
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                copy.write_row(row)


def _load_spark(backend: Any, name: str, arrow: pa.Table, types: Any) -> None:
    from ibis.backends.pyspark.datatypes import PySparkSchema

    # Straight from Arrow: through pandas 3, a missing string arrives as "NaN".
    frame = backend._session.createDataFrame(arrow, schema=PySparkSchema.from_ibis(types))
    frame.write.saveAsTable(name, mode="overwrite")


_LOADERS: dict[str, Callable[[Any, str, pa.Table, Any], None]] = {
    "duckdb": _load_duckdb,
    "postgres": _load_postgres,
    "pyspark": _load_spark,
}


# Corrected Ibis backends (see the module) -------------------------------------------


def _compatible_postgres() -> Any:
    return _postgres_class()()


def _compatible_spark() -> Any:
    return _spark_class()()


@cache
def _postgres_class() -> type:
    import ibis.expr.datatypes as dt
    import ibis.expr.operations as ops
    import sqlglot.expressions as sge
    from ibis.backends.postgres import Backend
    from ibis.backends.sql.compilers.postgres import PostgresCompiler

    class Compiler(PostgresCompiler):  # type: ignore[misc]
        # Ibis maps Arbitrary to a first() PostgreSQL lacks; visit_Arbitrary below.
        SIMPLE_OPS: ClassVar[dict[Any, str]] = {
            op: name for op, name in PostgresCompiler.SIMPLE_OPS.items() if op is not ops.Arbitrary
        }

        def visit_Divide(self, op: Any, *, left: Any, right: Any) -> Any:  # noqa: N802
            # Ibis divides exactly; PostgreSQL divides integers by integers into an
            # integer (1 / 3 = 0). sqlglot casts the left side to a float only when
            # it cannot tell the operands' types, not for a column of a subquery it
            # has typed as an integer (a count divided by a count: 0.0 everywhere).
            if op.left.dtype.is_integer() and op.right.dtype.is_integer():
                left = self.cast(left, dt.float64)
            return sge.Div(this=sge.Paren(this=left), expression=sge.Paren(this=right))

        def visit_Cast(self, op: Any, *, arg: Any, to: Any) -> Any:  # noqa: N802
            # PostgreSQL casts a boolean to an INTEGER only: through it to a BIGINT
            # (a count written as a sum of conditions cast to integers).
            if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
                arg = sge.Cast(this=arg, to=sge.DataType.build("INT"))
            return super().visit_Cast(op, arg=arg, to=to)

        def visit_NonNullLiteral(self, op: Any, *, value: Any, dtype: Any) -> Any:  # noqa: N802
            # A float written as is (0.0) is a NUMERIC in PostgreSQL, which comes back
            # as a Decimal that Arrow refuses in a float column: typed as a double.
            found = super().visit_NonNullLiteral(op, value=value, dtype=dtype)
            if found is None and dtype.is_floating():
                # None: the default form, which writes NaN and infinities as casts.
                found = self.visit_DefaultLiteral(op, value=value, dtype=dtype)
                if not isinstance(found, sge.Cast):
                    found = self.cast(found, dtype)
            return found

        def visit_Arbitrary(self, op: Any, *, arg: Any, where: Any) -> Any:  # noqa: N802
            # Ibis 12 calls first() and last() aggregates PostgreSQL does not have:
            # the first value of an ordered array aggregate, NULLs left out.
            return self._first_of(arg, where, [])

        def visit_First(self, op: Any, **kw: Any) -> Any:  # noqa: N802
            return self._first_or_last(op, last=False, **kw)

        def visit_Last(self, op: Any, **kw: Any) -> Any:  # noqa: N802
            return self._first_or_last(op, last=True, **kw)

        def _first_or_last(
            self, op: Any, *, last: bool, arg: Any, where: Any, order_by: Any, include_null: bool
        ) -> Any:
            if include_null:
                parent = super().visit_Last if last else super().visit_First
                return parent(
                    op, arg=arg, where=where, order_by=order_by, include_null=include_null
                )
            order = list(order_by or [])
            if last:  # the last one is the first in the reverse order
                order = [
                    sge.Ordered(this=o.this, desc=not o.args.get("desc"), nulls_first=False)
                    for o in order
                ]
            return self._first_of(arg, where, order)

        def _first_of(self, arg: Any, where: Any, order_by: list[Any]) -> Any:
            kept = arg.is_(sge.Not(this=sge.Null()))
            where = kept if where is None else sge.And(this=kept, expression=where)
            values = self.agg.array_agg(arg, where=where, order_by=order_by or None)
            # sqlglot counts from 0 and writes PostgreSQL's first element, [1].
            return sge.Bracket(this=sge.Paren(this=values), expressions=[sge.convert(0)])

        def visit_HexDigest(self, op: Any, *, arg: Any, how: str) -> Any:  # noqa: N802
            # Ibis 12 has no PostgreSQL rule: the digest of the text's UTF-8 bytes in
            # hexadecimal, as DuckDB's sha256 gives it (an import's suppression list).
            if how not in ("md5", "sha256", "sha512"):
                raise NotImplementedError(f"hexdigest({how!r}) on PostgreSQL")
            data = arg if op.arg.dtype.is_binary() else self.f.convert_to(arg, "UTF8")
            if how == "md5":
                return self.f.md5(data)
            return self.f.encode(self.f.anon[how](data), "hex")

        def json_extract_path_text(self, op: Any, arg: Any, *rest: Any) -> Any:
            binary = "b" * op.arg.dtype.binary
            # An anonymous call: sqlglot writes it as is, never as an operator.
            function = self.f.anon[f"json{binary}_extract_path_text"]
            return function(arg, *rest, sge.Var(this="VARIADIC ARRAY[]::TEXT[]"))

    class Postgres(Backend):  # type: ignore[misc]
        compiler = Compiler()

        def _make_memtable_finalizer(self, name: str) -> Callable[[], None]:
            statement = f"DROP TABLE IF EXISTS {quote(name)}"

            def finalizer(con: Any = self.con) -> None:
                if not con.closed:
                    with con.cursor() as cursor:
                        cursor.execute(statement)

            return finalizer

    return Postgres


@cache
def _spark_class() -> type:
    import ibis.expr.datatypes as dt
    import sqlglot.expressions as sge
    from ibis.backends.pyspark import Backend
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    class Compiler(PySparkCompiler):  # type: ignore[misc]
        def visit_JSONGetItem(self, op: Any, *, arg: Any, index: Any) -> Any:  # noqa: N802
            key = getattr(op.index, "value", None)
            if isinstance(key, str) and ("'" in key or "]" in key):
                # Spark's variant paths cannot quote these: refused, not misread.
                raise WorkspaceError(f"Spark cannot read the JSON key {key!r} (a quote or ']').")
            layout = "$[%s]" if op.index.dtype.is_integer() else "$['%s']"
            value = self.f.try_variant_get(
                self.f.try_parse_json(arg), self.f.format_string(layout, index)
            )
            return self.f.to_json(value)

        def visit_ExtractEpochSeconds(self, op: Any, *, arg: Any) -> Any:  # noqa: N802
            # unix_timestamp drops the fraction of a second; DuckDB and PostgreSQL,
            # whose epoch every duration in features/ is computed from, keep it.
            utc = self.cast(arg, dt.Timestamp(timezone="UTC"))
            return self.f.unix_micros(utc) / sge.convert(_MICROSECONDS)

    class Spark(Backend):  # type: ignore[misc]
        compiler = Compiler()

    if getattr(ibis.options, "pyspark", None) is None:
        # Ibis registers a backend's options (ibis.options.pyspark) as it loads it.
        Spark.register_options()
    return Spark

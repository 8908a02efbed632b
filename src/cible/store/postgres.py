"""The Store's statements on PostgreSQL: DuckDB's connection, as the Store uses it.

The Store's modules write DuckDB's dialect and call a handful of methods of DuckDB's
Python connection (``execute`` with ``?`` parameters, ``fetchall``, ``register`` of
Arrow or pandas frames, ``executemany``). :class:`PostgresConnection` offers those
methods on a psycopg connection, so that one text of each statement serves both
engines instead of a copy per engine:

- each statement is parsed in DuckDB's dialect and written in PostgreSQL's by sqlglot
  (the library Ibis compiles with), once per distinct text (:func:`translate`);
- what sqlglot leaves as DuckDB's is rewritten on the parsed statement: ``rowid``
  becomes ``ctid`` (a row's identity within a statement); DuckDB's catalog functions
  (``duckdb_tables()``, ``duckdb_columns()``, ``duckdb_indexes()``) queries of
  PostgreSQL's catalog with the same column names; ``temp.`` names ``pg_temp.``;
  ``CREATE OR REPLACE TABLE`` a table made under another name that then takes the old
  one's place (it may read the table it replaces); ``DESCRIBE`` a catalog query;
  ``GROUP BY ALL`` and ``ORDER BY ALL`` column positions; ``contains`` a ``strpos``,
  ``suffix`` a ``right``, ``list_contains`` an ``= ANY``, ``arg_max`` the first of an
  ordered ``array_agg``, ``sha256`` a hash of the text's UTF-8 bytes; an unnamed
  subquery gets a name; DuckDB's own settings (``SET threads``) do nothing; and a
  stored ``JSON`` column is ``TEXT`` (DuckDB's JSON is text and the Store writes it
  from text; what reads it casts it);
- parameters are sent as PostgreSQL's ``$1, $2`` through psycopg's raw cursor, so a
  ``%`` in a literal (``LIKE '%x'``) needs no escaping;
- a registered frame becomes a temporary table filled by ``COPY``, which the Store
  drops when it unregisters it, as DuckDB drops its view.

Examples
--------
>>> print(translate("SELECT rowid FROM t WHERE contains(name, ?) AND kind = ?"))
SELECT ctid FROM t WHERE STRPOS(name, $1) > 0 AND kind = $2
>>> print(translate("CREATE OR REPLACE TEMP TABLE _x AS FROM _x WHERE n > 1"))
DROP TABLE IF EXISTS _x__replacing;
CREATE TEMPORARY TABLE _x__replacing AS SELECT * FROM _x WHERE n > 1;
DROP TABLE IF EXISTS pg_temp._x;
ALTER TABLE _x__replacing RENAME TO "_x"
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from cible.store.engines import connect_engine

#: DuckDB's catalog functions, as queries of PostgreSQL's catalog giving the columns
#: the Store reads (tables of this workspace's schema and of the session's temporary
#: one).
_CATALOG = {
    "duckdb_tables": (
        "SELECT c.relname AS table_name, n.nspname AS schema_name, "
        "'cible' AS database_name, (c.relpersistence = 't') AS temporary, "
        "c.reltuples::BIGINT AS estimated_size "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') "
        "AND (n.nspname = current_schema() OR n.oid = pg_my_temp_schema())"
    ),
    "duckdb_views": (
        "SELECT c.relname AS view_name, (c.relpersistence = 't') AS temporary "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'v' AND (n.nspname = current_schema() OR n.oid = pg_my_temp_schema())"
    ),
    "duckdb_columns": (
        "SELECT c.relname AS table_name, a.attname AS column_name, "
        "format_type(a.atttypid, a.atttypmod) AS data_type, a.attnum AS column_index "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v') "
        "AND (n.nspname = current_schema() OR n.oid = pg_my_temp_schema())"
    ),
    "duckdb_indexes": (
        "SELECT indexname AS index_name, tablename AS table_name, indexdef AS sql "
        "FROM pg_catalog.pg_indexes WHERE schemaname = current_schema()"
    ),
}

#: Settings DuckDB has and PostgreSQL lacks: setting them does nothing there.
_DUCKDB_SETTINGS = frozenset(
    {
        "preserve_insertion_order",
        "threads",
        "memory_limit",
        "enable_progress_bar",
        "temp_directory",
        "temp_file_encryption",
        "checkpoint_threshold",
        "force_mbedtls_unsafe",
        "debug_checkpoint_abort",
        "max_temp_directory_size",
    }
)

#: The membership history's lock (see :func:`hold_history`, :func:`history_turn`).
_HISTORY = "hashtext(current_schema() || '.history')"

_TYPED_PARAMETER = re.compile(r"\?::(\w+(?:\[\])?)")

#: DuckDB's statements that have no meaning on PostgreSQL's server.
_NOTHING = ("CHECKPOINT", "FORCE CHECKPOINT")


def translate(sql: str) -> str:
    """``sql`` in DuckDB's dialect, as PostgreSQL statements (``;``-separated).

    Raises
    ------
    sqlglot.errors.ParseError
        When the text is not DuckDB SQL sqlglot reads (a bug in the store).
    """
    return ";\n".join(statement for statement, _ in translated(sql))


@functools.lru_cache(maxsize=4096)
def translated(sql: str) -> tuple[tuple[str, bool], ...]:
    """``sql`` in DuckDB's dialect, as PostgreSQL statements, each with whether it
    takes the parameters (the statements added around it, a ``DROP``, do not).

    Raises
    ------
    sqlglot.errors.ParseError
        When the text is not DuckDB SQL sqlglot reads (a bug in the store).
    """
    stripped = sql.strip().rstrip(";")
    if stripped.upper() in _NOTHING:
        return ()
    if stripped.upper().startswith("DESCRIBE "):
        return ((_describe(stripped[len("DESCRIBE ") :].strip()), False),)
    # sqlglot reads ``?::BIGINT`` as no cast: the store's parameters with a type.
    stripped = _numbered(_TYPED_PARAMETER.sub(r"CAST(? AS \1)", stripped))
    statements = []
    for parsed in sqlglot.parse(stripped, read="duckdb", error_level=ErrorLevel.RAISE):
        if parsed is None:
            continue
        if isinstance(parsed, exp.Command):
            # sqlglot passes what it cannot read through as text: DuckDB's, not ours.
            raise sqlglot.errors.ParseError(f"Not translated to PostgreSQL: {stripped}")
        statements.extend(_statements(cast(exp.Expression, parsed)))
    return tuple(statements)


def _statements(parsed: exp.Expression) -> list[tuple[str, bool]]:
    if isinstance(parsed, exp.Set) and _sets_duckdb_only(parsed):
        return []
    parsed = _numbered_parameters(_bottom_up(parsed))
    if isinstance(parsed, exp.Create) and parsed.args.get("replace"):
        return _replaced(parsed)
    return [(parsed.sql(dialect="postgres"), parsed.find(exp.Parameter) is not None)]


def _replaced(parsed: exp.Create) -> list[tuple[str, bool]]:
    """``CREATE OR REPLACE``, which PostgreSQL has for views only: the new table is
    made under another name, then takes the old one's place, so that it may read the
    table it replaces (``CREATE OR REPLACE TABLE t AS SELECT ... FROM t``)."""
    parsed.set("replace", False)
    kind = (parsed.kind or "TABLE").upper()
    takes = parsed.find(exp.Parameter) is not None
    if kind != "TABLE":
        return [
            (f"DROP {kind} IF EXISTS {parsed.this.sql(dialect='postgres')}", False),
            (parsed.sql(dialect="postgres"), takes),
        ]
    target = parsed.this.this if isinstance(parsed.this, exp.Schema) else parsed.this
    name = target.name
    fresh = exp.to_identifier(f"{name}__replacing")
    old = target.copy()
    target.set("this", fresh)
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in _properties(parsed))
    if temporary:
        old.set("db", exp.to_identifier("pg_temp"))
        target.set("db", None)
    replaced = old.sql(dialect="postgres")
    return [
        (f"DROP TABLE IF EXISTS {target.sql(dialect='postgres')}", False),
        (parsed.sql(dialect="postgres"), takes),
        (f"DROP TABLE IF EXISTS {replaced}", False),
        (f"ALTER TABLE {target.sql(dialect='postgres')} RENAME TO {_quote(name)}", False),
    ]


def _properties(parsed: exp.Create) -> list[exp.Expression]:
    properties = parsed.args.get("properties")
    return list(properties.expressions) if properties is not None else []


def _sets_duckdb_only(parsed: exp.Set) -> bool:
    names = {
        item.this.this.name.lower()
        for item in parsed.expressions
        if isinstance(item, exp.SetItem) and isinstance(item.this, exp.EQ)
    }
    return bool(names) and names <= _DUCKDB_SETTINGS


def _bottom_up(parsed: exp.Expression) -> exp.Expression:
    """``parsed`` with :func:`_rewrite` applied to every node, children before their
    parent, so that what a rewrite builds from its children is already rewritten."""
    # A pre-order walk lists every node after its ancestors: reversed, before them.
    for node in reversed(list(parsed.walk(bfs=False))):
        new = _rewrite(cast(exp.Expression, node))
        if new is not node:
            if node is parsed:
                parsed = new
            else:
                node.replace(new)
    return parsed


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Select):
        return _group_and_order_by_all(node)
    if isinstance(node, exp.ColumnDef) and _is_json(node.args.get("kind")):
        # Stored JSON is text on PostgreSQL, as DuckDB's JSON is: the Store writes it
        # from text parameters, which PostgreSQL would not cast to JSON unasked; the
        # expressions reading it cast it (the segment language's event properties).
        node.set("kind", exp.DataType.build("TEXT"))
        return node
    if (
        isinstance(node, exp.Subquery)
        and not node.alias
        and isinstance(node.parent, (exp.From, exp.Join))
    ):
        # PostgreSQL (before 16) wants a name for every subquery in FROM.
        named = f"_unnamed_{id(node) % 1_000_000}"
        node.set("alias", exp.TableAlias(this=exp.to_identifier(named)))
        return node
    if isinstance(node, (exp.ArgMax, exp.ArgMin)):
        # DuckDB's arg_max(value, key): the value of the row with the largest key.
        order = "DESC" if isinstance(node, exp.ArgMax) else "ASC"
        value, key = node.this.sql(dialect="postgres"), node.expression.sql(dialect="postgres")
        # Rows whose value or key is NULL left out, as DuckDB leaves them.
        kept = f"{key} IS NOT NULL AND {value} IS NOT NULL"
        first = f"(ARRAY_AGG({value} ORDER BY {key} {order}) FILTER (WHERE {kept}))[1]"
        return cast(exp.Expression, sqlglot.parse_one(first, read="postgres"))
    if isinstance(node, exp.EndsWith) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "suffix"
    ):
        # suffix(text, end): PostgreSQL has starts_with only.
        text, end = (
            (node.this, node.expression)
            if isinstance(node, exp.EndsWith)
            else (
                node.expressions[0],
                node.expressions[1],
            )
        )
        tail = exp.Anonymous(this="right", expressions=[text, exp.Length(this=end.copy())])
        return exp.EQ(this=tail, expression=end)
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)) and not isinstance(
        node.this, exp.Cast
    ):
        # Stored JSON is text here (see the module): read as JSON.
        node.set("this", exp.cast(node.this, "JSON"))
        return node
    if isinstance(node, exp.Struct):
        # DuckDB's struct of named fields (written as JSON by to_json): PostgreSQL
        # builds the JSON object itself.
        pairs: list[exp.Expression] = []
        for field in node.expressions:
            name = field.alias if isinstance(field, exp.Alias) else field.this.name
            value = field.this if isinstance(field, exp.Alias) else field.expression
            pairs.extend([exp.Literal.string(name), value])
        return exp.Anonymous(this="json_build_object", expressions=pairs)
    if isinstance(node, exp.SHA2):
        # PostgreSQL hashes bytes: the text's UTF-8 bytes, as DuckDB hashes them.
        node.set(
            "this",
            exp.Anonymous(this="convert_to", expressions=[node.this, exp.Literal.string("UTF8")]),
        )
        return node
    if isinstance(node, exp.ArrayContains):
        # list_contains(list, x), NULLs in the list ignored as DuckDB does; sqlglot's
        # own form tests ``x IS NULL``, which gives a parameter x no type.
        found = exp.EQ(this=node.expression, expression=exp.Any(this=exp.Paren(this=node.this)))
        return exp.Coalesce(this=found, expressions=[exp.false()])
    if isinstance(node, exp.Contains):
        # DuckDB's contains(text, part): PostgreSQL finds the part's position.
        position = exp.Anonymous(this="strpos", expressions=[node.this, node.expression])
        return exp.GT(this=position, expression=exp.Literal.number(0))
    if isinstance(node, exp.Column) and node.name.lower() == "rowid":
        # A row's identity within a statement: PostgreSQL's physical row address.
        node.set("this", exp.to_identifier("ctid"))
        return node
    if isinstance(node, exp.Table):
        name = node.this
        if isinstance(name, exp.Anonymous) and name.name.lower() in _CATALOG:
            query = sqlglot.parse_one(_CATALOG[name.name.lower()], read="postgres")
            return exp.Subquery(
                this=query,
                alias=node.args.get("alias")
                or exp.TableAlias(this=exp.to_identifier(name.name.lower())),
            )
        if node.db.lower() == "temp":
            node.set("db", exp.to_identifier("pg_temp"))
    return node


def _group_and_order_by_all(select: exp.Select) -> exp.Select:
    """DuckDB's ``GROUP BY ALL`` and ``ORDER BY ALL`` as the column positions they mean:
    every column that aggregates nothing, every column."""
    group = select.args.get("group")
    if isinstance(group, exp.Group) and group.args.get("all"):
        positions = [
            exp.Literal.number(index)
            for index, column in enumerate(select.expressions, start=1)
            if not column.find(exp.AggFunc)
        ]
        select.set("group", exp.Group(expressions=positions))
    order = select.args.get("order")
    if (
        isinstance(order, exp.Order)
        and len(order.expressions) == 1
        and isinstance(order.expressions[0].this, exp.Var)
        and order.expressions[0].this.name.upper() == "ALL"
    ):
        desc = bool(order.expressions[0].args.get("desc"))
        select.set(
            "order",
            exp.Order(
                expressions=[
                    exp.Ordered(this=exp.Literal.number(index), desc=desc, nulls_first=False)
                    for index in range(1, len(select.expressions) + 1)
                ]
            ),
        )
    return select


def _is_json(kind: exp.Expression | None) -> bool:
    return isinstance(kind, exp.DataType) and kind.this in (
        exp.DataType.Type.JSON,
        exp.DataType.Type.JSONB,
    )


def _numbered(sql: str) -> str:
    """``sql`` with each ``?`` outside quotes and comments written ``$1``, ``$2``...
    in the order of the text, the order DuckDB binds them in."""
    out, count, quote, index = [], 0, "", 0
    while index < len(sql):
        char = sql[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif sql.startswith("--", index) or sql.startswith("/*", index):
            closing = "\n" if sql.startswith("--", index) else "*/"
            end = sql.find(closing, index + 2)
            end = len(sql) if end < 0 else end + len(closing)
            out.append(sql[index:end])
            index = end
            continue
        elif char == "?":
            count += 1
            out.append(f"${count}")
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _numbered_parameters(parsed: exp.Expression) -> exp.Expression:
    # ``$1`` as read in DuckDB's dialect, written as PostgreSQL's ``$1`` again.
    def number(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and str(node.args.get("this", "")).isdigit():
            return exp.Parameter(this=exp.Literal.number(int(node.args["this"])))
        if isinstance(node, exp.Is) and isinstance(node.this, exp.Placeholder):
            # ``? IS NULL`` alone gives PostgreSQL no type for the parameter.
            node.set("this", exp.cast(number(node.this), "TEXT"))
        return node

    return parsed.transform(number)


def _describe(name: str) -> str:
    table = exp.to_table(name, dialect="duckdb")
    regclass = exp.Literal.string(table.sql(dialect="postgres")).sql()
    return (
        "SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type "
        "FROM pg_catalog.pg_attribute a "
        f"WHERE a.attrelid = to_regclass({regclass}) "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    )


def connect(url: str) -> Any:
    """An Ibis PostgreSQL backend (Cible's corrected one, see :mod:`.engines`) on the
    schema ``url`` names (``postgres://user@host:port/database/schema``, ``public``
    without one), created when missing, with its clock in UTC.

    Raises
    ------
    WorkspaceError
        When PostgreSQL cannot be reached or refuses the login.
    """
    backend = connect_engine(url)
    schema = schema_of(url)
    con = backend.con
    # Another process may create it at the same moment: then it is there.
    with contextlib.suppress(psycopg.errors.UniqueViolation):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
    con.execute("SELECT set_config('search_path', %s, false)", (_quote(schema),))
    return backend


def shown(url: str) -> str:
    """``url`` without its password, for messages.

    Examples
    --------
    >>> shown("postgres://cible:secret@db:5432/shop/cible")
    'postgres://cible@db:5432/shop/cible'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return parts._replace(netloc=netloc).geturl()


def lost(con: PostgresConnection) -> bool:
    """Whether the connection to PostgreSQL is gone (the server restarted, the
    network dropped it): the Store must be opened again."""
    if con.native.closed or con.native.broken:
        return True
    try:
        con.native.execute("SELECT 1").fetchall()
    except psycopg.OperationalError:
        return True
    return False


def read_only(con: Any) -> bool:
    """Whether ``con`` may not write: a DuckDB file opened read-only (several readers);
    never on PostgreSQL, where every process may write."""
    if isinstance(con, PostgresConnection):
        return False
    mode = con.execute("SELECT current_setting('access_mode')").fetchall()[0][0]
    return bool(mode == "read_only")


def is_postgres(con: object) -> bool:
    """Whether ``con``, the Store's connection, reaches PostgreSQL (else DuckDB)."""
    return isinstance(con, PostgresConnection)


def rewrite_tables(con: PostgresConnection) -> None:
    """Rewrite every table of the workspace's schema into new files (``VACUUM FULL``),
    so that no deleted row (an erased customer's) stays on disk."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name"
    ).fetchall()
    for (name,) in tables:
        # Not translated: VACUUM is PostgreSQL's own statement.
        con.native.execute(f"VACUUM FULL {_quote(name)}")


@contextmanager
def history_turn(con: object, wait: float | None = None) -> Iterator[bool]:
    """See :meth:`cible.store.store.Store.history_turn`; the lock :func:`hold_history`
    takes too, which this session then holds already. With ``wait`` (seconds), gives
    False instead of waiting longer for it."""
    if not isinstance(con, PostgresConnection):
        yield True
        return
    if wait is None:
        con.execute(f"SELECT pg_advisory_lock({_HISTORY})").fetchall()
    elif not _tried(con, f"SELECT pg_try_advisory_lock({_HISTORY})", wait):
        yield False
        return
    try:
        yield True
    finally:
        if not lost(con):
            con.execute(f"SELECT pg_advisory_unlock({_HISTORY})").fetchall()


def _tried(con: PostgresConnection, statement: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not con.execute(statement).fetchall()[0][0]:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def hold_history(con: object) -> None:
    """On PostgreSQL, wait until no other process writes the membership history, and
    keep it to this transaction until it ends; nothing on DuckDB (one writer).

    Runs and live refreshes diff the open memberships and number runs from the last
    one: two servers doing so at once would both enter the same customer, or take the
    same run number. A transaction-scoped advisory lock makes them take turns.
    """
    if isinstance(con, PostgresConnection):
        con.execute(f"SELECT pg_advisory_xact_lock({_HISTORY})")


def leads(con: object, role: str) -> bool:
    """Whether this connection does ``role`` for the workspace (``automations``,
    ``deliveries``): always on DuckDB, its single writer; on PostgreSQL, for the one
    connection holding the role's advisory lock, taken by the first to ask and let go
    when its connection ends (its server stopped or died), so that another takes over.

    Two servers sharing the workspace would otherwise both read a transition not yet
    handled, or a delivery not yet sent, and both act on it.
    """
    if not isinstance(con, PostgresConnection):
        return True
    if role not in con.roles:
        found = con.execute(
            "SELECT pg_try_advisory_lock(hashtext(current_schema() || '.' || ?))", [role]
        ).fetchall()
        if found[0][0]:
            con.roles.add(role)
    return role in con.roles


def schema_of(url: str) -> str:
    """The schema a PostgreSQL address names, ``public`` when it names none.

    Examples
    --------
    >>> schema_of("postgres://localhost/shop/cible"), schema_of("postgres://localhost/shop")
    ('cible', 'public')
    """
    _, _, schema = urlsplit(url).path.lstrip("/").partition("/")
    return schema.strip("/") or "public"


class PostgresConnection:
    """DuckDB's connection methods the Store calls, on a psycopg connection.

    Parameters
    ----------
    backend : ibis.backends.postgres.Backend
        Its psycopg connection in autocommit mode, its ``search_path`` on the
        workspace's schema (as :func:`connect` opens it). Transactions are the Store's ``BEGIN`` and
        ``COMMIT``, as on DuckDB.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._con: psycopg.Connection[Any] = backend.con
        self._cursor: psycopg.RawCursor[Any] | None = None
        self._count: list[tuple[Any, ...]] = []
        #: The roles this connection holds the lock of (see :func:`leads`).
        self.roles: set[str] = set()

    @property
    def native(self) -> psycopg.Connection[Any]:
        """The psycopg connection, for PostgreSQL's own statements (``VACUUM``)."""
        return self._con

    def create_as(self, name: str, expr: Any) -> None:
        """Replace temporary table ``name`` by the rows of Ibis expression ``expr``,
        compiled by Ibis for PostgreSQL (not translated from DuckDB's dialect)."""
        # Ibis creates the literal tables (ibis.memtable) the expression reads, as it
        # does before running one of its own queries.
        self._backend._run_pre_execute_hooks(expr)
        self.create_temporary(name, self.compile(expr))

    def compile(self, expr: Any) -> str:
        """Ibis expression ``expr`` as PostgreSQL's SQL (Cible's corrected compiler)."""
        return str(self._backend.compile(expr))

    def create_temporary(self, name: str, sql: str) -> None:
        """Replace temporary table ``name`` by the rows of ``sql``, PostgreSQL's own."""
        # Made under another name first: ``sql`` may read the table it replaces.
        fresh = _quote(f"{name}__replacing")
        self._con.execute(f"DROP TABLE IF EXISTS pg_temp.{fresh}")
        self._con.execute(f"CREATE TEMPORARY TABLE {fresh} AS {sql}")
        self._con.execute(f"DROP TABLE IF EXISTS pg_temp.{_quote(name)}")
        self._con.execute(f"ALTER TABLE {fresh} RENAME TO {_quote(name)}")

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> PostgresConnection:
        """Run ``sql`` (DuckDB's dialect) with ``parameters``; read with :meth:`fetchall`.

        As on DuckDB, an ``INSERT``, ``UPDATE`` or ``DELETE`` without ``RETURNING``
        gives one row: the number of rows it changed.
        """
        statements = translated(sql)
        cursor = psycopg.RawCursor(self._con)
        values = list(parameters) if parameters else None
        for statement, takes in statements:
            try:
                cursor.execute(statement, values if takes else None, prepare=False)
            except psycopg.Error as exc:
                exc.add_note(f"The statement, translated for PostgreSQL: {statement}")
                raise
        self._take(cursor, statements[-1][0] if statements else "")
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PostgresConnection:
        """Run ``sql`` once per row of parameters."""
        statement = translate(sql)
        cursor = psycopg.RawCursor(self._con)
        cursor.executemany(statement, [list(row) for row in rows])  # one statement
        self._take(cursor, "")
        return self

    def _take(self, cursor: psycopg.RawCursor[Any], statement: str) -> None:
        self._cursor = cursor if cursor.description is not None else None
        changed = statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        self._count = [(cursor.rowcount,)] if self._cursor is None and changed else []

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row of the last statement (none for a statement without rows)."""
        if self._cursor is None:
            rows, self._count = self._count, []
            return rows
        return list(self._cursor.fetchall())

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row of the last statement."""
        if self._cursor is None:
            rows = self.fetchall()
            return rows[0] if rows else None
        return self._cursor.fetchone()

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """Column names of the last statement's rows, as DuckDB gives them."""
        if self._cursor is None or self._cursor.description is None:
            return None
        return [(column.name, column.type_code) for column in self._cursor.description]

    def register(self, name: str, frame: pa.Table | pd.DataFrame) -> None:
        """Make ``frame`` readable as temporary table ``name`` (COPY, see the module)."""
        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        copy_into(self._con, name, table, temporary=True)

    def unregister(self, name: str) -> None:
        """Drop what :meth:`register` made."""
        self._con.execute(f"DROP TABLE IF EXISTS pg_temp.{_quote(name)}")

    def close(self) -> None:
        """Close the psycopg connection."""
        self._con.close()


def copy_into(
    con: psycopg.Connection[Any],
    name: str,
    rows: pa.Table | pa.RecordBatchReader,
    *,
    temporary: bool,
) -> None:
    """Create ``name`` with the columns of ``rows`` (replacing it) and ``COPY`` them
    in, a batch at a time (a reader's batches are not all in memory at once)."""
    columns = ", ".join(f"{_quote(f.name)} {pg_type(f.type)}" for f in rows.schema)
    where = "pg_temp." if temporary else ""
    con.execute(f"DROP TABLE IF EXISTS {where}{_quote(name)}")
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    con.execute(f"CREATE {kind} {_quote(name)} ({columns})")
    batches = rows.to_batches(max_chunksize=_BATCH) if isinstance(rows, pa.Table) else rows
    names = ", ".join(_quote(f.name) for f in rows.schema)
    as_csv = all(_csv_writable(f.type) for f in rows.schema)
    # COPY streams every row in one statement, where INSERTs cost a round trip each;
    # Arrow writes the CSV in C++, three to four times faster than psycopg's rows.
    options = " (FORMAT csv)" if as_csv else ""
    statement = f"COPY {_quote(name)} ({names}) FROM STDIN{options}"
    with con.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in batches:
            if as_csv:
                text = io.BytesIO()
                # Unquoted empty fields are NULLs, quoted ones empty strings, as PostgreSQL
                # reads them; floats' nan and inf it reads too.
                pa_csv.write_csv(batch, text, _CSV)
                copy.write(text.getvalue())
                continue
            values = [column.to_pylist() for column in batch.columns]
            for row in zip(*values, strict=True):
                copy.write_row(row)


#: Rows sent at once by :func:`copy_into`.
_BATCH = 50_000
_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _csv_writable(arrow: pa.DataType) -> bool:
    # Lists and bytes have no CSV form PostgreSQL reads: they go row by row.
    nested = pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_struct(arrow)
    binary = pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow)
    return not (nested or binary or pa.types.is_null(arrow))


def pg_type(arrow: pa.DataType) -> str:
    """The PostgreSQL column type holding an Arrow column of type ``arrow``."""
    if pa.types.is_boolean(arrow):
        return "BOOLEAN"
    if pa.types.is_integer(arrow):
        return "BIGINT"
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMPTZ" if arrow.tz else "TIMESTAMP"
    if pa.types.is_date(arrow):
        return "DATE"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return "BYTEA"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return pg_type(arrow.value_type) + "[]"
    if pa.types.is_null(arrow):
        return "TEXT"
    return "TEXT"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'

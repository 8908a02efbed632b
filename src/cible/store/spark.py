"""A workspace whose runs compute on Spark (``[engine] backend = "spark"``): its session
and the copies of its tables.

Spark has neither transactions nor row updates, so it cannot hold what a workspace
changes row by row and all at once (imports merged into tables, memberships and their
history, tags, deliveries): that state stays in the Store, ``cible.duckdb``. What grows
with the data, a run's traits, scores and segments, is computed on Spark
(:mod:`cible.store.spark_run`), from copies of the workspace's data tables
(:data:`DATA_TABLES`) that :class:`SparkEngine` keeps in a Spark database: each is
copied again when its fingerprint (row count, sum of the rows' hashes, columns)
changed, and carries the workspace it belongs to, so that two workspaces never share
one database's tables.

Examples
--------
>>> DATA_TABLES
('customers', 'orders', 'order_lines', 'events', 'products', 'consents')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from cible.domain.errors import WorkspaceError
from cible.store.engines import connect_engine, require_java
from cible.store.sql import fetch_row, quote
from cible.store.store import Store

#: The workspace's data, read by a run and copied into Spark when it changed.
DATA_TABLES = ("customers", "orders", "order_lines", "events", "products", "consents")
#: Rows of a data table sent to Spark at once while it is copied.
PUBLISH_ROWS = 500_000
#: The property of a Spark table holding the fingerprint of the rows copied into it.
FINGERPRINT = "cible.fingerprint"
#: The property of a Spark table naming the workspace whose rows it holds.
OWNER = "cible.workspace"


def database_name(workspace: str, owner: str) -> str:
    """The Spark database of a workspace named ``workspace`` whose id is ``owner``,
    when ``[engine.spark]`` names none: the id tells apart two workspaces of one name.

    Examples
    --------
    >>> database_name("Boutique Lyon-2", "3f9a0c7e1b2d")
    'cible_boutique_lyon_2_3f9a0c7e'
    """
    name = re.sub(r"[^a-z0-9_]+", "_", workspace.lower()).strip("_")
    return f"cible_{name}_{owner[:8]}"


def workspace_id(store: Store) -> str:
    """A workspace's id for Spark: derived from the Store's secret salt, which is
    created with the workspace and never shown, so the id says nothing about it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from cible.domain.config import WorkspaceConfig
    >>> from cible.domain.registry import FieldRegistry
    >>> store = Store.open(Path(tempfile.mkdtemp()) / "cible.duckdb")
    >>> _ = store.migrate(FieldRegistry(WorkspaceConfig()))
    >>> len(workspace_id(store)), workspace_id(store) == workspace_id(store)
    (16, True)
    >>> store.close()
    """
    salt = store.privacy_salt()
    return hashlib.sha256(f"cible spark workspace {salt}".encode()).hexdigest()[:16]


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
    owner : str
        The workspace's id (:func:`workspace_id`), kept on each copy.
    settings : dict of str to str
        Spark settings for a new session.

    Examples
    --------
    >>> engine = SparkEngine(master="local[1]", database="cible_shop", owner="3f9a0c7e")
    >>> engine.database, engine.started
    ('cible_shop', False)
    """

    master: str | None
    database: str
    owner: str
    settings: dict[str, str] = field(default_factory=dict)
    _backend: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def started(self) -> bool:
        """Whether this engine's session was started (or reused) in this process."""
        return self._backend is not None

    @property
    def backend(self) -> Any:
        """Ibis's PySpark backend, the session started (or the process's reused) on
        first use, with the database created when missing.

        Spark holds one session per process: a second workspace opened in the same
        process computes on the first one's session, with its own database.
        """
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
            self._backend.raw_sql(f"CREATE DATABASE IF NOT EXISTS {_name(self.database)}")
        return self._backend

    @property
    def session(self) -> Any:
        """The ``pyspark.sql.SparkSession`` (Ibis offers no public way to it)."""
        return self.backend._session

    def publish(self, store: Store, *, progress: Callable[[str], None] | None = None) -> list[str]:
        """Copy into Spark each data table whose rows changed since its last copy.

        A table is written :data:`PUBLISH_ROWS` rows at a time and its fingerprint set
        last: a copy cut short is copied again whole the next time.

        Parameters
        ----------
        store : Store
            The workspace's Store, whose tables are copied.
        progress : callable, optional
            Called with a table's name before it is copied.

        Returns
        -------
        list of str
            The names of the tables copied.

        Raises
        ------
        WorkspaceError
            When the database holds another workspace's copies.
        """
        copied = []
        for name in DATA_TABLES:
            fingerprint = table_fingerprint(store, name)
            if self._property(name, FINGERPRINT) == fingerprint:
                continue
            if progress is not None:
                progress(name)
            self._copy(store, name)
            self.backend.raw_sql(
                f"ALTER TABLE {self.qualified(name)} SET TBLPROPERTIES "
                f"('{OWNER}' = '{self.owner}', '{FINGERPRINT}' = '{fingerprint}')"
            )
            copied.append(name)
        return copied

    def forget(self) -> None:
        """Drop Spark's copies of the data tables (after an erasure): the next run
        copies them again.

        A local session's copies live in a temporary folder of the process that made
        them: none to drop when this process started no session (another process's
        are replaced at its next run and deleted when it exits). On a cluster the
        copies outlive the process: the session is started to drop them.

        Raises
        ------
        WorkspaceError
            When Spark cannot drop them; the message says the erasure itself is done.
        """
        if not self.started and _is_local(self.master):
            return
        try:
            for name in DATA_TABLES:
                if self._property(name, OWNER) in (self.owner, None):
                    self.backend.raw_sql(f"DROP TABLE IF EXISTS {self.qualified(name)}")
        except Exception as exc:
            raise WorkspaceError(
                f"The customer is erased from the workspace, but Spark's copies in "
                f"{self.database!r} could not be dropped ({_why(exc)}): the next run "
                "replaces them, or drop them with Spark."
            ) from None

    def qualified(self, name: str) -> str:
        """``database.name``, quoted for Spark SQL."""
        return f"{_name(self.database)}.{_name(name)}"

    def _property(self, name: str, key: str) -> str | None:
        """A property of the copy of ``name`` (None: no copy, or no such property),
        refusing a copy another workspace made."""
        if not self.session.catalog.tableExists(f"{self.database}.{name}"):
            return None
        rows = self.session.sql(f"SHOW TBLPROPERTIES {self.qualified(name)}").collect()
        found = {row["key"]: row["value"] for row in rows}
        if found.get(OWNER, self.owner) != self.owner:
            raise WorkspaceError(
                f"Spark's database {self.database!r} holds another workspace's {name}: "
                'give this one its own with [engine.spark] database = "...".'
            )
        return found.get(key)

    def _copy(self, store: Store, name: str) -> None:
        schema = spark_schema(store.table(name).schema())
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
        self.backend.raw_sql(f"REFRESH TABLE {self.qualified(name)}")


def table_fingerprint(store: Store, name: str) -> str:
    """The row count, the sum of the rows' hashes and the columns of the Store's
    table ``name``: any row added, removed or changed changes it, the order of the
    rows does not.

    Parameters
    ----------
    store : Store
        The Store holding the table.
    name : str
        The table.

    Returns
    -------
    str
        The fingerprint, as text.

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
        # The row's alias is no column's name (custom attributes cannot begin with
        # an underscore): a column named like it would hash that column alone.
        store.connection,
        f"SELECT count(*), sum(hash(_cible_row)) FROM {quote(name)} AS _cible_row",
    )
    columns = ",".join(f"{c}:{t}" for c, t in store.table(name).schema().items())
    return f"{count}-{total or 0}-{hashlib.sha256(columns.encode()).hexdigest()[:16]}"


def spark_schema(schema: ibis.Schema) -> Any:
    """The ``pyspark.sql.types.StructType`` of an Ibis schema.

    Examples
    --------
    >>> spark_schema(ibis.schema({"customer_id": "string"})).simpleString()
    'struct<customer_id:string>'
    """
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


def _is_local(master: str | None) -> bool:
    """Whether ``master`` (as set) runs the session in this process; unset is not
    known without starting Spark, so it is taken for a cluster."""
    if master is None:
        return False
    lowered = master.lower()
    return lowered == "spark" or lowered.startswith(("local", "spark://local"))


def _name(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"

"""Opening the workspace's DuckDB file through Ibis, encrypted or not.

The connection is set to UTC so that timestamps with an offset are converted to UTC
on import and timestamps without one are read as UTC, whatever the machine's zone.

An encrypted workspace (``[workspace] encrypted = true``) is a DuckDB file encrypted
with AES-256-GCM under the key in the environment variable ``CIBLE_ENCRYPTION_KEY``
(DuckDB >= 1.4): Ibis opens an in-memory database, the file is attached to it with
``ATTACH ... (ENCRYPTION_KEY ...)`` under the name ``cible`` and made the default
one, so every query and write reads it as before. Its write-ahead log and the
temporary files DuckDB spills are encrypted too. DuckDB encrypts with OpenSSL from
its ``httpfs`` extension; without it, only reading is secure, and writing is
refused unless ``CIBLE_ENCRYPTION_ALLOW_MBEDTLS=1`` accepts DuckDB's built-in
mbedtls, whose random nonces DuckDB does not consider secure (tests, offline
trials; docs/privacy.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis

from cible.domain.errors import WorkspaceError

DATABASE_FILE = "cible.duckdb"

#: The environment variable holding an encrypted workspace's key.
KEY_VARIABLE = "CIBLE_ENCRYPTION_KEY"

#: Set to 1 to write encrypted files with DuckDB's built-in mbedtls when its httpfs
#: extension (OpenSSL) cannot be loaded: not secure, for tests and offline trials.
MBEDTLS_VARIABLE = "CIBLE_ENCRYPTION_ALLOW_MBEDTLS"

#: The name an encrypted workspace's file is attached under.
ATTACHED = "cible"


def encryption_key(database: Path) -> str:
    """The key of the encrypted ``database``, from ``CIBLE_ENCRYPTION_KEY``.

    Raises
    ------
    WorkspaceError
        When the variable is unset or empty, in one sentence.
    """
    key = os.environ.get(KEY_VARIABLE, "")
    if not key:
        raise WorkspaceError(
            f"The workspace database {database} is encrypted: set {KEY_VARIABLE} to its key."
        )
    return key


def connect(
    database: Path,
    *,
    read_only: bool = False,
    encrypted: bool = False,
    key: str | None = None,
    limits: Limits | None = None,
) -> Any:
    """Return an Ibis DuckDB backend on ``database``, encrypted with ``key`` when given,
    else with the key in ``CIBLE_ENCRYPTION_KEY`` when ``encrypted`` (see the module),
    held to ``limits`` (``[engine]`` of ``cible.toml``).

    Raises
    ------
    WorkspaceError
        When another process holds the file, the file is not a DuckDB database, or
        (encrypted) the key is missing or wrong or cannot be written with securely.
    """
    try:
        if encrypted or key is not None:
            backend = _attach_encrypted(database, key or encryption_key(database), read_only)
        else:
            backend = ibis.duckdb.connect(str(database), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise WorkspaceError(
                f"The workspace database {database} is in use by another Cible process; "
                "wait for it to finish and try again."
            ) from exc
        raise WorkspaceError(f"Cannot open {database}: {message.splitlines()[0]}") from exc
    except duckdb.Error as exc:
        message = str(exc)
        if "encrypt" in message.lower():
            raise WorkspaceError(
                _encryption_problem(database, message, encrypted or key is not None)
            ) from None
        raise WorkspaceError(
            f"{database} is not a readable Cible database: {message.splitlines()[0]}"
        ) from exc
    backend.raw_sql("SET TimeZone = 'UTC'")
    # Tables are keyed, their row order means nothing; dropping it lets DuckDB write
    # from every core. Staging turns it back on while it numbers a file's lines.
    backend.raw_sql("SET preserve_insertion_order = false")
    # DuckDB draws its own bar on the terminal for queries over two seconds (building
    # the indexes of migration 10, say), in the middle of Cible's output and its JSON.
    backend.raw_sql("SET enable_progress_bar = false")
    if limits is not None:
        try:
            limits.apply(raw(backend))
        except duckdb.Error as exc:
            backend.disconnect()
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WorkspaceError(
                f"DuckDB refused the [engine] settings of cible.toml for {database}: {detail}"
            ) from None
    return backend


@dataclass(frozen=True)
class Limits:
    """How much memory and how many cores DuckDB may take (``[engine]``); None: its
    defaults (80% of the memory, every core).

    Examples
    --------
    >>> con = duckdb.connect()
    >>> Limits(memory_limit="1GiB", threads=1).apply(con)
    >>> con.sql("SELECT current_setting('threads')").fetchall()
    [(1,)]
    """

    memory_limit: str | None = None
    threads: int | None = None

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        """Set the limits on ``con``; beyond the memory limit DuckDB spills to disk."""
        if self.memory_limit is not None:
            con.execute(f"SET memory_limit = {_literal(self.memory_limit)}")
        if self.threads is not None:
            con.execute(f"SET threads = {int(self.threads)}")


def _attach_encrypted(database: Path, key: str, read_only: bool) -> Any:
    backend = ibis.duckdb.connect()
    con = raw(backend)
    try:
        load_crypto(con, f"the encrypted workspace database {database}", read_only=read_only)
    except WorkspaceError:
        backend.disconnect()
        raise
    # Spilled intermediate results would otherwise be written in clear, and in the
    # current folder: they go beside the file, as for a plain workspace.
    con.execute("SET temp_file_encryption = true")
    con.execute(f"SET temp_directory = {_literal(str(database) + '.tmp')}")
    options = f"ENCRYPTION_KEY {_literal(key)}" + (", READ_ONLY" if read_only else "")
    try:
        con.execute(f"ATTACH {_literal(str(database))} AS {ATTACHED} ({options})")
    except BaseException:
        backend.disconnect()
        raise
    con.execute(f"USE {ATTACHED}")
    return backend


def load_crypto(con: duckdb.DuckDBPyConnection, what: str, *, read_only: bool = False) -> None:
    """Give ``con`` a cryptography DuckDB writes encrypted files with: OpenSSL from the
    ``httpfs`` extension, else DuckDB's mbedtls when ``CIBLE_ENCRYPTION_ALLOW_MBEDTLS=1``
    (see the module). ``what`` names what is written, for the error.

    Raises
    ------
    WorkspaceError
        When neither is at hand and ``con`` must write, in one sentence.
    """
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error:
        # Without OpenSSL, DuckDB reads securely but refuses to write; see the module.
        if os.environ.get(MBEDTLS_VARIABLE) == "1":
            con.execute("SET force_mbedtls_unsafe = 'true'")
        elif not read_only:
            raise WorkspaceError(
                f"Writing {what} needs DuckDB's httpfs extension (OpenSSL): run "
                "`INSTALL httpfs` once in DuckDB on a machine with network access, then try "
                "again."
            ) from None


def attach_options(key: str | None) -> str:
    """What ``ATTACH`` needs for a new file of this workspace: ``key``, the key the
    workspace was opened with, when it is encrypted (a copy of an encrypted database
    stays encrypted, under the same key), else nothing.

    The key is the one kept since the file was opened, not read again from the
    environment: a long-running server whose ``CIBLE_ENCRYPTION_KEY`` has since
    changed (or gone) would otherwise write the copy under another key, or none.

    Examples
    --------
    >>> attach_options(None), attach_options("k'ey")
    ('', " (ENCRYPTION_KEY 'k''ey')")
    """
    if key is None:
        return ""
    return f" (ENCRYPTION_KEY {_literal(key)})"


def _literal(text: str) -> str:
    """``text`` as a SQL string literal (ATTACH options take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _encryption_problem(database: Path, message: str, encrypted: bool) -> str:
    """One sentence for DuckDB's encryption errors, without its trace."""
    if not encrypted:
        return (
            f"The workspace database {database} is encrypted but cible.toml does not say "
            f"so: set `encrypted = true` under [workspace] and {KEY_VARIABLE} to its key."
        )
    if "wrong" in message.lower():
        return f"{KEY_VARIABLE} is not the key of the encrypted workspace database {database}."
    return f"Cannot open the encrypted workspace database {database}: {message.splitlines()[0]}"


def raw(backend: Any) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under an Ibis backend, for the store's own statements."""
    connection: duckdb.DuckDBPyConnection = backend.con
    return connection

"""What the Store's method groups kept in modules of their own need of the Store.

:class:`Connected` declares the Store's connection and transaction, which
:class:`~cible.store.store.Store` provides; the groups (activation, privacy) are its
subclasses and the Store's bases, so that each one type-checks on its own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import duckdb


class Connected:
    """The Store's connection and transaction, provided by the Store itself."""

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (the Store's)."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        """All of the block's writes or none (the Store's)."""
        raise NotImplementedError

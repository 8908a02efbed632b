"""The Store: the workspace database behind one typed object.

Use cases read through it as Ibis tables, hand it Ibis expressions or data frames to
hold as temporary tables, and ask it for named writes (a run, an import, a merge, a
model, an audit). SQL text and the DuckDB connection stay inside ``store/``: the
modules beside this one write the SQL; the Store is what the layers above call.

Examples
--------
>>> import tempfile
>>> import pandas as pd
>>> from pathlib import Path
>>> store = Store.open(Path(tempfile.mkdtemp()) / "example.duckdb")
>>> held = store.hold("_example", pd.DataFrame({"customer_id": ["a", "b"]}))
>>> int(held.count().execute())
2
>>> with store.transaction():
...     pass
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias, cast

import duckdb
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends.duckdb import Backend

from cible.domain.registry import FieldRegistry
from cible.domain.schema import Table
from cible.store import (
    audit_log,
    audits,
    clusters,
    drafts,
    events,
    import_tables,
    merges,
    migrations,
    models,
    monitoring,
    outbox,
    persona_cards,
    postgres,
    prepared,
    privacy,
    runs,
    snapshots,
    tokens,
)
from cible.store import backend as connection
from cible.store.activation_records import ActivationRecords
from cible.store.import_records import ImportRecords
from cible.store.import_scratch import ImportScratch
from cible.store.privacy_records import PrivacyRecords
from cible.store.sql import fetch_row, quote
from cible.store.transaction import transaction

#: What :meth:`Store.hold` keeps: rows computed by Ibis, pandas or Arrow.
Rows: TypeAlias = ir.Table | pd.DataFrame | pa.Table
#: Rows a page of :meth:`Store.hold_pages` brings to Python: about 100 MB for a page
#: of the 60 traits churn models read.
PAGE_ROWS = 200_000
#: How a recorded build holds a step (see :meth:`Store.record`).
Hold: TypeAlias = Callable[[str, ir.Table], ir.Table]


class Store(ActivationRecords, ImportRecords, PrivacyRecords):
    """One open workspace database.

    Parameters
    ----------
    backend : ibis.backends.duckdb.Backend
        The Ibis connection, as :meth:`open` makes it.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        key: str | None = None,
        limits: connection.Limits | None = None,
        location: str = "",
    ) -> None:
        self._backend = backend
        # Where the data live, for messages: the file, or the server without password.
        self.location = location
        # Kept for the connection a file rewrite reopens.
        self._limits = limits
        # The key the file was opened with (None: not encrypted), kept for the files
        # it is rewritten into and reopened from: the environment may change meanwhile.
        self._key = key
        # Where held rows go: None for temporary tables; an import's file while one
        # holds its rows (see import_rows).
        self._hold_into: str | None = None
        # On PostgreSQL, DuckDB's connection methods the store calls (see .postgres),
        # and the embedded DuckDB an import reads and judges its file in.
        self._postgres = (
            postgres.PostgresConnection(backend) if backend.name == "postgres" else None
        )
        self._scratch: ImportScratch | None = None

    @classmethod
    def open(
        cls,
        database: Path,
        *,
        read_only: bool = False,
        encrypted: bool = False,
        limits: connection.Limits | None = None,
    ) -> Store:
        """Open ``database`` (created when missing unless ``read_only``), in UTC;
        ``encrypted`` with the key in ``CIBLE_ENCRYPTION_KEY`` (:mod:`cible.store.backend`);
        DuckDB held to ``limits`` (memory, threads).

        Raises
        ------
        WorkspaceError
            When another process holds the file, it is not a DuckDB database, or its
            key is missing or wrong.
        """
        key = connection.encryption_key(database) if encrypted else None
        backend = connection.connect(database, read_only=read_only, key=key, limits=limits)
        if not read_only:
            # Opened writable, the file is ours: no import of another process is under way.
            import_tables.remove_leftover(database)
        return cls(backend, key=key, limits=limits, location=str(database))

    @classmethod
    def open_postgres(cls, url: str, *, limits: connection.Limits | None = None) -> Store:
        """Open the workspace held in PostgreSQL at ``url``
        (``postgres://user@host:port/database/schema``; the schema, ``public`` when
        the address names none, is created when missing), in UTC; the DuckDB an
        import reads its file in is held to ``limits`` (``[engine]``).

        Raises
        ------
        WorkspaceError
            When PostgreSQL cannot be reached or refuses the login.
        """
        return cls(postgres.connect(url), limits=limits, location=postgres.shown(url))

    @property
    def engine(self) -> str:
        """The engine holding the workspace: ``duckdb`` or ``postgres``."""
        return "postgres" if self._postgres is not None else "duckdb"

    def history_turn(self, *, wait: float | None = None) -> AbstractContextManager[bool]:
        """The membership history to this process while the block reads and writes it:
        on PostgreSQL other processes' runs and live refreshes wait (a session advisory
        lock); always granted on DuckDB, whose writer is this process. With ``wait``
        (seconds), the block gets False rather than waiting longer."""
        return postgres.history_turn(self.connection, wait)

    def leads(self, role: str) -> bool:
        """Whether this process does ``role`` (``automations``, ``deliveries``) for the
        workspace: always on DuckDB; on PostgreSQL one process at a time
        (:func:`cible.store.postgres.leads`)."""
        return postgres.leads(self.connection, role)

    @property
    def encrypted(self) -> bool:
        """Whether the database file is encrypted (``[workspace] encrypted``)."""
        return self._key is not None

    def close(self) -> None:
        """Close the connection; the Store cannot be used afterwards."""
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
        self._backend.disconnect()

    def invalidated(self) -> bool:
        """Whether DuckDB refuses every statement after a fatal error (or the
        connection is closed).

        A fatal error (out of memory while a commit writes, a failed checkpoint)
        leaves DuckDB's database unusable for the rest of the process; what was
        committed before it is safe on disk and back on the next open.
        """
        if self._postgres is not None:
            # PostgreSQL: a connection the server or the network closed.
            return postgres.lost(self._postgres)
        try:
            self.connection.execute("SELECT 1").fetchall()
        except (duckdb.FatalException, duckdb.ConnectionException):
            # (A connection closed, such as one an earlier failed reopen left.)
            return True
        return False

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for ``store/`` modules and tests only; on PostgreSQL,
        a :class:`~cible.store.postgres.PostgresConnection` offering the same methods
        for the store's statements in DuckDB's dialect."""
        if self._postgres is not None:
            return cast(duckdb.DuckDBPyConnection, self._postgres)
        return connection.raw(self._backend)

    # Reading -----------------------------------------------------------------------

    def table(self, name: str) -> ir.Table:
        """Table (or temporary table) ``name`` as an Ibis expression."""
        if self._scratch is not None and self._scratch.has(name):
            return self._scratch.table(name)
        return self._backend.table(name)

    # Temporary tables and transactions ---------------------------------------------

    def hold(self, name: str, rows: Rows) -> ir.Table:
        """Compute ``rows`` once into temporary table ``name`` and return that table.

        An Ibis expression is computed in the database (literal tables it reads, such
        as a segment's long lists, included); a pandas or Arrow frame is copied in.
        """
        if self._scratch is not None and self._scratch.holds(rows):
            return self._scratch.hold(name, cast(ir.Table, rows))
        if isinstance(rows, ir.Table):
            runs.stage_expression(self.connection, rows, name, into=self._hold_into)
        else:
            runs.stage_frame(self.connection, name, rows, into=self._hold_into)
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
        """Hold ``score`` of ``rows``, ``page`` rows at a time, as temporary table ``name``.

        What models compute in Python (lifetime value, churn risk, clusters) is scored
        this way: one page of input and one of output are in Python at once, whatever
        the number of customers. ``score`` receives a pandas frame of ``rows``' columns
        and returns the rows to keep, with the columns of ``schema``: the table is made
        with those types before the first page, so a column that one page leaves empty
        (no churn band among prospects) cannot be typed from it. ``page`` defaults to
        :data:`PAGE_ROWS`. Temporary tables left by a failure are replaced next time.
        """
        page = page or PAGE_ROWS
        source = f"{name}_pages"
        con = self.connection
        runs.stage_frame(con, name, schema.empty_table())
        total = runs.stage_pages(con, rows, source)
        numbered = self.table(source)
        number = numbered[runs.PAGE_ROW]
        try:
            for start in range(0, total, page):
                chosen = numbered.filter(number >= start, number < start + page)
                # Read through Ibis, so that a page has the pandas types the whole
                # table would have (nullable integers, timestamps) for the models.
                scored = score(chosen.order_by(number).drop(runs.PAGE_ROW).to_pandas())
                runs.append_frame(
                    con, name, pa.Table.from_pandas(scored, schema=schema, preserve_index=False)
                )
        finally:
            con.execute(f"DROP TABLE IF EXISTS {quote(source)}")
        return self.table(name)

    def drop_held(self, *names: str) -> None:
        """Drop temporary tables held by :meth:`hold` once nothing reads them."""
        for name in names:
            self.connection.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")

    def record(self, build: Callable[[datetime, Hold], None]) -> prepared.Plan | None:
        """Run ``build`` at the two sentinel moments and return its plan, if it has one.

        ``build(as_of, hold)`` must hold its steps through ``hold(name, expr)`` (which
        returns the held table, as :meth:`hold` does) and use ``as_of`` only through
        :func:`cible.features.clock.moment`. The result is None when the two
        recordings differ otherwise (see :mod:`cible.store.prepared`).
        """
        recordings = []
        for sentinel in prepared.SENTINELS:
            recorder = prepared.Recorder(self.connection)

            def hold(name: str, expr: ir.Table, recorder: prepared.Recorder = recorder) -> ir.Table:
                recorder.hold(name, expr)
                return self.table(name)

            build(sentinel, hold)
            recordings.append(recorder.steps)
        return prepared.plan_of(*recordings)

    def replay(self, plan: prepared.Plan, as_of: datetime) -> None:
        """Hold the steps of a recorded ``plan`` again, at ``as_of``."""
        prepared.replay(self.connection, plan, as_of)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All of the block's writes or none (see :mod:`cible.store.transaction`)."""
        with transaction(self.connection):
            yield

    # Schema ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for an empty one)."""
        return migrations.current_version(self.connection)

    def migrate(self, registry: FieldRegistry) -> list[int]:
        """Bring the schema to the current version; return the versions applied."""
        return migrations.migrate(self.connection, registry)

    # Runs and segments -------------------------------------------------------------

    def has_run(self) -> bool:
        """Whether a run was ever committed (a plain query: a live refresh asks it for
        every micro-batch, and going through Ibis costs it milliseconds)."""
        return bool(fetch_row(self.connection, "SELECT EXISTS (FROM runs)")[0])

    def commit_run(
        self,
        *,
        traits: str,
        members: ir.Table,
        as_of: datetime,
        started_at: datetime,
        finished_at: datetime,
        segments: int,
        notes: str = "",
        outbox_source: str | None = None,
        snapshot: bool = False,
    ) -> runs.RunRecord:
        """Store a run's traits and memberships, with their history, in one transaction.

        ``traits`` names the temporary table holding the run's traits (see
        :meth:`hold`); ``members`` (``segment_id, dimension, customer_id``) are the
        run's memberships, diffed against the open ones (who entered, who left).
        With ``outbox_source``, the transitions go to the outbox too; with
        ``snapshot``, the run is also kept as a snapshot.
        """
        self.hold(runs.MEMBERS, members)
        return runs.commit_run(
            self.connection,
            traits_table=traits,
            as_of=as_of,
            started_at=started_at,
            finished_at=finished_at,
            segments=segments,
            notes=notes,
            outbox_source=outbox_source,
            snapshot=snapshot,
        )

    def save_figures(self, run_id: int, figures: ir.Table) -> None:
        """Keep ``figures`` (one row per segment: ``segment_id``, size, revenue, shares)
        as those of run ``run_id``, for :meth:`stored_figures`."""
        self.hold("_segment_figures", figures)
        runs.save_figures(self.connection, run_id, "_segment_figures")
        self.connection.execute('DROP TABLE "_segment_figures"')

    def add_figures(self, figures: pa.Table) -> None:
        """Keep ``figures`` of segments saved since the latest run with that run's, so
        that listings stop computing them (a read-only workspace keeps nothing)."""
        if postgres.read_only(self.connection):
            return
        self.hold("_segment_figures", figures)
        runs.add_figures(self.connection, "_segment_figures")
        self.connection.execute('DROP TABLE "_segment_figures"')

    def stored_figures(self) -> dict[str, dict[str, Any]]:
        """The figures the latest run kept, by segment id (see :meth:`save_figures`);
        empty when it kept none. A clustering saved since drops its dimension's."""
        return runs.stored_figures(self.connection)

    def kept_card(self, segment_id: str, key: str) -> str | None:
        """The persona card (JSON) kept for ``segment_id`` at the latest run with
        settings ``key``, if any (see :mod:`cible.store.persona_cards`)."""
        return persona_cards.kept_card(self.connection, segment_id, key)

    def keep_card(self, segment_id: str, key: str, card: str) -> None:
        """Keep the persona card (JSON) of ``segment_id`` for the latest run."""
        persona_cards.keep_card(self.connection, segment_id, key, card)

    def commit_snapshot(
        self,
        *,
        traits: str,
        members: ir.Table,
        as_of: datetime,
        taken_at: datetime,
        origin: str,
        replace: bool = False,
    ) -> snapshots.SnapshotRow:
        """Keep held traits and memberships as a snapshot, leaving the live tables alone.

        ``traits`` names the temporary table of the traits (see :meth:`hold`);
        ``members`` (``segment_id, dimension, customer_id``) are the memberships. With
        ``replace``, a snapshot as of the same moment is replaced.
        """
        self.hold("_snapshot_members", members)
        return snapshots.write_snapshot(
            self.connection,
            traits_table=traits,
            members_table="_snapshot_members",
            as_of=as_of,
            taken_at=taken_at,
            origin=origin,
            replace=replace,
        )

    def list_snapshots(self) -> list[snapshots.SnapshotRow]:
        """Every stored snapshot, oldest moment first."""
        return snapshots.list_snapshots(self.connection)

    def delete_snapshot(self, snapshot_id: int) -> bool:
        """Remove a snapshot; False when there was none."""
        return snapshots.delete_snapshot(self.connection, snapshot_id)

    def save_drift_check(
        self,
        *,
        checked_at: datetime,
        as_of: datetime,
        reference_as_of: datetime,
        alerts: int,
        actor: str | None,
        report: str,
    ) -> int:
        """Keep a drift check (its JSON ``report``); returns its id."""
        return monitoring.save_check(
            self.connection,
            checked_at=checked_at,
            as_of=as_of,
            reference_as_of=reference_as_of,
            alerts=alerts,
            actor=actor,
            report=report,
        )

    def drift_checks(self, *, limit: int = 20) -> list[monitoring.CheckRow]:
        """The latest drift checks, newest first."""
        return monitoring.list_checks(self.connection, limit=limit)

    def save_segment(
        self,
        *,
        segment_id: str,
        kind: str,
        dimension: str | None,
        priority: int,
        definition: str,
        now: datetime,
    ) -> bool:
        """Add or replace a segment definition; True when it is new."""
        return runs.save_segment(
            self.connection,
            segment_id=segment_id,
            kind=kind,
            dimension=dimension,
            priority=priority,
            definition=definition,
            now=now,
        )

    def delete_segment(self, segment_id: str) -> bool:
        """Remove a segment (its memberships close at the next run); False when unknown."""
        return runs.delete_segment(self.connection, segment_id)

    def save_draft(
        self,
        draft: drafts.NewDraft,
        *,
        draft_id: int | None = None,
        saved_at: datetime | None = None,
    ) -> int:
        """Save a segment draft in place of ``draft_id`` (new when None or gone), if it
        is still as saved at ``saved_at`` (when given); its id."""
        return drafts.save(self.connection, draft, draft_id=draft_id, saved_at=saved_at)

    def draft(self, draft_id: int) -> drafts.DraftRow | None:
        """Segment draft ``draft_id``, or None."""
        return drafts.get(self.connection, draft_id)

    def list_drafts(self) -> list[drafts.DraftRow]:
        """Every segment draft, the latest saved first."""
        return drafts.list_drafts(self.connection)

    def delete_draft(self, draft_id: int, *, saved_at: datetime | None = None) -> bool:
        """Remove a segment draft, if still as saved at ``saved_at`` (when given);
        whether it existed."""
        return drafts.delete(self.connection, draft_id, saved_at=saved_at)

    # Models ------------------------------------------------------------------------

    def save_model(self, *, kind: str, card: str, blob: bytes, now: datetime) -> int:
        """Store a trained model file and its card; return its id."""
        return models.save_model(self.connection, kind=kind, card=card, blob=blob, now=now)

    def latest_model(self, kind: str) -> tuple[int, str, bytes] | None:
        """Id, card and file of the newest model of ``kind``, or None."""
        return models.latest_model(self.connection, kind)

    def load_model(self, model_id: int) -> tuple[str, bytes]:
        """Card and file of model ``model_id``; KeyError when there is none."""
        return models.load_model(self.connection, model_id)

    def save_clustering(
        self,
        *,
        dimension: str,
        card: str,
        blob: bytes,
        segments: Sequence[tuple[str, dict[str, Any]]],
        members: pd.DataFrame,
        now: datetime,
    ) -> int:
        """Store a fitted clustering, its segments and the latest run's members, atomically.

        ``members`` (``segment_id, dimension, customer_id``) becomes the open
        memberships of ``dimension`` at the latest run; returns the model's id.
        """
        self.hold(runs.MEMBERS, members)
        return clusters.save_clustering(
            self.connection,
            dimension=dimension,
            card=card,
            blob=blob,
            segments=segments,
            now=now,
        )

    # Audits ------------------------------------------------------------------------

    def save_audit(
        self, *, created_at: datetime, score: float, customers: int, report: dict[str, Any]
    ) -> int:
        """Store an audit report; return its id."""
        return audits.save_audit(
            self.connection, created_at=created_at, score=score, customers=customers, report=report
        )

    def audit_history(self, limit: int = 20) -> list[audits.AuditRow]:
        """The latest ``limit`` audits, oldest first."""
        return audits.audit_history(self.connection, limit)

    def load_audit(self, audit_id: int | None = None) -> dict[str, Any] | None:
        """Stored report of audit ``audit_id`` (default the latest), or None."""
        return audits.load_audit(self.connection, audit_id)

    # Merges ------------------------------------------------------------------------

    def apply_merges(
        self,
        *,
        customers: Table,
        repointed: list[Table],
        consents: Table,
        created_at: datetime,
    ) -> int:
        """Apply the staged merges in one transaction; return the first merge id."""
        return merges.apply_merges(
            self.connection,
            customers=customers,
            repointed=repointed,
            consents=consents,
            created_at=created_at,
        )

    def undo_merge(
        self,
        merge_id: int,
        *,
        customers: Table,
        repointed: list[Table],
        consents: Table,
        undone_at: datetime,
    ) -> merges.UndoRecord:
        """Restore the rows merge ``merge_id`` changed and mark it undone."""
        return merges.undo_merge(
            self.connection,
            merge_id,
            customers=customers,
            repointed=repointed,
            consents=consents,
            undone_at=undone_at,
        )

    def drop_merge_staging(self) -> None:
        """Drop the temporary tables a dedupe held."""
        merges.drop_staged(self.connection)

    # Tokens and the audit log ---------------------------------------------------------
    # The audit log is append-only: these methods add entries and read them, none
    # changes or removes one.

    def create_token(
        self,
        *,
        name: str,
        role: str,
        digest: str,
        created_at: datetime,
        audit: audit_log.NewEntry,
        unmask: bool = False,
    ) -> int:
        """Store a token's digest and its audit entry in one transaction; return its id."""
        return tokens.create(
            self.connection,
            name=name,
            role=role,
            digest=digest,
            created_at=created_at,
            audit=audit,
            unmask=unmask,
        )

    def revoke_token(
        self, token_id: int, *, revoked_at: datetime, audit: audit_log.NewEntry
    ) -> bool:
        """Revoke a live token, recording the attempt; False when no live token has that id."""
        return tokens.revoke(self.connection, token_id, revoked_at=revoked_at, audit=audit)

    def list_tokens(self, *, live_only: bool = False) -> list[tokens.TokenRow]:
        """Every stored token (or the live ones), oldest first."""
        return tokens.list_tokens(self.connection, live_only=live_only)

    def append_audit(self, entry: audit_log.NewEntry) -> int:
        """Append one entry to the audit log; return its id."""
        return audit_log.append(self.connection, entry)

    def audit_entries(
        self,
        *,
        limit: int,
        offset: int = 0,
        action: str | None = None,
        actor: str | None = None,
        outcome: str | None = None,
    ) -> list[audit_log.Entry]:
        """Audit log entries, newest first (only ``action``, ``actor``, ``outcome`` when
        given)."""
        return audit_log.entries(
            self.connection,
            limit=limit,
            offset=offset,
            action=action,
            actor=actor,
            outcome=outcome,
        )

    # Live events and identities ---------------------------------------------------

    def known_event_ids(self, message_ids: Sequence[str], *, since: datetime) -> set[str]:
        """The ids among ``message_ids`` received live at or after ``since``."""
        return events.known_ids(self.connection, message_ids, since=since)

    def append_events(
        self,
        rows: pa.Table,
        links: Sequence[events.IdentityLink] = (),
        *,
        window_start: datetime,
        matched: pa.Table | None = None,
    ) -> int:
        """Append new live events and identity links in one transaction.

        ``rows`` follow :data:`cible.store.events.EVENT_SCHEMA`; ids received before
        ``window_start`` leave the deduplication window. Returns the number of earlier
        anonymous events the new links attached to a customer. ``matched`` events
        (that start an automation) go to the outbox in the same transaction.
        """
        return events.append_events(
            self.connection, rows, links, window_start=window_start, matched=matched
        )

    # Live refreshes and the outbox --------------------------------------------------

    def commit_live(
        self, *, ids: Sequence[str], traits: str, members: ir.Table, at: datetime, source: str
    ) -> runs.LiveRecord:
        """Store a live refresh of the customers ``ids``, atomically.

        ``traits`` names the temporary table of their traits, ``members``
        (``segment_id, dimension, customer_id``) are their memberships at ``at``;
        transitions go to the membership history (no run) and the outbox together.
        """
        self.hold(runs.MEMBERS, members)
        return runs.commit_live(self.connection, ids=ids, traits_table=traits, at=at, source=source)

    def pending_transitions(self, *, limit: int = 1_000) -> list[outbox.OutboxRow]:
        """Outbox rows not delivered yet, oldest first."""
        return outbox.pending(self.connection, limit=limit)

    def prune_outbox(self, *, before: datetime) -> int:
        """Delete outbox rows handled before ``before``."""
        return outbox.prune(self.connection, before=before)

    def signing_secret(self) -> bytes:
        """The workspace's secret key for links that must not be forged (unsubscribe)."""
        row = fetch_row(
            self.connection, "SELECT value FROM cible_meta WHERE key = 'signing_secret'"
        )
        return bytes.fromhex(str(row[0]))

    # Privacy (the rest in privacy_records) ----------------------------------------

    def rewrite_file(self) -> None:
        """Rewrite the database into a fresh file holding only live rows, and reopen it.

        DuckDB keeps deleted values in the blocks it frees, checkpoint or not: after an
        erasure they would still be in the file. Temporary tables do not survive. On
        PostgreSQL, which keeps deleted rows until a vacuum too, every table of the
        workspace is rewritten by ``VACUUM FULL`` instead.
        """
        con = self.connection
        if self._postgres is not None:
            postgres.rewrite_tables(self._postgres)
            return
        database = privacy.database_path(con)
        fresh = privacy.copy_to_fresh_file(con, connection.attach_options(self._key))
        self._backend.disconnect()
        try:
            privacy.swap_files(fresh, database)
        finally:
            self._backend = connection.connect(database, key=self._key, limits=self._limits)

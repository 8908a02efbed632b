"""The workspace: the one object the CLI, the server and notebooks open.

A workspace is a folder holding ``cible.toml`` (settings) and ``cible.duckdb`` (all
tables). Everything reads and writes through it.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> path = Path(tempfile.mkdtemp()) / "shop"
>>> with Workspace.create(path) as ws:
...     ws.counts()["customers"]
0
>>> with Workspace.open(path) as ws:
...     ws.schema_version
18
"""

from __future__ import annotations

import tomllib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import pydantic
import tomli_w

from cible.access.audit_log import AuditLog
from cible.access.tokens import Tokens
from cible.activation import Exports
from cible.activation.automation_engine import Rendered
from cible.activation.automations import Automations
from cible.activation.campaign_analysis import CampaignAnalysis
from cible.activation.campaign_definition import parse_campaign
from cible.activation.campaign_sends import SendContext
from cible.activation.campaigns import Campaigns
from cible.activation.deliveries import Deliveries
from cible.activation.experiments import Experiments
from cible.activation.objection import Objection
from cible.activation.privacy import Privacy
from cible.activation.privacy_access import PrivacyAccess
from cible.activation.tags import Tags
from cible.activation.templates import Templates
from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig, check_dimensions
from cible.domain.errors import CibleError, ConfigError, WorkspaceError
from cible.domain.json_values import dumps_json
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.domain.text import utf8_text
from cible.importing.imports import Imports
from cible.ingest.events import Events
from cible.locale.messages import LANGS
from cible.models.trained import Models
from cible.quality.quality import Quality
from cible.reporting.campaigns import campaigns_block
from cible.reporting.html import render_report
from cible.reporting.quality import quality_block
from cible.reporting.report import build_report
from cible.segments.builtin import typology_inputs
from cible.segments.catalog import Segments
from cible.segments.clusters import DEFAULT_DIMENSION, Clustering, fit_clustering
from cible.segments.customers import Customers
from cible.segments.drafts import Drafts
from cible.segments.fairness import Fairness
from cible.segments.kpis import Kpis
from cible.segments.monitoring import Alert, DriftCheck, Monitoring
from cible.segments.personas import NUMERIC_TRAITS, PersonaCard, Personas
from cible.segments.playbook import check_playbook
from cible.segments.runner import BUILTIN_DIMENSIONS, load_segments, run_segments
from cible.segments.snapshots import Snapshots
from cible.store.backend import DATABASE_FILE as DATABASE_FILE
from cible.store.backend import Limits, encryption_key
from cible.store.deliveries import NewDelivery
from cible.store.migrations import SCHEMA_VERSION
from cible.store.runs import TRAITS, RunRecord
from cible.store.spark import SparkEngine, database_name, workspace_id
from cible.store.spark_run import spark_run
from cible.store.store import Store

CONFIG_FILE = "cible.toml"

_HEADER = """\
# Cible workspace settings. Edit freely; `cible` checks this file on every start.
#
# [import.mappings.orders] maps canonical fields to your file's columns, e.g.
#   amount = "Montant TTC"
# [attributes.NAME] declares a custom customer attribute, e.g.
#   [attributes.loyalty_tier]
#   type = "enum"                 # string, integer, number, amount, boolean, date,
#                                 # timestamp, enum, json
#   values = ["bronze", "silver", "gold"]
#   category = "value"            # demographic, geographic, psychographic,
#                                 # behavioural, value, contextual
#   sensitivity = "none"          # none, personal, special (needs legal_basis to be used)
# [engine] backend = "spark" computes runs on a Spark session, e.g.
#   [engine.spark]
#   master = "local[2]"           # or spark://host:7077, yarn, k8s://...; unset: Spark's
#                                 # own settings (spark-defaults.conf), else every core
#   database = "cible_shop"       # where the workspace's tables are copied
#   settings = { "spark.executor.memory" = "4g" }

"""


class Workspace:
    """An open workspace. Use :meth:`create` or :meth:`open`, then :meth:`close`.

    Attributes
    ----------
    path : Path
        The workspace folder.
    config : WorkspaceConfig
        Validated ``cible.toml``.
    registry : FieldRegistry
        Tables and attributes, custom ones included.
    store : Store
        The workspace database: Ibis tables to read, named writes.
    """

    def __init__(self, path: Path, config: WorkspaceConfig, store: Store) -> None:
        self.path = path
        self.config = config
        self.registry = FieldRegistry(config)
        self.store = store
        self._spark: SparkEngine | None = None

    # -- life cycle -----------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, *, config: WorkspaceConfig | None = None) -> Workspace:
        """Create a workspace folder with ``cible.toml`` and an empty database.

        Raises
        ------
        WorkspaceError
            When ``path`` already holds a workspace or is a file.
        """
        folder = Path(path)
        if (folder / CONFIG_FILE).exists():
            raise WorkspaceError(f"{folder} already holds a Cible workspace.")
        if folder.exists() and not folder.is_dir():
            raise WorkspaceError(f"{folder} is a file, not a folder.")
        settings = config or WorkspaceConfig.model_validate(
            {"workspace": {"name": folder.resolve().name}}
        )
        if settings.workspace.encrypted:
            # Refused before anything is written: no half-made workspace without its key.
            encryption_key(folder / DATABASE_FILE)
        if settings.engine.on_postgres:
            # Likewise, a server that cannot be reached leaves no folder behind.
            Store.open_postgres(settings.engine.backend).close()
        folder.mkdir(parents=True, exist_ok=True)
        body = tomli_w.dumps(settings.model_dump(mode="json", by_alias=True, exclude_none=True))
        (folder / CONFIG_FILE).write_text(_HEADER + body, encoding="utf-8")
        return cls.open(folder)

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Workspace:
        """Open the workspace at ``path``, migrating its schema when it is older.

        ``read_only`` lets several processes read at once (DuckDB allows one writer);
        a workspace that needs migrating is migrated first, then reopened read-only.

        Raises
        ------
        WorkspaceError
            When there is no workspace there, or it is locked or from a newer Cible.
        ConfigError
            When ``cible.toml`` is invalid; the message names the setting.
        """
        folder = Path(path)
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            raise WorkspaceError(
                f"No Cible workspace at {folder} (no {CONFIG_FILE}); "
                f"create one with `cible init {folder}`."
            )
        config = load_config(config_path)
        limits = Limits(config.engine.memory_limit, config.engine.threads)
        if config.engine.on_postgres:
            # PostgreSQL serves several processes, readers and writers, at once.
            store = Store.open_postgres(config.engine.backend, limits=limits)
            return cls._migrated(folder, config, store)
        database = folder / DATABASE_FILE
        encrypted = config.workspace.encrypted
        if read_only:
            store = Store.open(database, read_only=True, encrypted=encrypted, limits=limits)
            try:
                version = store.schema_version()
            except WorkspaceError as exc:
                store.close()
                raise WorkspaceError(f"{database}: {exc}") from None
            if version == SCHEMA_VERSION:
                return cls(folder, config, store)
            store.close()
            cls.open(folder).close()
            return cls(
                folder,
                config,
                Store.open(database, read_only=True, encrypted=encrypted, limits=limits),
            )
        store = Store.open(database, encrypted=encrypted, limits=limits)
        return cls._migrated(folder, config, store)

    @classmethod
    def _migrated(cls, folder: Path, config: WorkspaceConfig, store: Store) -> Workspace:
        workspace = cls(folder, config, store)
        try:
            workspace.store.migrate(workspace.registry)
        except WorkspaceError as exc:
            workspace.close()
            raise WorkspaceError(f"{store.location}: {exc}") from None
        except BaseException:
            workspace.close()
            raise
        return workspace

    def close(self) -> None:
        """Release the database file."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- data -----------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """Schema version recorded in the database."""
        return self.store.schema_version()

    def table(self, name: str) -> Any:
        """An Ibis table of the workspace (``customers``, ``orders``, ``imports``...)."""
        return self.store.table(name)

    def counts(self) -> dict[str, int]:
        """Number of rows in each canonical table."""
        return {t.name: int(self.table(t.name).count().execute()) for t in self.registry.tables()}

    @property
    def imports(self) -> Imports:
        """Data files: ``load`` one into a table, the import ``log``, each import's ``rejects``."""
        return Imports(
            self.store,
            self.registry,
            self.config,
            set_tags=self.tags.import_cells,
            on_objection=self._apply_objections,
        )

    @property
    def events(self) -> Events:
        """Live events (``cible serve``): ``append`` checked messages, deduplicated."""
        return Events(
            self.store, self.registry, self.config, triggers=self.automations.match_events
        )

    @property
    def quality(self) -> Quality:
        """Data quality: ``audit``, ``normalise``, ``dedupe`` and ``undo_merge``."""
        return Quality(self.store, self.registry, self.config)

    # -- segments -------------------------------------------------------------------

    def run(
        self,
        as_of: datetime | None = None,
        *,
        snapshot: bool = False,
        progress: Progress | None = None,
    ) -> RunRecord:
        """Compute traits, RFM, lifecycle and every segment as of ``as_of`` (default now).

        Memberships are stored with their history: who entered and who left each
        segment since the previous run. With ``snapshot``, the result is also kept as
        a snapshot (see :attr:`snapshots`).

        With ``[engine] backend = "spark"``, the data tables that changed since they
        were last copied into Spark are copied first, and the run computes its
        traits, scores and segments there; they are stored here
        (:mod:`cible.store.spark`).
        """
        store: AbstractContextManager[Any] = nullcontext(self.store)
        if self.config.engine.backend == "spark":
            report = reporter(progress)
            self.spark.publish(
                self.store, progress=lambda name: report(f"copying {name} to Spark", 0, 1)
            )
            # The run reads and holds through the Store's methods, which SparkRun
            # offers with the data and the held steps on Spark.
            store = spark_run(self.store, self.spark)
        with store as computing:
            return run_segments(
                cast(Store, computing),
                self.registry,
                self.config,
                as_of=as_of,
                snapshot=snapshot,
                progress=progress,
            )

    @property
    def spark(self) -> SparkEngine:
        """The Spark session and tables of a workspace with ``backend = "spark"``."""
        if self.config.engine.backend != "spark":
            raise CibleError(
                'This workspace does not compute on Spark: [engine] backend = "spark".'
            )
        if self._spark is None:
            section = self.config.engine.spark
            owner = workspace_id(self.store)
            self._spark = SparkEngine(
                master=section.master,
                database=section.database or database_name(self.config.workspace.name, owner),
                owner=owner,
                settings=section.settings,
            )
        return self._spark

    @property
    def monitoring(self) -> Monitoring:
        """Drift checks between snapshots: ``check``, ``check_latest``, ``history``.

        Each alert of a recorded check goes to the audit log, and to the webhook and
        e-mail addresses of ``[drift]`` through the deliveries (docs/monitoring.md).
        """
        return Monitoring(self.store, self.registry, self.config, notify=self._send_alert)

    def _send_alert(self, alert: Alert, check: DriftCheck) -> None:
        settings = self.config.drift
        detail = {**alert.as_dict(), "check_id": check.check_id, "as_of": check.as_of}
        self.audit_log.record(
            "monitoring", "drift.alert", f"{alert.kind}:{alert.subject}", "ok", detail
        )
        if not alert.sent:  # it went out less than [drift] repeat_days ago
            return
        key = f"drift:{check.check_id}:{alert.kind}:{alert.subject}"
        body = {"type": "cible.drift_alert", "text": alert.what["en"], "alert": detail}
        outgoing = []
        if settings.webhook is not None:
            outgoing.append(NewDelivery(key, "notify", None, settings.webhook, dumps_json(body)))
        for address in settings.emails:
            text = "\n\n".join(f"{alert.what[lang]}\n{alert.action[lang]}" for lang in ("en", "fr"))
            subject = f"[Cible] drift: {alert.kind} {alert.subject}"
            payload = {"to": address, "subject": subject, "text": text}
            outgoing.append(
                NewDelivery(f"{key}:{address}", "notify", None, address, dumps_json(payload))
            )
        if outgoing:
            self.store.enqueue_deliveries(outgoing, at=utc_now())

    @property
    def snapshots(self) -> Snapshots:
        """Traits and memberships frozen as of a moment: ``list``, ``take``, ``backfill``,
        ``remove``, ``prune``, ``traits``, ``members``."""
        return Snapshots(self.store, self.registry, self.config)

    def traits(self) -> Any:
        """Traits of every customer from the latest run (an Ibis table)."""
        if not self.store.has_run():
            raise CibleError("No run yet: run `cible run` first.")
        return self.table(TRAITS)

    @property
    def segments(self) -> Segments:
        """Built-in and rule segments: ``add``, ``validate``, ``list``, ``get``, ``members``."""
        return Segments(self.store, self.registry, self.config)

    @property
    def drafts(self) -> Drafts:
        """Segments saved half-built from the builder: ``save``, ``get``, ``list``,
        ``remove``; no run computes them."""
        return Drafts(self.store)

    @property
    def kpis(self) -> Kpis:
        """KPIs per segment over time: ``per_segment`` (at each snapshot and now),
        ``cohorts`` (retention triangle) and ``pareto`` (revenue shares); docs/kpis.md."""
        return Kpis(self.store, self.segments)

    @property
    def customers(self) -> Customers:
        """One customer at a time: ``profile`` (traits, memberships with history, consents)."""
        return Customers(self.store)

    @property
    def exports(self) -> Exports:
        """Audiences to export: for analysis, or for a channel with consent checked."""
        return Exports(
            self.store,
            self.registry,
            self.segments.members,
            phone_region=self.config.quality.phone_region,
        )

    @property
    def tags(self) -> Tags:
        """Tags: ``define``, ``list``, ``get``, ``rename``, ``delete``; ``apply`` and
        ``withdraw`` on customers, each change kept with who and how (docs/activation.md).

        Customers whose tags change are re-evaluated at once when ``[live] refresh``
        is on, so segments that read tags follow.
        """
        return Tags(self.store, self.config.tags, on_change=self._refresh_live)

    @property
    def automations(self) -> Automations:
        """Automations: ``add``, ``validate``, ``list``, ``get``, ``pause``, ``resume``,
        ``dry_run``, ``runs``, ``log``; ``process`` is the served worker's pass."""
        templates = self.templates

        def render(
            template_id: str, customer_id: str, lang: str | None, extra: dict[str, Any]
        ) -> Rendered:
            message = templates.render_for(template_id, customer_id, lang=lang, extra=extra)
            return Rendered(message.subject, message.html, message.text, message.lang)

        return Automations(
            self.store,
            self.registry,
            self.config,
            render=render,
            unsubscribe=self.deliveries.unsubscribe_link,
            templates=lambda: [t.definition.id for t in templates.list()],
            segments=lambda: [s.id for s in self.segments.catalogue()],
            on_tagged=self._refresh_live,
        )

    @property
    def campaigns(self) -> Campaigns:
        """Campaigns: ``validate``, ``add``, ``list``, ``get``, ``launch`` (assign arms),
        ``pause``, ``end``, ``assignments``, ``conflicts``, ``send``, ``sends``
        (docs/campaigns.md)."""
        return Campaigns(
            self.store,
            members=self.segments.members,
            segments=lambda: [s.id for s in self.segments.catalogue()],
            templates=lambda: [t.definition.id for t in self.templates.list()],
            sending=lambda: SendContext(
                render=self.templates.render_for,
                unsubscribe=self.deliveries.unsubscribe_link,
                webhooks=self.config.webhooks,
                zone=self.config.workspace.zone,
            ),
        )

    @property
    def experiments(self) -> Experiments:
        """Campaign analyses: ``analyse`` (per segment and variant against the holdout),
        ``power`` and ``budget`` (docs/experiments.md)."""
        return Experiments(
            self.store,
            self.config.experiments,
            campaign=self.campaigns.get,
            members=self.segments.members,
        )

    def _apply_objections(self, customer_ids: list[str]) -> None:
        """Re-evaluate customers an imported consents file made object to profiling.

        Always, whatever ``[live] refresh`` says, as ``ws.objection.object`` does: an
        objection ends the customer's automated memberships at once (art. 21).
        """
        self.segments.refresh(customer_ids, source="objection")

    def _refresh_live(self, customer_ids: list[str]) -> None:
        """Re-evaluate customers whose tags changed, when ``[live] refresh`` is on."""
        if self.config.live.refresh:
            self.segments.refresh(customer_ids)

    @property
    def templates(self) -> Templates:
        """Message templates: ``add``, ``list``, ``get``, ``remove``, ``preview``, ``render_for``
        (one customer's message, as an automation sends it)."""
        return Templates(
            self.store,
            self.registry,
            in_use=lambda template_id: self.automations.using_template(template_id),
        )

    @property
    def deliveries(self) -> Deliveries:
        """Webhooks, e-mails and notifications to send: ``claim``, ``record``, ``list``,
        ``log``, ``retry``, ``unsubscribe`` (consent, caps and quiet hours at send time)."""
        return Deliveries(self.store, self.registry, self.config)

    def cluster(
        self,
        *,
        dimension: str = DEFAULT_DIMENSION,
        method: str = "kmeans",
        k: str | int = "auto",
        k_range: tuple[int, int] = (2, 10),
        random_state: int | None = None,
        sample_size: int = 50_000,
        include: list[str] | None = None,
        exclude: tuple[str, ...] = (),
        n_bootstrap: int = 20,
        progress: Progress | None = None,
    ) -> Clustering:
        """Find clusters in the latest run's traits and save them as segment ``dimension``.

        Parameters
        ----------
        dimension : str
            Dimension id of the cluster segments (``clusters-1``, ``clusters-2``...);
            clustering again into the same dimension replaces it.
        method : str
            ``kmeans``, ``minibatch``, ``gmm``, ``ward`` or ``hdbscan``.
        k : "auto" or int
            Number of clusters, or ``"auto"`` to choose it over ``k_range``.
        random_state : int, optional
            Seed: the same seed on the same data gives the same clusters.
        sample_size : int
            Customers learned from; everyone is then assigned.
        include, exclude : list of str, optional
            Traits to read besides, or instead of, the default choice.
        n_bootstrap : int
            Bootstrap resamples for the stability (0 skips it).

        Returns
        -------
        Clustering
            The dimension, the stored model's id, the segment ids and the fit's facts
            (k and why, stability, rules, distinguishing traits, excluded traits).
        """
        return fit_clustering(
            self.store,
            self.registry,
            dimension=dimension,
            method=method,
            k=k,
            k_range=k_range,
            random_state=random_state,
            sample_size=sample_size,
            include=include,
            exclude=exclude,
            n_bootstrap=n_bootstrap,
            progress=progress,
        )

    def report(self, lang: str = "en") -> str:
        """The latest run as one self-contained HTML page, in ``en`` or ``fr``.

        It holds the segments of every dimension, the RFM grid, the lifecycle funnel,
        each clustering, persona cards, portfolio guardrails and, once ``cible audit``
        has run, the data quality score and top problems.
        """
        if lang not in LANGS:
            raise CibleError(f"Unknown language {lang!r}: use one of {', '.join(LANGS)}.")
        self._check_dimensions()
        report = build_report(
            self.store,
            self.segments,
            workspace=self.config.workspace.name,
            lang=lang,
            currency=self.config.workspace.currency,
            config=self.config,
        )
        # The quality section reads the latest `cible audit`; none before the first one.
        return render_report(
            replace(
                report,
                quality=quality_block(self.store, lang),
                campaigns=campaigns_block(self._campaign_analyses(lang), lang),
            )
        )

    def _campaign_analyses(self, lang: str) -> list[tuple[CampaignAnalysis, str]]:
        """Every launched campaign's analysis as of now, with its name in ``lang``."""
        found = []
        for summary in self.campaigns.list():
            stored = self.campaigns.get(summary["id"])
            if stored["launched_at"] is None:
                continue
            name = parse_campaign(stored["definition"]).label(lang)
            found.append((self.experiments.analyse(summary["id"]), name))
        return found

    def _check_dimensions(self) -> None:
        """Refuse dimensions named in ``cible.toml`` that no segment has (see
        :func:`~cible.domain.config.check_dimensions` for why not on open)."""
        segments = self.table("segments")
        stored = segments.select("dimension").distinct().to_pyarrow().column(0).to_pylist()
        known = [*BUILTIN_DIMENSIONS, *(d for d in stored if d is not None)]
        try:
            check_dimensions(self.config, known)
        except ConfigError as exc:
            raise ConfigError(f"{self.path / CONFIG_FILE}: {exc}") from None

    def persona(self, segment_id: str) -> PersonaCard:
        """The persona card of a segment in the latest run (English and French).

        Name (generated, or ``[personas.names.<id>]``), size, shares, average value and
        churn risk, what sets it apart, preferred channels and time, top categories
        and the playbook's recommended actions. See docs/segments.md.
        """
        return Personas(self.store, self.segments, self.config).card(segment_id)

    @property
    def models(self) -> Models:
        """Trained models: ``train_churn``, ``churn_card`` and ``clv_evaluation``."""
        return Models(self.store, self.config.privacy.blocked_categories())

    @property
    def privacy(self) -> Privacy:
        """The suppression list (``suppress``, ``unsuppress``, ``suppressions``) and
        ``erase`` of a customer from every table (docs/privacy.md)."""
        # On Spark, the copies of the tables go with the erased customer; the next
        # run copies the tables again.
        forget = self.spark.forget if self.config.engine.backend == "spark" else None
        return Privacy(
            self.store, self.path, self.config.quality.phone_region, copies_forgotten=forget
        )

    @property
    def fairness(self) -> Fairness:
        """The fairness report of a protected attribute held for audit only: ``report``
        (group shares, disparate impact, proxies; each one audited); docs/fairness.md."""
        return Fairness(self.store, self.registry, self.config, audit=self.audit_log.record)

    @property
    def objection(self) -> Objection:
        """Objection to profiling (GDPR art. 21): ``object``, ``unobject``, ``objects``,
        ``objecting``; docs/privacy.md."""

        def refresh(ids: list[str], at: datetime, source: str) -> int:
            return self.segments.refresh(ids, as_of=at, source=source).exited

        return Objection(self.store, self.registry, self.config, refresh=refresh)

    # -- access ---------------------------------------------------------------------

    @property
    def tokens(self) -> Tokens:
        """API tokens with roles: ``create`` (secret shown once), ``list``, ``revoke``."""
        return Tokens(self.store)

    @property
    def privacy_access(self) -> PrivacyAccess:
        """Rights of access and portability (``export``, ``consents``), the record of
        processing (``record``) and the customers past retention (``retention``);
        docs/privacy-access.md."""
        return PrivacyAccess(
            self.store,
            self.registry,
            self.config,
            catalog=lambda: {
                info.id: {
                    "kind": info.kind,
                    "dimension": info.dimension,
                    "name": info.name,
                    "description": info.description,
                }
                for info in self.segments.catalogue()
            },
            rules=lambda: [d.to_dict() for d in load_segments(self.store, self.registry)],
            audit=self.audit_log.record,
        )

    @property
    def audit_log(self) -> AuditLog:
        """The append-only audit log: ``record`` an action, read its ``entries``."""
        return AuditLog(self.store)


def load_config(path: Path) -> WorkspaceConfig:
    """Read and validate ``cible.toml``; errors name the file and the setting."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    text = utf8_text(raw_bytes, path, ConfigError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    try:
        config = WorkspaceConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        # Our own checks raise ValueError; pydantic prefixes their text.
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where + ': ' if where else ''}{message}.") from exc
    # Settings that name traits are checked against the trait registry here, at start-up.
    try:
        typology_inputs(config.typology)
        check_playbook(config.playbook, NUMERIC_TRAITS)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return config

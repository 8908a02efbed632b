"""Workspace settings as stored in ``cible.toml``, validated with pydantic.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> cfg = WorkspaceConfig.model_validate(
...     {"attributes": {"loyalty_tier": {"type": "enum", "values": ["gold", "silver"],
...                                      "category": "value"}}}
... )
>>> cfg.attributes["loyalty_tier"].values
['gold', 'silver']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cible.domain.activation_settings import (
    ActivationSection,
    EmailSection,
    TagsSection,
    WebhookEndpoint,
    check_webhook_names,
)
from cible.domain.errors import ConfigError
from cible.domain.experiment_settings import ExperimentsSection
from cible.domain.monitoring_settings import DriftSection, ScheduleSection
from cible.domain.playbook import LocalText, PlaybookSection
from cible.domain.privacy_settings import PrivacySection
from cible.domain.schema import CANONICAL_TABLES, Category, FieldType, Sensitivity

# No double underscore: Cible names its own working columns ``<field>__reason``.
_SNAKE = re.compile(r"^[a-z](?!.*__)[a-z0-9_]{0,62}$")
#: Dimension ids: as segment definitions write them (lower case, digits, hyphens).
_DIMENSION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: Longest span, in days, a setting may count (100 years): anything longer is a typo,
#: and date arithmetic beyond the calendar fails later.
MAX_DAYS = 36_500


class _Strict(BaseModel):
    # NaN and infinity are refused in every float setting (TOML writes them nan and
    # inf): no threshold means them, and they turn comparisons silently false.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: A number of days from 1 to :data:`MAX_DAYS`.
Days = Annotated[int, Field(gt=0, le=MAX_DAYS)]


#: Time zone of a workspace without ``[workspace] timezone``, by ``default_region``;
#: any other region: UTC. A country spanning several zones (the United States) takes
#: its most populous one; set ``timezone`` to choose another.
REGION_TIMEZONES = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "US": "America/New_York",
    "GB": "Europe/London",
}


class WorkspaceSection(_Strict):
    """``[workspace]``: identity and regional defaults.

    ``timezone`` is an IANA name (``Europe/Paris``); when unset, the zone of
    ``default_region`` in :data:`REGION_TIMEZONES`, else UTC. Timestamps are stored in
    UTC; the zone decides the local hour and weekday shown to a marketer ("when they
    buy").

    Examples
    --------
    >>> WorkspaceSection(default_region="BE").zone
    'Europe/Brussels'
    >>> WorkspaceSection(default_region="DE").zone
    'UTC'
    >>> WorkspaceSection(timezone="America/Montreal").zone
    'America/Montreal'
    """

    name: str = "cible"
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "FR"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    timezone: str | None = None
    #: The database encrypted at rest with the key in ``CIBLE_ENCRYPTION_KEY``
    #: (docs/privacy.md, "Encryption at rest"); set once, by ``cible init --encrypt``.
    encrypted: bool = False

    @property
    def zone(self) -> str:
        """The workspace's IANA time zone: ``timezone``, else the region's, else UTC."""
        return self.timezone or REGION_TIMEZONES.get(self.default_region, "UTC")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # deferred: rarely needed

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"timezone {value!r} is not an IANA time zone name; use one such as "
                "Europe/Paris, Europe/Brussels or America/New_York"
            ) from error
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import pycountry  # deferred: its database is only needed to check this

        if pycountry.countries.get(alpha_2=value) is None:
            raise ValueError(
                f"default_region {value!r} is not an ISO 3166 country code; "
                "use one such as FR, BE or CH"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        import pycountry

        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(
                f"currency {value!r} is not an ISO 4217 currency code; use one such as EUR, "
                "CHF or USD"
            )
        return value


#: Default of ``[import] max_number``: amounts, prices and quantities above it (or below
#: its opposite) are rejected at import as implausible.
DEFAULT_MAX_NUMBER = 1e9
#: Defaults of ``[import] min_date`` and ``max_date``: the plausible dates of any
#: imported date or timestamp (births, orders, events, records). Wide on purpose: a
#: birth in 1890 or an order in 2030 is loaded and reported by ``cible audit``; only
#: what no computation can use is refused at import.
DEFAULT_MIN_DATE = date(1800, 1, 1)
DEFAULT_MAX_DATE = date(2200, 12, 31)
# pandas holds timestamps in nanoseconds from 1677-09-21 to 2262-04-11: a date outside
# would break every command that reads it into a data frame.
_EARLIEST_DATE = date(1678, 1, 1)
_LATEST_DATE = date(2261, 12, 31)


class ImportSection(_Strict):
    """``[import]``: defaults for ``cible import``.

    ``max_number``, ``min_date`` and ``max_date`` bound every imported value: a number
    outside ``[-max_number, max_number]`` (amounts: ``[0, max_number]``), not finite
    (``nan``, ``inf``, ``1e309``), or a date or timestamp outside
    ``[min_date, max_date]`` rejects its row with a reason naming the range.
    """

    #: strftime format of dates in files; empty means recognise ISO and French forms.
    date_format: str = ""
    #: Decimal separator of amounts: "auto", "." or ",".
    decimal: Annotated[str, Field(pattern=r"^(auto|\.|,)$")] = "auto"
    #: Largest magnitude of any imported number (amount, price, quantity, attribute).
    max_number: Annotated[float, Field(gt=0)] = DEFAULT_MAX_NUMBER
    #: Earliest plausible date of any imported date or timestamp (1678-01-01 at least).
    min_date: Annotated[date, Field(ge=_EARLIEST_DATE)] = DEFAULT_MIN_DATE
    #: Latest plausible date of any imported date or timestamp, the whole day included
    #: (2261-12-31 at most).
    max_date: Annotated[date, Field(le=_LATEST_DATE)] = DEFAULT_MAX_DATE
    #: Per kind, canonical column -> column name in the file.
    mappings: dict[str, dict[str, str]] = {}

    @model_validator(mode="after")
    def _dates_in_order(self) -> ImportSection:
        if self.min_date >= self.max_date:
            raise ValueError(
                f"[import] min_date ({self.min_date}) must be before max_date ({self.max_date})"
            )
        return self

    @field_validator("mappings")
    @classmethod
    def _known_kinds(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for kind in value:
            if kind.replace("-", "_") not in CANONICAL_TABLES:
                known = ", ".join(CANONICAL_TABLES)
                raise ValueError(f"unknown kind {kind!r} in import.mappings (known: {known})")
        normalised = {kind.replace("-", "_"): mapping for kind, mapping in value.items()}
        for kind, mapping in normalised.items():
            fields = CANONICAL_TABLES[kind].names
            for target in mapping:
                # Custom customer attributes are checked when the registry is built.
                if target not in fields and kind != "customers":
                    raise ValueError(
                        f"[import.mappings.{kind}] maps {target!r}, which is not a field of "
                        f"{kind} (fields: {', '.join(fields)})"
                    )
        return normalised


class LifecycleSection(_Strict):
    """``[lifecycle]``: thresholds of the lifecycle stages (docs/segments.md).

    "At risk" and "lapsed" are relative to a customer's own rhythm (mean days between
    purchases) when they have bought at least twice, else absolute.
    """

    new_days: Days = 90
    loyal_min_orders: Annotated[int, Field(ge=2)] = 4
    at_risk_factor: Annotated[float, Field(gt=1)] = 1.5
    lapsed_factor: Annotated[float, Field(gt=1)] = 3.0
    at_risk_days: Days = 120
    lapsed_days: Days = 240
    churned_days: Days = 365
    reactivated_days: Days = 90

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleSection:
        if not self.at_risk_days < self.lapsed_days < self.churned_days:
            raise ValueError("at_risk_days < lapsed_days < churned_days must hold")
        if not self.at_risk_factor < self.lapsed_factor:
            raise ValueError("at_risk_factor must be smaller than lapsed_factor")
        return self


#: An RFM score, 1 to 5.
_Score = Annotated[int, Field(ge=1, le=5)]


class RfmRule(_Strict):
    """One named RFM segment: ranges of the R and F scores (1-5, inclusive)."""

    r: Annotated[list[_Score], Field(min_length=2, max_length=2)]
    f: Annotated[list[_Score], Field(min_length=2, max_length=2)]

    @model_validator(mode="after")
    def _ordered(self) -> RfmRule:
        for name in ("r", "f"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(
                    f"{name} = [{low}, {high}] needs low <= high, such as [{high}, {low}]"
                )
        return self


class TraitsSection(_Strict):
    """``[traits]``: what some traits count (docs/typologies.md)."""

    #: A purchased product launched at most this many days before the order is new.
    new_product_days: Days = 90
    #: Product categories (compared without case) whose spend is high-tech.
    high_tech_categories: list[str] = ["high-tech", "electronics"]
    #: Page paths (prefixes, compared without case) that are promotion pages.
    promo_paths: list[str] = ["/promo", "/soldes", "/sale", "/deals", "/bons-plans"]


class TypologySection(_Strict):
    """``[typology]``: how the six typologies are scored (docs/typologies.md).

    ``weights.<typology>`` replaces that typology's default inputs: trait -> weight,
    a negative weight meaning "lower is more typical". Trait names are checked when
    the workspace opens.
    """

    #: A customer whose best score is below this gets no typology.
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.75
    weights: dict[str, dict[str, float]] = {}

    @field_validator("weights")
    @classmethod
    def _non_zero(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for typology, inputs in value.items():
            if not inputs:
                raise ValueError(f"typology.weights.{typology} names no trait")
            for trait, weight in inputs.items():
                if weight == 0:
                    raise ValueError(
                        f"typology.weights.{typology}.{trait} must be a non-zero number"
                    )
        return value


class PortfolioSection(_Strict):
    """``[portfolio]``: guardrails of the segment portfolio (docs/segments.md)."""

    #: Segments with fewer customers than this are flagged as micro-segments.
    min_size: Annotated[int, Field(ge=0)] = 100
    #: Segments holding less than this share of revenue are flagged too.
    min_revenue_share: Annotated[float, Field(ge=0, le=1)] = 0.01
    #: The Pareto view looks at this top share of buyers by monetary value.
    pareto_top_share: Annotated[float, Field(gt=0, lt=1)] = 0.2
    #: Pairs of dimensions whose overlap the report shows.
    overlap: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = [
        ["typology", "value"],
        ["typology", "lifecycle"],
    ]

    @field_validator("overlap")
    @classmethod
    def _dimension_ids(cls, value: list[list[str]]) -> list[list[str]]:
        for pair in value:
            for name in pair:
                _check_dimension_id(name)
        return value


class PersonasSection(_Strict):
    """``[personas]``: which persona cards the report shows, and names you chose."""

    #: Dimensions whose segments get a persona card in the report.
    dimensions: list[str] = ["typology"]
    #: Segment id -> name that replaces the generated one.
    names: dict[str, LocalText] = {}

    @field_validator("dimensions")
    @classmethod
    def _dimension_ids(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_dimension_id(name)
        return value


class QualitySection(_Strict):
    """``[quality]``: normalisation defaults and audit thresholds (docs/quality.md)."""

    #: Region assumed for phone numbers written without a country code (ISO 3166 alpha-2).
    phone_region: str = "FR"
    #: A profile not updated for this many months counts as stale.
    stale_profile_months: Annotated[int, Field(gt=0, le=1_200)] = 24
    #: A customer with no order or event for this many days counts as inactive.
    inactive_days: Days = 365
    #: Ages outside [min_age, max_age] years are impossible for a customer.
    min_age: Annotated[int, Field(ge=0)] = 15
    max_age: Annotated[int, Field(gt=0, le=150)] = 110
    #: Spend above Q3 + outlier_iqr_factor * IQR is an outlier (Tukey's far-out fence).
    outlier_iqr_factor: Annotated[float, Field(gt=0, le=100)] = 3.0

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers  # deferred: its metadata is only needed to check this

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"phone_region {value!r} is not a region phone numbers are known for; "
                "use an ISO 3166 alpha-2 code such as FR, BE or CH"
            )
        return region

    @model_validator(mode="after")
    def _ages_ordered(self) -> QualitySection:
        if not self.min_age < self.max_age:
            raise ValueError("min_age must be smaller than max_age")
        return self


class DedupeSection(_Strict):
    """``[dedupe]``: identity resolution thresholds (docs/quality.md, Identity resolution).

    Match weights are Splink's: log2 of the odds that two profiles are one person,
    prior included (weight 0 is even odds, 2 is 4 to 1, 10 is about 1,000 to 1).
    The deterministic guard weighs the names and birth date alone, without the
    prior, which falls as the file grows.
    """

    #: Pairs found by the probabilistic model merge at or above this match weight.
    min_match_weight: float = 2.0
    #: Profiles sharing a normalised e-mail (or E.164 phone) merge without a threshold...
    deterministic_email: bool = True
    deterministic_phone: bool = True
    #: ...unless the rest of the profile contradicts it: names and birth date alone
    #: (prior and whereabouts left out) weigh below this.
    deterministic_min_weight: float = 0.0
    #: An e-mail or phone shared by more profiles is a shared contact, not a person.
    max_profiles_per_key: Annotated[int, Field(ge=2)] = 3


class IngestSection(_Strict):
    """``[ingest]``: live events received by ``cible serve`` (docs/ingestion.md).

    Examples
    --------
    >>> IngestSection().dedupe_window_days
    7
    """

    #: A message whose ``messageId`` was received this many days ago or less is a
    #: duplicate; older ids are forgotten (Segment keeps about a day).
    dedupe_window_days: Days = 7
    #: Group commit: a micro-batch is written once it holds this many messages...
    batch_max_messages: Annotated[int, Field(ge=1, le=100_000)] = 5_000
    #: ...or this many milliseconds after its first message arrived.
    batch_max_wait_ms: Annotated[int, Field(ge=0, le=10_000)] = 5


class LiveSection(_Strict):
    """``[live]``: segments kept current while ``cible serve`` runs (docs/realtime.md).

    Examples
    --------
    >>> LiveSection().sweep_interval_seconds
    300
    """

    #: Re-evaluate the customers of each committed micro-batch of events.
    refresh: bool = True
    #: Every this many seconds, re-evaluate every customer (exits caused by time
    #: passing: ``within_days``, recency); 0 turns the sweep off.
    sweep_interval_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    #: The most customers re-evaluated per database call during a sweep; pages
    #: shrink below it to take about ``sweep_page_seconds`` each.
    sweep_chunk: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000
    #: How long one sweep page should take. Live refreshes of new events wait for the
    #: page under way, so this bounds their extra delay during a sweep; on a large
    #: workspace, longer pages sweep much faster (docs/realtime.md).
    sweep_page_seconds: Annotated[float, Field(gt=0, le=600)] = 1.0


#: Bytes in each unit of ``[engine] memory_limit``.
_UNITS = {
    **{unit: 1000**n for n, unit in enumerate(("KB", "MB", "GB", "TB", "PB"), start=1)},
    **{unit: 1024**n for n, unit in enumerate(("KiB", "MiB", "GiB", "TiB", "PiB"), start=1)},
}
#: The least memory a workspace opens in (its catalogue, a few pages).
_MIN_MEMORY = 128 * 1024**2


def size_bytes(text: str) -> int | None:
    """The bytes of a size such as ``"6GB"``, ``"5.5 GiB"`` (DuckDB's way of
    showing its memory limit) or ``"512MiB"``; None when ``text`` is not one.

    Examples
    --------
    >>> size_bytes("5.5 GiB"), size_bytes("6GB"), size_bytes("six")
    (5905580032, 6000000000, None)
    """
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP]i?B)", text.replace(" ", ""))
    return None if found is None else int(float(found[1]) * _UNITS[found[2]])


#: A Spark database name: letters, digits and underscores.
_SPARK_DATABASE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class SparkSection(_Strict):
    """``[engine.spark]``: the Spark session of a workspace with ``backend = "spark"``.

    ``master`` is the Spark master (``local[2]``, ``spark://host:7077``, ``yarn``,
    ``k8s://...``); unset, Spark's usual settings decide (``spark.master`` in
    ``spark-defaults.conf`` or ``PYSPARK_SUBMIT_ARGS``), else every core of this
    machine (``local[*]``). ``database`` is the Spark database that receives the
    workspace's tables (default: ``cible_`` and the workspace's name). ``settings``
    are any other Spark settings (``spark.executor.memory``,
    ``spark.sql.warehouse.dir``...), on top of ``spark-defaults.conf``.

    Examples
    --------
    >>> SparkSection(master="local[2]", settings={"spark.executor.memory": "4g"}).master
    'local[2]'
    >>> try:
    ...     SparkSection(database="my shop")
    ... except ValueError as error:
    ...     print(error.errors()[0]["msg"])
    Value error, 'my shop' is not a Spark database name: use letters, digits and underscores
    """

    master: str | None = None
    database: str | None = None
    settings: dict[str, str] = {}

    @field_validator("master")
    @classmethod
    def _spark_master(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0].lower()
        if scheme in ("spark", "yarn", "k8s", "local") or scheme.startswith("local["):
            return value
        raise ValueError(
            f"{value!r} is not a Spark master: use local[N], spark://host:7077, yarn or "
            "k8s://https://host:443"
        )

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str | None) -> str | None:
        if value is not None and _SPARK_DATABASE.fullmatch(value) is None:
            raise ValueError(
                f"{value!r} is not a Spark database name: use letters, digits and underscores"
            )
        return value

    @field_validator("settings")
    @classmethod
    def _spark_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting: Spark's start with 'spark.'")
        return value


class EngineSection(_Strict):
    """``[engine]``: where the workspace's data live, and how much of the machine the
    embedded DuckDB may take.

    ``backend`` is ``"duckdb"`` (the default: ``cible.duckdb`` in the workspace's
    folder) or a PostgreSQL address, ``"postgres://user@host:port/database/schema"``
    (the schema, created when missing, holds the workspace; ``public`` when the
    address names none): then every command and server of the workspace reads and
    writes there, and several may at once; or ``"spark"``: the workspace's state
    (imports, runs, memberships and their history, tags, deliveries) stays in
    ``cible.duckdb`` and a run computes its traits, scores and segments on a Spark
    session (``[engine.spark]``), from the workspace's tables copied into Spark's
    catalogue when they changed.

    ``memory_limit`` caps DuckDB's memory (a size such as ``"6GB"`` or ``"512MiB"``;
    unset, DuckDB takes 80% of the machine's): above it, joins, group-bys and sorts
    spill to ``cible.duckdb.tmp`` beside the database, so a run over more data than
    memory holds finishes, slower, instead of failing. Python's own memory (models,
    pages of a report) comes on top. ``threads`` caps the cores DuckDB uses (unset: all).

    Examples
    --------
    >>> EngineSection(memory_limit="6 GB").memory_limit
    '6GB'
    >>> try:
    ...     EngineSection(memory_limit="six")
    ... except ValueError as error:
    ...     print(error.errors()[0]["msg"])
    Value error, 'six' is not a size: write a number and a unit, such as "6GB" or "512MiB"
    """

    backend: str = "duckdb"
    memory_limit: str | None = None
    threads: Annotated[int, Field(ge=1, le=1_024)] | None = None
    spark: SparkSection = SparkSection()

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower()
        if value in ("duckdb", "spark") or (
            scheme in ("postgres", "postgresql") and "://" in value
        ):
            return value
        if scheme == "spark":
            raise ValueError(
                f'{value!r} is not a backend: write backend = "spark" and the master as '
                '[engine.spark] master = "..."'
            )
        raise ValueError(
            f'{value!r} is not a backend: use "duckdb", "spark" or '
            '"postgres://user@host:port/database"'
        )

    @property
    def on_postgres(self) -> bool:
        """Whether the workspace lives in PostgreSQL."""
        return self.backend not in ("duckdb", "spark")

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is None:
            return None
        size = size_bytes(value)
        if size is None:
            raise ValueError(
                f'{value!r} is not a size: write a number and a unit, such as "6GB" or "512MiB"'
            )
        if size < _MIN_MEMORY:
            raise ValueError(
                f"{value!r} is too little for DuckDB to open the workspace: give at least 128MiB"
            )
        return value.replace(" ", "")


class AttributeDeclaration(_Strict):
    """``[attributes.NAME]``: a custom customer attribute."""

    type: FieldType = FieldType.STRING
    category: Category = Category.PSYCHOGRAPHIC
    sensitivity: Sensitivity = Sensitivity.NONE
    values: list[str] = []
    description: str = ""
    legal_basis: str | None = None

    @field_validator("legal_basis")
    @classmethod
    def _recorded(cls, value: str | None) -> str | None:
        # A blank legal basis records nothing: it must not unlock special-category data.
        if value is not None and not value.strip():
            raise ValueError(
                "legal_basis is blank; write the legal basis (such as 'explicit consent, "
                "form HP-2') or remove the line"
            )
        return value if value is None else value.strip()

    @model_validator(mode="after")
    def _enum_has_values(self) -> AttributeDeclaration:
        if self.type is FieldType.ENUM and not self.values:
            raise ValueError("an enum attribute needs a non-empty 'values' list")
        if self.type is not FieldType.ENUM and self.values:
            raise ValueError("'values' only applies to attributes of type 'enum'")
        self.values = [v.lower() for v in self.values]
        return self


class WorkspaceConfig(_Strict):
    """The whole of ``cible.toml``."""

    workspace: WorkspaceSection = WorkspaceSection()
    import_: Annotated[ImportSection, Field(alias="import")] = ImportSection()
    attributes: dict[str, AttributeDeclaration] = {}
    lifecycle: LifecycleSection = LifecycleSection()
    #: Named RFM segments, first match wins; empty keeps the built-in mapping.
    rfm: dict[str, RfmRule] = {}
    traits: TraitsSection = TraitsSection()
    typology: TypologySection = TypologySection()
    portfolio: PortfolioSection = PortfolioSection()
    personas: PersonasSection = PersonasSection()
    playbook: PlaybookSection = PlaybookSection()
    quality: QualitySection = QualitySection()
    dedupe: DedupeSection = DedupeSection()
    ingest: IngestSection = IngestSection()
    live: LiveSection = LiveSection()
    engine: EngineSection = EngineSection()
    tags: TagsSection = TagsSection()
    activation: ActivationSection = ActivationSection()
    email: EmailSection = EmailSection()
    webhooks: dict[str, WebhookEndpoint] = {}
    schedule: ScheduleSection = ScheduleSection()
    drift: DriftSection = DriftSection()
    experiments: ExperimentsSection = ExperimentsSection()
    privacy: PrivacySection = PrivacySection()

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _finite(self) -> WorkspaceConfig:
        # Every section, those defined elsewhere ([playbook]) and those to come: no
        # setting means NaN or infinity, however it was written ("nan", inf, 1e999).
        found = non_finite(self.model_dump(mode="python", by_alias=True))
        if found is not None:
            raise ValueError(f"{found} is not a finite number; write a number such as 1.5")
        return self

    @model_validator(mode="after")
    def _encrypted_on_duckdb(self) -> WorkspaceConfig:
        if self.workspace.encrypted and self.engine.backend != "duckdb":
            raise ValueError(
                "[workspace] encrypted is DuckDB's encryption of cible.duckdb; a workspace "
                "held in PostgreSQL is encrypted by the server (its disk encryption), and "
                "Spark's copies of the tables would not be encrypted: remove encrypted or "
                'use backend = "duckdb"'
            )
        return self

    _webhook_names = field_validator("webhooks")(check_webhook_names)

    @model_validator(mode="after")
    def _alert_webhook(self) -> WorkspaceConfig:
        name = self.drift.webhook
        if name is not None and name not in self.webhooks:
            known = ", ".join(sorted(self.webhooks)) or "none: add a [webhooks.NAME] section"
            raise ValueError(f"drift.webhook {name!r} is not in [webhooks] ({known})")
        return self

    @field_validator("attributes")
    @classmethod
    def _valid_names(
        cls, value: dict[str, AttributeDeclaration]
    ) -> dict[str, AttributeDeclaration]:
        taken = set(CANONICAL_TABLES["customers"].names)
        for name in value:
            if not _SNAKE.match(name):
                raise ValueError(
                    f"attribute name {name!r} must be snake_case: a lower-case letter, "
                    "then letters, digits or single underscores"
                )
            if name in taken:
                raise ValueError(f"attribute {name!r} is already a built-in customer field")
        return value


def _check_dimension_id(name: str) -> None:
    if not _DIMENSION.match(name) or name.endswith("\n"):
        raise ValueError(
            f"{name!r} is not a dimension id: use lower-case letters, digits, hyphens and "
            "underscores, such as 'value' or 'lifecycle'"
        )


def configured_dimensions(config: WorkspaceConfig) -> list[tuple[str, str]]:
    """``(setting, dimension)`` for every dimension ``config`` names, in file order.

    Examples
    --------
    >>> configured_dimensions(WorkspaceConfig())[:2]
    [('portfolio.overlap', 'typology'), ('portfolio.overlap', 'value')]
    """
    named = [("portfolio.overlap", name) for pair in config.portfolio.overlap for name in pair]
    named += [("personas.dimensions", name) for name in config.personas.dimensions]
    return named


def check_dimensions(config: WorkspaceConfig, known: Iterable[str]) -> None:
    """Refuse a dimension named in ``config`` that no segment has.

    Which dimensions exist is known only with the workspace's segments (rules and
    clusterings add their own), so this runs where they are read, not when the file
    is: checking on open would lock the workspace as soon as the last segment of a
    named dimension was removed, and keep ``cible segments add`` from adding it.

    Raises
    ------
    ConfigError
        Naming the setting, the unknown dimension and the known ones.

    Examples
    --------
    >>> check_dimensions(WorkspaceConfig(), ["typology", "value", "lifecycle"])
    >>> cfg = WorkspaceConfig.model_validate({"personas": {"dimensions": ["lifecycl"]}})
    >>> check_dimensions(cfg, ["typology", "value", "lifecycle"])
    Traceback (most recent call last):
    ...
    cible.domain.errors.ConfigError: personas.dimensions names dimension 'lifecycl', which no segment has (known: lifecycle, typology, value).
    """  # noqa: E501
    names = sorted(set(known))
    for setting, name in configured_dimensions(config):
        if name not in names:
            raise ConfigError(
                f"{setting} names dimension {name!r}, which no segment has "
                f"(known: {', '.join(names)})."
            )


def non_finite(value: object, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite float inside ``value``, else None.

    Examples
    --------
    >>> non_finite({"lifecycle": {"at_risk_factor": float("nan")}})
    'lifecycle.at_risk_factor'
    """
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        items: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None

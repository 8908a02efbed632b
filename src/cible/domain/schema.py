"""Canonical tables and the field registry (DESIGN.md section 4).

Every attribute Cible stores is declared here once, with its type, its category
(demographic, geographic, ...) and its sensitivity (none, personal, special). The
importer, the segment language and the models all read these declarations instead of
hard-coding column lists, so that a custom attribute declared in ``cible.toml`` is
treated exactly like a built-in one.

Examples
--------
>>> from cible.domain.schema import CANONICAL_TABLES
>>> orders = CANONICAL_TABLES["orders"]
>>> orders.key
('order_id',)
>>> orders.field("amount").type
<FieldType.AMOUNT: 'amount'>
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    """Logical type of an attribute; the store maps it to a column type."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    #: A non-negative number of money units (refused when negative).
    AMOUNT = "amount"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    #: A string restricted to a closed list of values.
    ENUM = "enum"
    #: A JSON document (event properties and context).
    JSON = "json"


class Category(StrEnum):
    """What an attribute says about a customer (the classic segmentation bases)."""

    IDENTIFIER = "identifier"
    DEMOGRAPHIC = "demographic"
    GEOGRAPHIC = "geographic"
    PSYCHOGRAPHIC = "psychographic"
    BEHAVIOURAL = "behavioural"
    VALUE = "value"
    CONTEXTUAL = "contextual"
    #: Bookkeeping written by Cible itself (timestamps of records, sources).
    TECHNICAL = "technical"


class Sensitivity(StrEnum):
    """How carefully an attribute must be handled.

    ``special`` is the GDPR article 9 list (health, religion, ethnicity, political
    opinion, sexual orientation, trade-union membership, genetic and biometric data):
    such a field never feeds a rule, a clustering or a model unless the workspace
    records a legal basis for it.
    """

    NONE = "none"
    PERSONAL = "personal"
    SPECIAL = "special"


@dataclass(frozen=True)
class Field:
    """One declared attribute of a canonical table.

    Parameters
    ----------
    name : str
        Column name, snake_case.
    type : FieldType
        Logical type; decides how imported text is parsed and validated.
    category : Category
        Segmentation basis the attribute belongs to.
    sensitivity : Sensitivity
        Handling class (see :class:`Sensitivity`).
    required : bool
        A row without a value is rejected on import.
    values : tuple of str
        Allowed values of an ``ENUM`` field, lower case.
    description : str
        One sentence for documentation and the UI.
    legal_basis : str or None
        For a ``special`` field, the recorded legal basis that allows its use.
    """

    name: str
    type: FieldType
    category: Category
    sensitivity: Sensitivity = Sensitivity.NONE
    required: bool = False
    values: tuple[str, ...] = ()
    description: str = ""
    legal_basis: str | None = None

    @property
    def usable_for_targeting(self) -> bool:
        """Whether rules, clusterings and models may read this field."""
        return self.sensitivity is not Sensitivity.SPECIAL or bool(self.legal_basis)


@dataclass(frozen=True)
class Table:
    """A canonical table: its fields, in storage order, and its key.

    Parameters
    ----------
    name : str
        Table name in the store.
    fields : tuple of Field
        Declared attributes.
    key : tuple of str
        Columns that identify a row; import upserts on them.
    references : dict
        Column -> referenced table, for rows that point at a customer or an order.
        A dangling reference is loaded but flagged.
    versioned_by : str or None
        Timestamp column deciding which of two versions of a row is newer.
    one_of : tuple of tuples
        Groups of fields of which each row needs at least one.
    append_only : bool
        A ledger: rows are only ever appended, never updated or deleted by an import;
        ``key`` then names an exact repeat, which is not appended twice, and
        ``versioned_by`` (filled with the import time when a row has none) orders the
        records.
    subject : tuple of str
        For a ledger, the columns naming what a record is about (its current state is
        one per subject); empty for other tables, whose key is their subject.
    """

    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    references: dict[str, str] = field(default_factory=dict)
    versioned_by: str | None = None
    one_of: tuple[tuple[str, ...], ...] = ()
    append_only: bool = False
    subject: tuple[str, ...] = ()

    def field(self, name: str) -> Field:
        """Return the field called ``name``; ``KeyError`` when it is not declared."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def import_rule(self) -> str | None:
        """How an imported row meets the stored ones, in one sentence for the docs."""
        if self.append_only:
            return (
                "An append-only ledger: every record is kept and none is overwritten; a "
                "record repeating a stored one (same key) is not added again. A record "
                f"without `{self.versioned_by}` gets the import time, and is not added "
                "again when the ledger holds the same statement at any date. The current "
                f"state per {', '.join(self.subject)} is the latest record (between "
                "records of one moment, the strictest status: withdrawn, denied, granted)."
            )
        if self.versioned_by:
            return f"A row replaces the stored one unless its `{self.versioned_by}` is older."
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in storage order."""
        return tuple(f.name for f in self.fields)

    def with_fields(self, extra: tuple[Field, ...]) -> Table:
        """Return a copy with ``extra`` fields appended (custom attributes)."""
        return Table(
            self.name,
            self.fields + extra,
            self.key,
            self.references,
            self.versioned_by,
            self.one_of,
            self.append_only,
            self.subject,
        )


_I, _D, _G = Category.IDENTIFIER, Category.DEMOGRAPHIC, Category.GEOGRAPHIC
_B, _V, _C, _T = Category.BEHAVIOURAL, Category.VALUE, Category.CONTEXTUAL, Category.TECHNICAL
_P = Sensitivity.PERSONAL
S, N, TS = FieldType.STRING, FieldType.NUMBER, FieldType.TIMESTAMP

CHANNELS = ("email", "sms", "phone", "post", "push", "ads")
PURPOSES = ("marketing", "profiling")
CONSENT_STATUSES = ("granted", "denied", "withdrawn")
#: Consent statuses from the widest to the strictest: a tie or a merge keeps the stricter.
CONSENT_STRICTNESS = ("granted", "denied", "withdrawn")
ORDER_STATUSES = ("completed", "cancelled", "returned", "pending")
SALES_CHANNELS = ("web", "app", "store", "phone", "marketplace")
GENDERS = ("female", "male", "other", "unknown")
EVENT_TYPES = ("track", "page", "identify", "screen", "group", "alias")

CUSTOMERS = Table(
    name="customers",
    key=("customer_id",),
    versioned_by="updated_at",
    fields=(
        Field("customer_id", S, _I, _P, required=True, description="Customer identifier."),
        Field("email", S, _I, _P, description="E-mail address."),
        Field("phone", S, _I, _P, description="Phone number."),
        Field("first_name", S, _I, _P, description="First name."),
        Field("last_name", S, _I, _P, description="Last name."),
        Field("birth_date", FieldType.DATE, _D, _P, description="Date of birth."),
        Field(
            "gender",
            FieldType.ENUM,
            _D,
            _P,
            values=GENDERS,
            description="Gender as declared by the customer.",
        ),
        Field("postal_code", S, _G, _P, description="Postal code."),
        Field("city", S, _G, description="City."),
        Field("region", S, _G, description="Region."),
        Field("country", S, _G, description="Country, ISO 3166 alpha-2 when known."),
        Field(
            "acquisition_channel",
            S,
            _C,
            description=(
                "How the customer was acquired (paid search, social, referral, store...); "
                "acquisition costs of the same channel give the CAC."
            ),
        ),
        Field("created_at", TS, _T, description="When the customer record was created."),
        Field("updated_at", TS, _T, description="When the customer record last changed."),
    ),
)

ORDERS = Table(
    name="orders",
    key=("order_id",),
    references={"customer_id": "customers"},
    versioned_by="updated_at",
    fields=(
        Field("order_id", S, _I, required=True, description="Order identifier."),
        Field("customer_id", S, _I, _P, required=True, description="Who ordered."),
        Field("ordered_at", TS, _B, required=True, description="When the order was placed."),
        Field(
            "amount",
            FieldType.AMOUNT,
            _V,
            required=True,
            description="Amount paid, after discounts, in the order's currency.",
        ),
        Field("currency", S, _V, description="ISO 4217 currency code."),
        Field("discount_amount", FieldType.AMOUNT, _V, description="Discount granted."),
        Field(
            "channel",
            FieldType.ENUM,
            _B,
            values=SALES_CHANNELS,
            description="Sales channel of the order.",
        ),
        Field(
            "status",
            FieldType.ENUM,
            _B,
            values=ORDER_STATUSES,
            description="Order status.",
        ),
        Field("updated_at", TS, _T, description="When the order last changed."),
    ),
)

ORDER_LINES = Table(
    name="order_lines",
    # By position, not by product: one order can sell a product on two lines (two
    # sizes, a gift line).
    key=("order_id", "line_number"),
    references={"order_id": "orders", "product_id": "products"},
    fields=(
        Field("order_id", S, _I, required=True, description="Order the line belongs to."),
        Field(
            "line_number",
            FieldType.INTEGER,
            _T,
            required=True,
            description=(
                "Position of the line in its order, from 1; when the file has none, the "
                "line's rank within its order in file order."
            ),
        ),
        Field("product_id", S, _I, required=True, description="Product sold."),
        Field("quantity", FieldType.INTEGER, _B, required=True, description="Units sold."),
        Field("unit_price", FieldType.AMOUNT, _V, description="Price of one unit."),
    ),
)

PRODUCTS = Table(
    name="products",
    key=("product_id",),
    versioned_by="updated_at",
    fields=(
        Field("product_id", S, _I, required=True, description="Product identifier."),
        Field("name", S, _C, description="Product name."),
        Field("category", S, _C, description="Product category."),
        Field("price", FieldType.AMOUNT, _V, description="List price."),
        Field("launched_at", TS, _C, description="When the product was launched."),
        Field("updated_at", TS, _T, description="When the product last changed."),
    ),
)

EVENTS = Table(
    name="events",
    key=("message_id",),
    references={"customer_id": "customers"},
    one_of=(("customer_id", "anonymous_id"),),
    fields=(
        Field("message_id", S, _I, required=True, description="Unique event identifier."),
        Field("customer_id", S, _I, _P, description="Known customer, when identified."),
        Field("anonymous_id", S, _I, _P, description="Device or cookie identifier."),
        Field(
            "type",
            FieldType.ENUM,
            _B,
            values=EVENT_TYPES,
            description="Segment message type.",
        ),
        Field("event", S, _B, description="Event name, for track messages."),
        Field("properties", FieldType.JSON, _B, description="Event properties."),
        Field("timestamp", TS, _B, required=True, description="When the event happened."),
        Field("received_at", TS, _T, description="When Cible received the event."),
        Field("context", FieldType.JSON, _C, description="Device, page, campaign context."),
    ),
)

#: Columns naming what a consent record is about; the current state is one per subject.
CONSENT_SUBJECT = ("customer_id", "channel", "purpose")

CONSENTS = Table(
    name="consents",
    # A ledger: every record is kept; the key only recognises an exact repeat.
    key=(*CONSENT_SUBJECT, "status", "recorded_at", "source"),
    references={"customer_id": "customers"},
    versioned_by="recorded_at",
    append_only=True,
    subject=CONSENT_SUBJECT,
    fields=(
        Field("customer_id", S, _I, _P, required=True, description="Customer concerned."),
        Field(
            "channel",
            FieldType.ENUM,
            _C,
            required=True,
            values=CHANNELS,
            description="Contact channel.",
        ),
        Field(
            "purpose",
            FieldType.ENUM,
            _C,
            required=True,
            values=PURPOSES,
            description="Processing purpose.",
        ),
        Field(
            "status",
            FieldType.ENUM,
            _C,
            required=True,
            values=CONSENT_STATUSES,
            description="Consent status.",
        ),
        Field(
            "recorded_at",
            TS,
            _T,
            description=(
                "When the status was given or changed; the import time for a record without a date."
            ),
        ),
        Field("source", S, _T, description="Where the consent was collected."),
        Field("proof", S, _T, description="Evidence of the consent (form, document, log)."),
    ),
)

SURVEY_KINDS = ("nps", "csat", "ces")

SURVEYS = Table(
    name="surveys",
    key=("response_id",),
    references={"customer_id": "customers"},
    fields=(
        Field("response_id", S, _I, required=True, description="Survey answer identifier."),
        Field("customer_id", S, _I, _P, required=True, description="Who answered."),
        Field("answered_at", TS, _B, required=True, description="When the answer was given."),
        Field(
            "kind",
            FieldType.ENUM,
            _B,
            required=True,
            values=SURVEY_KINDS,
            description="Net Promoter Score (0 to 10), satisfaction (1 to 5) or effort (1 to 7).",
        ),
        Field("score", N, _B, required=True, description="The score given."),
        Field("campaign_id", S, _C, description="The campaign that asked, when one did."),
        Field("comment", S, _B, _P, description="What the customer wrote."),
    ),
)

TICKET_STATUSES = ("open", "pending", "solved", "closed")

TICKETS = Table(
    name="tickets",
    key=("ticket_id",),
    references={"customer_id": "customers"},
    versioned_by="updated_at",
    fields=(
        Field("ticket_id", S, _I, required=True, description="Support ticket identifier."),
        Field("customer_id", S, _I, _P, required=True, description="Who asked for help."),
        Field("opened_at", TS, _B, required=True, description="When the ticket was opened."),
        Field("closed_at", TS, _B, description="When it was solved or closed."),
        Field("channel", S, _C, description="Where it came in (e-mail, phone, chat...)."),
        Field("topic", S, _B, description="What it is about (delivery, refund, product...)."),
        Field(
            "status",
            FieldType.ENUM,
            _B,
            values=TICKET_STATUSES,
            description="Ticket status.",
        ),
        Field("updated_at", TS, _T, description="When the ticket last changed."),
    ),
)

ACQUISITION_COSTS = Table(
    name="acquisition_costs",
    key=("channel", "period_start"),
    fields=(
        Field(
            "channel",
            S,
            _C,
            required=True,
            description="Acquisition channel, as in the customers' `acquisition_channel`.",
        ),
        Field(
            "period_start",
            FieldType.DATE,
            _T,
            required=True,
            description="First day of the period the cost covers.",
        ),
        Field(
            "period_end",
            FieldType.DATE,
            _T,
            description="Last day of the period (inclusive); the end of its month when absent.",
        ),
        Field(
            "cost",
            FieldType.AMOUNT,
            _V,
            required=True,
            description="Money spent on the channel over the period.",
        ),
        Field("currency", S, _V, description="ISO 4217 currency code."),
    ),
)

#: Canonical tables by name, in the order they should be imported.
CANONICAL_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CUSTOMERS,
        PRODUCTS,
        ORDERS,
        ORDER_LINES,
        EVENTS,
        CONSENTS,
        SURVEYS,
        TICKETS,
        ACQUISITION_COSTS,
    )
}

#: Import kinds as typed on the command line (``order-lines``) -> table name.
IMPORT_KINDS: dict[str, str] = {name.replace("_", "-"): name for name in CANONICAL_TABLES}

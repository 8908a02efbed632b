r"""Audiences: a segment's members made ready to leave Cible.

An export is for one of two uses, and carries what that use needs only:

- **analysis** (no channel): the members' traits, keyed by ``customer_id``, with no
  contact field (no e-mail, phone, name or address);
- **a channel** (``email``, ``sms``, ``phone``, ``post``, ``push``, ``ads``): only the
  members whose latest consent for that channel and the ``marketing`` purpose is
  ``granted`` and who have a valid contact value for it, with that contact value.
  Everyone else is left out and counted under a reason: no consent record, consent
  denied, consent withdrawn, no valid contact value.
- **an ad platform** (``google-ads``, ``meta``; :meth:`Exports.ad_audience`): the
  members whose ``ads`` consent for ``marketing`` is granted, as the SHA-256 digests of
  their e-mail and phone normalised the platform's way, under the headers its
  customer-list upload expects, and nothing else (:mod:`cible.activation.ad_platforms`).

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_text("customer_id,email\na,a@example.com\nb,b@example.com\n")
>>> _ = (folder / "o.csv").write_text(
...     "order_id,customer_id,ordered_at,amount\n1,a,2025-01-02,30\n2,b,2025-01-03,20\n")
>>> _ = (folder / "k.csv").write_text(
...     "customer_id,channel,purpose,status\na,email,marketing,granted\n"
...     "b,email,marketing,withdrawn\n")
>>> with Workspace.create(folder / "shop") as ws:
...     for kind, name in [("customers", "c"), ("orders", "o"), ("consents", "k")]:
...         _ = ws.imports.load(kind, folder / f"{name}.csv")
...     _ = ws.run(as_of=datetime(2025, 2, 1))
...     audience = ws.exports.audience("lifecycle-new", channel="email")
>>> audience.table.column("email").to_pylist(), audience.excluded
(['a@example.com'], {'withdrawn': 1})
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from cible.activation.ad_platforms import AdPlatform, hashed_contacts
from cible.activation.formats import ExportFormat, write
from cible.domain.clock import as_of_or_now
from cible.domain.errors import CibleError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CHANNELS, Sensitivity
from cible.features.consent import consent_status
from cible.features.objection import objecting_customers
from cible.quality.normalisation import normalise_email, normalise_phone
from cible.store.files import atomic_file
from cible.store.store import Store

#: Purpose a channel export needs consent for.
PURPOSE = "marketing"

#: Customer fields a channel export carries, the first being the contact value checked.
CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "first_name", "last_name"),
    "sms": ("phone", "first_name", "last_name"),
    "phone": ("phone", "first_name", "last_name"),
    "post": ("postal_code", "city", "country", "first_name", "last_name"),
    # Push tokens and advertising ids are held by the platforms, which match on the id.
    "push": (),
    "ads": (),
}

#: Why a member is left out of a channel export, in English and French.
REASONS: dict[str, dict[str, str]] = {
    "no_consent": {"en": "no consent record", "fr": "aucun consentement enregistré"},
    "denied": {"en": "consent denied", "fr": "consentement refusé"},
    "withdrawn": {"en": "consent withdrawn", "fr": "consentement retiré"},
    "no_contact": {"en": "no valid contact value", "fr": "pas de coordonnée valide"},
    "suppressed": {
        "en": "on the suppression list (erased or suppressed)",
        "fr": "sur la liste d'opposition (effacé ou exclu)",
    },
    "objection": {
        "en": "objects to profiling (since the latest run)",
        "fr": "opposé au profilage (depuis la dernière exécution)",
    },
}


@dataclass(frozen=True)
class Audience:
    """The rows of one export and who was left out.

    Attributes
    ----------
    segment_id : str
        The exported segment.
    channel : str or None
        Channel the audience is for; None for an analysis export.
    table : pyarrow.Table
        The rows to write, ordered by ``customer_id``.
    members : int
        Members of the segment.
    excluded : dict
        Reason (a key of :data:`REASONS`) -> members left out for it.
    platform : str or None
        The ad platform the rows are hashed for (``google-ads``, ``meta``), or None.
    """

    segment_id: str
    channel: str | None
    table: pa.Table
    members: int
    excluded: dict[str, int] = field(default_factory=dict)
    platform: str | None = None

    @property
    def exported(self) -> int:
        """Rows in :attr:`table`."""
        return int(self.table.num_rows)

    def write(self, path: Path, fmt: ExportFormat | None = None) -> None:
        """Write the rows to ``path`` whole or not at all (format from the suffix).

        CSV cells that a spreadsheet would run as formulas are prefixed with ``'``;
        JSON holds no NaN or infinity (see :mod:`cible.activation.formats`).
        """
        with atomic_file(path) as handle:
            write(self.table, handle, fmt or ExportFormat.from_suffix(path.suffix))

    def summary(self, lang: str = "en") -> dict[str, Any]:
        """Counts for people and programs: members, exported, left out by reason."""
        return {
            "segment_id": self.segment_id,
            "channel": self.channel,
            **({"platform": self.platform} if self.platform else {}),
            "members": self.members,
            "exported": self.exported,
            "excluded": dict(self.excluded),
            "excluded_reasons": {key: REASONS[key][lang] for key in self.excluded},
        }


class Exports:
    """Audiences of a workspace's segments (``ws.exports``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Tells which customer fields are personal.
    members : callable
        ``segment_id -> ibis.Table`` of current members with their traits.
    phone_region : str
        Region assumed for phone numbers written without a country code.
    """

    def __init__(
        self, store: Store, registry: FieldRegistry, members: Any, phone_region: str = "FR"
    ) -> None:
        self._store = store
        self._registry = registry
        self._members = members
        self._phone_region = phone_region

    def audience(
        self,
        segment_id: str,
        channel: str | None = None,
        *,
        limit: int = 0,
        now: datetime | None = None,
    ) -> Audience:
        """The members of ``segment_id`` ready to export, for analysis or a channel.

        Parameters
        ----------
        segment_id : str
            A segment with members in the latest run.
        channel : str, optional
            ``email``, ``sms``, ``phone``, ``post``, ``push`` or ``ads``: keep only the
            members who granted marketing consent for it and have a valid contact value.
            Without it, the export is for analysis and holds no contact field.
        limit : int
            At most this many rows (0: all); the counts cover the whole segment.
        now : datetime, optional
            Naive UTC moment at which consent is read (default: now).
        """
        if limit < 0:
            raise CibleError(f"limit {limit}: give 0 (all rows) or a positive number.")
        if channel is not None and channel not in CHANNELS:
            raise CibleError(f"Unknown channel {channel!r}: use one of {', '.join(CHANNELS)}.")
        members = self._members(segment_id)
        personal = self._personal_fields()
        traits = [c for c in members.columns if c == "customer_id" or c not in personal]
        if channel is None:
            table = members.select(*traits).to_pyarrow()
            reasons = self._suppressed(table, [None] * table.num_rows, now)
            kept = table.filter(pa.array([r is None for r in reasons], type=pa.bool_()))
            counted = Counter(reason for reason in reasons if reason is not None)
            excluded = {key: counted[key] for key in REASONS if counted[key]}
            return Audience(segment_id, None, _head(kept, limit), table.num_rows, excluded)
        return self._for_channel(segment_id, channel, members.select(*traits), limit, now)

    def ad_audience(
        self,
        segment_id: str,
        platform: str,
        *,
        limit: int = 0,
        now: datetime | None = None,
    ) -> Audience:
        """The members of ``segment_id`` as a customer list for an ad platform.

        Only members whose latest ``ads`` consent for ``marketing`` is granted, with a
        valid e-mail or phone; each row holds the SHA-256 digests of both (an empty
        cell for an invalid or missing one), normalised as ``platform`` requires, and
        no other column: no id, no name, no trait.

        Parameters
        ----------
        segment_id : str
            A segment with members in the latest run.
        platform : str
            ``google-ads`` (columns ``Email``, ``Phone``) or ``meta`` (``EMAIL``,
            ``PHONE``); see :mod:`cible.activation.ad_platforms`.
        limit : int
            At most this many rows (0: all); the counts cover the whole segment.
        now : datetime, optional
            Naive UTC moment at which consent is read (default: now).

        Examples
        --------
        >>> import tempfile
        >>> from datetime import datetime
        >>> from pathlib import Path
        >>> from cible import Workspace
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "c.csv").write_text(
        ...     "customer_id,email,phone\\na,A.Lovelace@gmail.com,06 12 34 56 78\\nb,b@x.test,\\n")
        >>> _ = (folder / "o.csv").write_text(
        ...     "order_id,customer_id,ordered_at,amount\\n1,a,2025-01-02,30\\n2,b,2025-01-03,20\\n")
        >>> _ = (folder / "k.csv").write_text(
        ...     "customer_id,channel,purpose,status\\na,ads,marketing,granted\\n")
        >>> with Workspace.create(folder / "shop") as ws:
        ...     for kind, name in [("customers", "c"), ("orders", "o"), ("consents", "k")]:
        ...         _ = ws.imports.load(kind, folder / f"{name}.csv")
        ...     _ = ws.run(as_of=datetime(2025, 2, 1))
        ...     found = ws.exports.ad_audience("lifecycle-new", "google-ads")
        >>> found.table.column_names, found.excluded
        (['Email', 'Phone'], {'no_consent': 1})
        >>> from cible.activation.ad_platforms import sha256_hex
        >>> found.table.to_pylist()[0] == {
        ...     "Email": sha256_hex("alovelace@gmail.com"), "Phone": sha256_hex("+33612345678")}
        True
        """
        if limit < 0:
            raise CibleError(f"limit {limit}: give 0 (all rows) or a positive number.")
        chosen = AdPlatform.parse(platform)
        members = self._members(segment_id).select("customer_id")
        status = consent_status(self._store.table("consents"), "ads", PURPOSE, as_of_or_now(now))
        profile = self._store.table("customers").select("customer_id", "email", "phone")
        table = (
            members.left_join(status, members.customer_id == status.customer_id)
            .select(members.customer_id, consent_status_=status.status)
            .left_join(profile, "customer_id")
            .select("customer_id", "email", "phone", "consent_status_")
            .order_by("customer_id")
            .to_pyarrow()
        )
        emails, phones = hashed_contacts(
            table.column("email").to_pylist(),
            table.column("phone").to_pylist(),
            chosen,
            self._phone_region,
        )
        reachable = [e is not None or p is not None for e, p in zip(emails, phones, strict=True)]
        reasons = self._suppressed(
            table, _reasons(table.column("consent_status_").to_pylist(), reachable), now
        )
        kept = [index for index, reason in enumerate(reasons) if reason is None]
        email_column, phone_column = chosen.columns
        rows = pa.table(
            {
                email_column: pa.array([emails[i] for i in kept], type=pa.string()),
                phone_column: pa.array([phones[i] for i in kept], type=pa.string()),
            }
        )
        excluded = Counter(reason for reason in reasons if reason is not None)
        ordered = {key: excluded[key] for key in REASONS if excluded[key]}
        return Audience(
            segment_id, "ads", _head(rows, limit), table.num_rows, ordered, chosen.value
        )

    def _for_channel(
        self, segment_id: str, channel: str, members: Any, limit: int, now: datetime | None
    ) -> Audience:
        moment = as_of_or_now(now)
        status = consent_status(self._store.table("consents"), channel, PURPOSE, moment)
        customers = self._store.table("customers")
        contacts = CONTACT_FIELDS[channel]
        profile = customers.select("customer_id", *contacts)
        joined = (
            members.left_join(status, members.customer_id == status.customer_id)
            .select(members, consent_status_=status.status)
            .left_join(profile, "customer_id")
        )
        names = ["customer_id", *contacts, *[c for c in members.columns if c != "customer_id"]]
        table = joined.select(*names, "consent_status_").order_by("customer_id").to_pyarrow()
        reasons = self._suppressed(table, self._reasons(channel, table), now)
        keep = pa.array([reason is None for reason in reasons], type=pa.bool_())
        kept = table.filter(keep).drop(["consent_status_"])
        excluded = Counter(reason for reason in reasons if reason is not None)
        ordered = {key: excluded[key] for key in REASONS if excluded[key]}
        return Audience(segment_id, channel, _head(kept, limit), table.num_rows, ordered)

    def _suppressed(
        self, table: pa.Table, reasons: list[str | None], now: datetime | None
    ) -> list[str | None]:
        """``reasons`` with ``suppressed`` for the members on the suppression list, and
        ``objection`` for those who object to profiling as of ``now``.

        Members come from the latest run, which already leaves objectors out; an
        objection recorded since counts here at once.
        """
        ids = table.column("customer_id").to_pylist()
        listed = self._store.suppressed_customers(ids)
        # The whole ledger, not the members' ids: a list of thousands of literals is
        # tested row by row, and the objectors are few.
        found = objecting_customers(self._store.table("consents"), as_of_or_now(now))
        objecting = set(found.to_pyarrow().column(0).to_pylist()) if ids else set()
        return [
            "suppressed" if i in listed else "objection" if i in objecting else r
            for i, r in zip(ids, reasons, strict=True)
        ]

    def _reasons(self, channel: str, table: pa.Table) -> list[str | None]:
        contacts = CONTACT_FIELDS[channel]
        valid = (
            self._valid_contacts(channel, table.column(contacts[0]))
            if contacts
            else [True] * table.num_rows
        )
        return _reasons(table.column("consent_status_").to_pylist(), valid)

    def _valid_contacts(self, channel: str, column: pa.ChunkedArray) -> list[bool]:
        values = column.to_pylist()
        if channel == "email":
            checked = {v: normalise_email(v) is not None for v in set(values) if v}
        elif channel in ("sms", "phone"):
            checked = {
                v: normalise_phone(v, self._phone_region) is not None for v in set(values) if v
            }
        else:  # post: a postal code to send to
            checked = {v: bool(str(v).strip()) for v in set(values) if v}
        return [bool(v) and checked[v] for v in values]

    def _personal_fields(self) -> set[str]:
        return {
            f.name
            for table, f in self._registry.fields()
            if table.name == "customers" and f.sensitivity is not Sensitivity.NONE
        }


def _reasons(statuses: list[str | None], reachable: list[bool]) -> list[str | None]:
    """Why each member is left out (a key of :data:`REASONS`), or None when kept."""
    reasons: list[str | None] = []
    for status, has_contact in zip(statuses, reachable, strict=True):
        if status is None:
            reasons.append("no_consent")
        elif status != "granted":
            reasons.append(status if status in REASONS else "denied")
        elif not has_contact:
            reasons.append("no_contact")
        else:
            reasons.append(None)
    return reasons


def _head(table: pa.Table, limit: int) -> pa.Table:
    return table.slice(0, limit) if limit else table

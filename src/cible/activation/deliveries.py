"""``ws.deliveries``: which deliveries go now, what became of them, and unsubscribes.

The delivery worker (:mod:`cible.server.delivery`) calls :meth:`Deliveries.claim`
on the database thread: the pending deliveries that are due, once the rules that
hold at the moment of sending are applied to them —

- consent (``consent_channel``/``consent_purpose`` set): the customer's current
  consent, from the ledger, must be ``granted``; otherwise the delivery is
  ``skipped`` with the reason ``no_consent``, ``denied`` or ``withdrawn``;
- suppression: a delivery about a customer on the suppression list (erased, or
  suppressed by id, e-mail or phone) is ``skipped`` with the reason ``suppressed``;
- objection to profiling (:mod:`cible.features.objection`): every delivery about a
  customer comes from an automated decision (an automation, or a campaign that
  targeted a segment), so one about a customer who objects now is ``skipped`` with
  the reason ``objection``, even if queued before the objection (a campaign launched
  before it, say);
- quiet hours (``cap_channel`` set, ``[activation] quiet_hours`` in the workspace's
  time zone): the delivery waits until the quiet period ends (not skipped);
- frequency caps (``cap_channel`` set, ``[activation.frequency.<channel>]``): at most
  ``max`` deliveries on that channel to one customer in ``days`` days, those being
  sent included; beyond, ``skipped`` with the reason ``frequency_cap``.

It then sends the rest (:class:`~cible.activation.sender.Sender`) and hands the
results to :meth:`Deliveries.record`, which decides retries (exponential backoff with
full jitter, ``max_attempts``) and stores every outcome in one transaction.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.store.deliveries import NewDelivery
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = ws.store.enqueue_deliveries(
...         [NewDelivery("run-1:0", "email", "c1", "c1@example.com", "{}",
...                      consent_channel="email", consent_purpose="marketing")],
...         at=datetime(2024, 5, 1))
...     claimed = ws.deliveries.claim(now=datetime(2024, 5, 1, 12))
...     [(d.status, d.last_error) for d in ws.deliveries.list()]
[('skipped', 'no_consent')]
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cible.activation.unsubscribe import read_token, unsubscribe_link
from cible.activation.webhooks import Attempt, backoff
from cible.domain.activation_settings import QuietHours
from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.domain.registry import FieldRegistry
from cible.features.consent import current_consents
from cible.features.objection import objecting_customers
from cible.importing.imports import Imports
from cible.store.deliveries import AttemptRow, DeliveryRow, Outcome
from cible.store.store import Store

__all__ = ["Deliveries", "DeliveryLog", "Sent", "quiet_until"]

#: Deliveries one claim returns at most, by default.
CLAIM_LIMIT = 1_000
#: Statuses a delivery can have.
STATUSES = ("pending", "delivered", "failed", "skipped")
#: The reason a delivery about a customer who objects to profiling is skipped.
OBJECTION = "objection"
#: The purpose an unsubscribe withdraws.
UNSUBSCRIBE_PURPOSE = "marketing"


class DeliveryNotFoundError(CibleError):
    """No delivery has this id."""


@dataclass(frozen=True)
class Sent:
    """A claimed delivery and how its try went, for :meth:`Deliveries.record`."""

    delivery: DeliveryRow
    attempt: Attempt
    at: datetime


@dataclass(frozen=True)
class DeliveryLog:
    """A delivery and its attempts (``cible deliveries show``)."""

    delivery: DeliveryRow
    attempts: list[AttemptRow]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready once moments are written as text)."""
        return {**delivery_dict(self.delivery), "attempts": [asdict(a) for a in self.attempts]}


def delivery_dict(row: DeliveryRow, *, payload: bool = True) -> dict[str, Any]:
    """A delivery as plain data; ``payload`` False leaves the message out (lists)."""
    found = asdict(row)
    if not payload:
        found.pop("payload")
    return found


def quiet_until(now: datetime, quiet: QuietHours | None, zone: str) -> datetime | None:
    """When the quiet period around ``now`` (naive UTC) ends, naive UTC; None outside one.

    ``start`` and ``end`` are wall times in ``zone``; a period may span midnight
    (21:00 to 08:00).

    Examples
    --------
    >>> from datetime import datetime, time
    >>> quiet = QuietHours(start=time(21), end=time(8))
    >>> quiet_until(datetime(2024, 1, 15, 22, 30), quiet, "Europe/Paris")  # 23:30 in Paris
    datetime.datetime(2024, 1, 16, 7, 0)
    >>> quiet_until(datetime(2024, 1, 15, 12, 0), quiet, "Europe/Paris") is None
    True
    """
    if quiet is None or quiet.start == quiet.end:
        return None
    tz = ZoneInfo(zone)
    local = now.replace(tzinfo=UTC).astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= clock < quiet.end
    else:
        inside = clock >= quiet.start or clock < quiet.end
    if not inside:
        return None
    day = local.date() if clock < quiet.end else local.date() + timedelta(days=1)
    end = datetime.combine(day, quiet.end, tzinfo=tz)
    return end.astimezone(UTC).replace(tzinfo=None)


class Deliveries:
    """The deliveries of one workspace (``ws.deliveries``); see the module.

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Its tables (unsubscribes are written through the importer).
    config : WorkspaceConfig
        ``[activation]``, ``[workspace]`` (time zone) and the consents' settings.
    rng : random.Random, optional
        Jitter of retries (tests give a seeded one).
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._rng = rng or random.Random()

    # -- sending ------------------------------------------------------------------

    def claim(
        self,
        *,
        now: datetime | None = None,
        limit: int = CLAIM_LIMIT,
        in_flight: Sequence[int] = (),
    ) -> list[DeliveryRow]:
        """The deliveries to send now (at most ``limit``), rules applied (see the module).

        Skipped and deferred deliveries are recorded here; the ones returned are not
        marked in any way (``in_flight`` lists those being sent, left out): if the
        process dies before :meth:`record`, they are due again after a restart, with
        the same idempotency key.
        """
        moment = utc_now() if now is None else now
        if not self._store.leads("deliveries"):
            # Another server sharing the workspace sends (PostgreSQL).
            return []
        due = self._store.due_deliveries(now=moment, limit=limit, exclude=in_flight)
        if not due:
            return []
        settled: list[Outcome] = []
        consents = consent_states(
            self._store, [str(d.customer_id) for d in due if d.consent_channel and d.customer_id]
        )
        quiet_end = quiet_until(
            moment, self._config.activation.quiet_hours, self._config.workspace.zone
        )
        counts = self._sent_counts([d for d in due if d.cap_channel], moment, in_flight)
        about = [d.customer_id for d in due if d.customer_id]
        suppressed = self._store.suppressed_customers(about)
        objecting = objectors(self._store, about)
        ready: list[DeliveryRow] = []
        for d in due:
            if d.customer_id and d.customer_id in suppressed:
                settled.append(Outcome(d.delivery_id, "skipped", moment, error="suppressed"))
                continue
            if d.customer_id and d.customer_id in objecting:
                settled.append(Outcome(d.delivery_id, "skipped", moment, error=OBJECTION))
                continue
            if d.consent_channel and d.customer_id:
                status = consents.get((d.customer_id, d.consent_channel, d.consent_purpose))
                if status != "granted":
                    reason = status or "no_consent"
                    settled.append(Outcome(d.delivery_id, "skipped", moment, error=reason))
                    continue
            if d.cap_channel and quiet_end is not None:
                settled.append(
                    Outcome(
                        d.delivery_id,
                        "deferred",
                        moment,
                        error=f"quiet_hours: waits until {quiet_end:%Y-%m-%d %H:%M} UTC",
                        next_attempt_at=quiet_end,
                    )
                )
                continue
            cap = self._config.activation.frequency.get(d.cap_channel or "")
            if d.cap_channel and d.customer_id and cap is not None:
                subject = (d.customer_id, d.cap_channel)
                if counts.get(subject, 0) >= cap.max:
                    settled.append(Outcome(d.delivery_id, "skipped", moment, error="frequency_cap"))
                    continue
                counts[subject] = counts.get(subject, 0) + 1
            ready.append(d)
        self._store.record_deliveries(settled)
        return ready

    def recheck(
        self, deliveries: Sequence[DeliveryRow], *, now: datetime | None = None
    ) -> list[DeliveryRow]:
        """Those of ``deliveries`` whose customer still consents and does not object; the
        others are recorded ``skipped`` with the reason.

        The worker calls it for a delivery that waited since its claim (slow receivers,
        a backlog): consent is read again right before sending, so an unsubscribe
        or an objection made meanwhile is honoured.
        """
        moment = utc_now() if now is None else now
        checked = [d for d in deliveries if d.consent_channel and d.customer_id]
        consents = consent_states(self._store, [str(d.customer_id) for d in checked])
        objecting = objectors(self._store, [d.customer_id for d in deliveries if d.customer_id])
        kept, settled = [], []
        for d in deliveries:
            if d.customer_id and d.customer_id in objecting:
                settled.append(Outcome(d.delivery_id, "skipped", moment, error=OBJECTION))
                continue
            if d.consent_channel and d.customer_id:
                status = consents.get((d.customer_id, d.consent_channel, d.consent_purpose))
                if status != "granted":
                    reason = status or "no_consent"
                    settled.append(Outcome(d.delivery_id, "skipped", moment, error=reason))
                    continue
            kept.append(d)
        self._store.record_deliveries(settled)
        return kept

    def due(self, now: datetime | None = None, limit: int = CLAIM_LIMIT) -> list[DeliveryRow]:
        """:meth:`claim` with nothing in flight (a single sender, tests, the CLI)."""
        return self.claim(now=now, limit=limit)

    def record(self, results: Sequence[Sent]) -> None:
        """Store how the tries of claimed deliveries went, in one transaction.

        A try worth repeating is retried after :func:`~cible.activation.webhooks.backoff`
        until ``[activation] max_attempts`` tries were made; then it is ``failed``.
        """
        settings = self._config.activation
        outcomes = []
        for result in results:
            d, attempt = result.delivery, result.attempt
            number = d.attempts + 1
            if attempt.outcome == "retry" and number < settings.max_attempts:
                wait = backoff(
                    number,
                    base=settings.retry_base_seconds,
                    cap=settings.retry_max_seconds,
                    rng=self._rng,
                )
                outcome, due = "retry", result.at + timedelta(seconds=wait)
            elif attempt.outcome == "retry":
                outcome, due = "failed", None
            else:
                outcome, due = attempt.outcome, None
            error = attempt.error
            if outcome == "failed" and attempt.outcome == "retry":
                error = f"{error} (given up after {number} attempts)"
            outcomes.append(
                Outcome(
                    d.delivery_id,
                    outcome,
                    result.at,
                    status_code=attempt.status_code,
                    error=error,
                    duration_ms=attempt.duration_ms,
                    next_attempt_at=due,
                )
            )
        self._store.record_deliveries(outcomes)

    # -- reading and retrying -----------------------------------------------------

    def list(
        self,
        *,
        status: str | None = None,
        customer: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRow]:
        """Deliveries, newest first, matching every filter given.

        Raises
        ------
        CibleError
            When ``status`` is not one of :data:`STATUSES`.
        """
        if status is not None and status not in STATUSES:
            raise CibleError(
                f"Unknown delivery status {status!r}: use one of {', '.join(STATUSES)}."
            )
        return self._store.list_deliveries(
            status=status, customer_id=customer, kind=kind, limit=limit, offset=offset
        )

    def log(self, delivery_id: int) -> DeliveryLog:
        """A delivery and every attempt made.

        Raises
        ------
        DeliveryNotFoundError
            When no delivery has that id.
        """
        row = self._store.delivery(delivery_id)
        if row is None:
            raise DeliveryNotFoundError(f"No delivery {delivery_id}: see `cible deliveries list`.")
        return DeliveryLog(row, self._store.delivery_attempts(delivery_id))

    def retry(self, delivery_id: int, *, now: datetime | None = None) -> DeliveryRow:
        """Send a failed delivery again (pending, due now); it keeps its idempotency key.

        Raises
        ------
        DeliveryNotFoundError, CibleError
            When there is no such delivery, or it did not fail.
        """
        current = self.log(delivery_id).delivery
        if not self._store.retry_delivery(delivery_id, now=utc_now() if now is None else now):
            raise CibleError(
                f"Delivery {delivery_id} is {current.status}: only a failed one can be retried."
            )
        return self.log(delivery_id).delivery

    # -- unsubscribing ------------------------------------------------------------

    def unsubscribe_link(self, customer_id: str, channel: str = "email") -> str:
        """The one-click unsubscribe link for ``customer_id`` (``[activation] public_url``);
        templates put it in the message's body, :mod:`~cible.activation.mail` in its header."""
        return unsubscribe_link(
            self._config.activation.public_url, self._store.signing_secret(), customer_id, channel
        )

    def unsubscribe(self, token: str, *, now: datetime | None = None) -> tuple[str, str]:
        """Withdraw the consent a link's ``token`` names; return ``(customer_id, channel)``.

        A ``withdrawn`` record for that channel and the ``marketing`` purpose, source
        ``unsubscribe``, is appended to the consents ledger through the importer (the
        one writer of the ledger). Unsubscribing twice adds a second record: harmless.

        Raises
        ------
        InvalidTokenError
            When the token was altered or made by another workspace.
        CibleError
            When the ledger refused the record (the customer no longer exists).
        """
        customer_id, channel = read_token(self._store.signing_secret(), token)
        moment = utc_now() if now is None else now
        row = {
            "customer_id": customer_id,
            "channel": channel,
            "purpose": UNSUBSCRIBE_PURPOSE,
            "status": "withdrawn",
            "recorded_at": moment.isoformat(),
            "source": "unsubscribe",
            "proof": "one-click unsubscribe link",
        }
        with tempfile.TemporaryDirectory(prefix="cible-unsubscribe-") as folder:
            path = Path(folder) / "unsubscribe.jsonl"
            path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
            imports = Imports(self._store, self._registry, self._config)
            result = imports.load("consents", path, strict=True, shown_as="unsubscribe")
        if result.rejected:
            raise CibleError(
                f"The unsubscribe of customer {customer_id!r} was not recorded: "
                "the consents ledger refused it (see `cible rejects`)."
            )
        return customer_id, channel

    # -- rules at send time -------------------------------------------------------

    def _sent_counts(
        self, rows: Sequence[DeliveryRow], now: datetime, in_flight: Sequence[int]
    ) -> dict[tuple[str, str], int]:
        """Per (customer, channel) with a cap, the deliveries that count against it."""
        counts: dict[tuple[str, str], int] = {}
        by_channel: dict[str, set[str]] = {}
        for d in rows:
            if d.cap_channel and d.customer_id:
                by_channel.setdefault(d.cap_channel, set()).add(d.customer_id)
        for channel, ids in by_channel.items():
            cap = self._config.activation.frequency.get(channel)
            if cap is None:
                continue
            found = self._store.sent_counts(
                sorted(ids),
                channel=channel,
                since=now - timedelta(days=cap.days),
                in_flight=in_flight,
            )
            counts |= {(customer, channel): n for customer, n in found.items()}
        return counts


def objectors(store: Store, customer_ids: Sequence[str | None]) -> set[str]:
    """Those of ``customer_ids`` who object to profiling now (every record counts, as
    for :func:`consent_states`)."""
    wanted = sorted({str(c) for c in customer_ids if c})
    if not wanted:
        return set()
    ledger = store.table("consents")
    mine = ledger.filter(ledger.customer_id.isin(wanted))
    return {str(c) for c in objecting_customers(mine).to_pyarrow().column(0).to_pylist()}


def consent_states(
    store: Store, customer_ids: Sequence[str]
) -> dict[tuple[str, str, str | None], str]:
    """The current consent status per (customer, channel, purpose) of a few customers:
    what a delivery, or a dry run, is checked against."""
    if not customer_ids:
        return {}
    ledger = store.table("consents")
    mine = ledger.filter(ledger.customer_id.isin(sorted(set(customer_ids))))
    current = current_consents(mine).select("customer_id", "channel", "purpose", "status")
    return {
        (r["customer_id"], r["channel"], r["purpose"]): r["status"]
        for r in current.to_pyarrow().to_pylist()
    }

r"""``ws.campaigns``: campaign definitions, their launch (assignment) and conflicts.

A definition (:mod:`cible.activation.campaign_definition`) is checked against the
workspace when it is added: its segments and templates must exist. Launching a
campaign assigns every customer it targets now (a member of one of its segments) to
an arm (:mod:`cible.activation.campaign_assignment`: a hash of campaign and customer
only) and records whether the customer is eligible: consenting for the campaign's
channel and purpose (read from the consents ledger through
:func:`cible.features.consent.consent_status`, as exports do) and not kept by a
campaign of higher priority whose offers contradict this one's
(:mod:`cible.activation.campaign_conflicts`). Launching again re-assigns: customers
who joined the segments get their arm, those already assigned keep theirs. A launch
with conflicts is refused unless asked to resolve them by priority. Nothing is sent
here; frequency caps apply when the deliveries are sent.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = (Path(ws.path) / "c.csv").write_text("customer_id\na\nb\n")
...     _ = ws.imports.load("customers", Path(ws.path) / "c.csv")
...     _ = (Path(ws.path) / "k.csv").write_text(
...         "customer_id,channel,purpose,status\na,email,marketing,granted\n")
...     _ = ws.imports.load("consents", Path(ws.path) / "k.csv")
...     _ = ws.run(as_of=datetime(2025, 2, 1))
...     _ = ws.campaigns.add({"id": "hello", "segments": ["lifecycle-prospect"],
...         "channel": "email", "start": "2025-01-01", "end": "2999-12-31",
...         "variants": [{"id": "v", "share": 0.5, "message": "hello"}], "holdout": 0.5})
...     launched = ws.campaigns.launch("hello")
...     launched["targeted"], launched["eligible"], launched["excluded"]
(2, 1, {'no_consent': 1})
"""

from __future__ import annotations

import builtins
import difflib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa

from cible.activation.campaign_assignment import assign_arms
from cible.activation.campaign_conflicts import Conflict, find_conflicts
from cible.activation.campaign_definition import (
    CampaignDefinition,
    CampaignError,
    definition_json,
    parse_campaign,
)
from cible.activation.campaign_sends import SendContext, campaign_sends, send_campaign
from cible.domain.clock import utc_now
from cible.features.consent import consent_status
from cible.store.campaigns import ASSIGNMENT_SCHEMA, CampaignRow
from cible.store.store import Store

#: Why a targeted customer is not eligible, in the order they are reported.
REASONS = ("no_consent", "denied", "withdrawn", "conflict")
#: Statuses whose campaigns hold an assignment that later launches must respect.
LAUNCHED = ("live", "paused")


@dataclass(frozen=True)
class Loaded:
    """A stored campaign, parsed."""

    row: CampaignRow
    definition: CampaignDefinition


@dataclass(frozen=True)
class _Population:
    """The customers a campaign targets now, each with an arm and a reason not to send."""

    customer_ids: list[str]
    arms: list[str]
    reasons: list[str | None]
    segments: list[str] = field(default_factory=list)

    def consenting(self) -> set[str]:
        return {c for c, r in zip(self.customer_ids, self.reasons, strict=True) if r is None}


class Campaigns:
    """Campaigns of a workspace (``ws.campaigns``).

    ``members`` gives a segment's current members (an Ibis table with ``customer_id``),
    ``segments`` and ``templates`` the ids that exist; ``sending`` what :meth:`send`
    needs (rendering, unsubscribe links, webhooks, time zone); the workspace wires them.
    """

    def __init__(
        self,
        store: Store,
        *,
        members: Callable[[str], Any],
        segments: Callable[[], Sequence[str]] = tuple,
        templates: Callable[[], Sequence[str]] = tuple,
        sending: Callable[[], SendContext] | None = None,
    ) -> None:
        self._store = store
        self._members = members
        self._segments = segments
        self._templates = templates
        self._sending = sending

    # -- definitions ----------------------------------------------------------------

    def validate(self, source: str | Mapping[str, Any]) -> CampaignDefinition:
        """Parse ``source`` and check the segments, templates and webhook it names exist.

        Raises
        ------
        CampaignError
            Naming the path and the reason.
        """
        definition = parse_campaign(source)
        segments = set(self._segments())
        for i, segment in enumerate(definition.segments):
            _need(segment in segments, f"segments[{i}]", "segment", segment, segments)
        templates: set[str] | None = None
        for i, variant in enumerate(definition.variants):
            if variant.template is not None:
                templates = set(self._templates()) if templates is None else templates
                _need(
                    variant.template in templates,
                    f"variants[{i}].template",
                    "template",
                    variant.template,
                    templates,
                )
        if definition.webhook is not None and self._sending is not None:
            webhooks = set(self._sending().webhooks)
            _need(
                definition.webhook in webhooks, "webhook", "webhook", definition.webhook, webhooks
            )
        return definition

    def add(
        self, source: str | Mapping[str, Any], *, actor: str = "cli", now: datetime | None = None
    ) -> dict[str, Any]:
        """Validate and store a campaign (a new version when it changed).

        A new campaign is a ``draft``; its status changes by :meth:`launch`,
        :meth:`pause` and :meth:`end`. The arms (ids and shares) of a launched campaign
        cannot change: its assignment would no longer mean anything.
        """
        definition = self.validate(source)
        found = self._loaded().get(definition.id)
        status = found.row.status if found else "draft"
        if "status" in definition.model_fields_set and definition.status != status:
            raise CampaignError(
                f"status: campaign {definition.id!r} is {status}; change its status with "
                "`cible campaigns launch`, `pause` or `end`, not in its file."
            )
        launched = found is not None and found.row.launched_at is not None
        if launched and found and found.definition.arms() != definition.arms():
            raise CampaignError(
                f"variants: campaign {definition.id!r} has been launched, so its arms "
                "(variant ids, shares and holdout) cannot change; end it and add another."
            )
        self._store.save_campaign(
            definition.id,
            definition_json(definition),
            status=status,
            at=now or utc_now(),
            actor=actor,
        )
        return self.get(definition.id)

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every campaign: id, name, status, version, channel, priority and dates."""
        return [_summary(c) for c in self._loaded().values()]

    def get(self, campaign_id: str) -> dict[str, Any]:
        """One campaign: its summary, definition, and customers per arm when launched."""
        loaded = self._find(campaign_id)
        return {
            **_summary(loaded),
            "updated_at": loaded.row.updated_at,
            "updated_by": loaded.row.updated_by,
            "launched_at": loaded.row.launched_at,
            "arms": self._arm_counts(loaded),
            "definition": loaded.definition.to_dict(),
        }

    def pause(
        self, campaign_id: str, *, actor: str = "cli", now: datetime | None = None
    ) -> dict[str, Any]:
        """Pause a live campaign: its assignment stays, nothing new is assigned."""
        loaded = self._find(campaign_id)
        if loaded.row.status != "live":
            raise CampaignError(
                f"Campaign {campaign_id!r} is {loaded.row.status}: only a live campaign pauses."
            )
        self._store.set_campaign_status(campaign_id, "paused", at=now or utc_now(), actor=actor)
        return self.get(campaign_id)

    def end(
        self, campaign_id: str, *, actor: str = "cli", now: datetime | None = None
    ) -> dict[str, Any]:
        """End a campaign for good; its assignment stays, for the analysis."""
        self._find(campaign_id)
        self._store.set_campaign_status(campaign_id, "ended", at=now or utc_now(), actor=actor)
        return self.get(campaign_id)

    # -- launch and conflicts -------------------------------------------------------

    def launch(
        self,
        campaign_id: str,
        *,
        resolve_by_priority: bool = False,
        actor: str = "cli",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Assign every targeted customer to an arm, record who is eligible, go live.

        Parameters
        ----------
        campaign_id : str
        resolve_by_priority : bool, default False
            Keep a customer two conflicting campaigns target in the one of higher
            priority, excluded from the other; without it a conflict refuses the launch.
        actor : str
            Who launches (kept with the campaign).
        now : datetime, optional
            Naive UTC moment (default: now): consent is read as of it.

        Returns
        -------
        dict
            ``targeted``, ``eligible``, ``arms`` (eligible customers per arm),
            ``excluded`` (per reason), ``conflicts`` and ``moved`` (customers other
            campaigns lost to this one).

        Raises
        ------
        CampaignError
            When the campaign has ended, or offers conflict and are not resolved.
        """
        moment = now or utc_now()
        loaded = self._find(campaign_id)
        definition = loaded.definition
        if loaded.row.status == "ended":
            raise CampaignError(f"Campaign {campaign_id!r} has ended; add a new one to run again.")
        if definition.end < moment.date():
            raise CampaignError(
                f"Campaign {campaign_id!r} ended on {definition.end}; change its end date "
                "to launch it."
            )
        population = self._population(definition, moment)
        others = {
            c.definition.id: c.definition
            for c in self._loaded().values()
            if c.row.status in LAUNCHED
            and c.definition.id != campaign_id
            and c.definition.end >= moment.date()
        }
        candidates = {name: self._store.campaign_eligible(name) for name in others}
        candidates[campaign_id] = population.consenting()
        conflicts = find_conflicts([definition, *others.values()], candidates)
        conflicts = [c for c in conflicts if campaign_id in c.campaigns]
        if conflicts:
            _refuse(campaign_id, conflicts, resolve_by_priority, others, definition)
        lost: dict[str, str] = {}
        exclusions: dict[str, tuple[str, ...]] = {}
        for conflict in conflicts:
            if conflict.keeps == campaign_id:
                other = conflict.loses or ""
                exclusions[other] = conflict.customer_ids
            else:
                for customer in conflict.customer_ids:
                    lost.setdefault(customer, conflict.keeps or "")
        reasons = [
            "conflict" if reason is None and customer in lost else reason
            for customer, reason in zip(population.customer_ids, population.reasons, strict=True)
        ]
        rows = pa.table(
            {
                "campaign_id": [campaign_id] * len(reasons),
                "customer_id": population.customer_ids,
                "arm": population.arms,
                "assigned_at": [moment] * len(reasons),
                "eligible": [r is None for r in reasons],
                "reason": reasons,
                "conflict_with": [lost.get(c) for c in population.customer_ids],
                "updated_at": [moment] * len(reasons),
                "segment_id": population.segments,
            },
            schema=ASSIGNMENT_SCHEMA,
        )
        self._store.launch_campaign(
            campaign_id,
            rows,
            [(other, ids, campaign_id) for other, ids in sorted(exclusions.items())],
            at=moment,
            actor=actor,
        )
        excluded = Counter(r for r in reasons if r is not None)
        eligible = Counter(a for a, r in zip(population.arms, reasons, strict=True) if r is None)
        return {
            "id": campaign_id,
            "status": "live",
            "targeted": len(reasons),
            "eligible": sum(eligible.values()),
            "arms": {arm: eligible[arm] for arm, _ in definition.arms()},
            "excluded": {reason: excluded[reason] for reason in REASONS if excluded[reason]},
            "conflicts": [c.as_dict() for c in conflicts],
            "moved": {other: len(ids) for other, ids in sorted(exclusions.items())},
        }

    def conflicts(
        self, campaign_id: str | None = None, *, now: datetime | None = None
    ) -> builtins.list[Conflict]:
        """Contradictory offers between campaigns that are live or about to launch.

        Launched campaigns (live, paused) count the customers eligible in their
        assignment; drafts, those they would keep if launched now. Campaigns that have
        ended, or whose end date has passed, are left out.

        Parameters
        ----------
        campaign_id : str, optional
            Only the conflicts of this campaign.
        now : datetime, optional
            Naive UTC moment (default: now).
        """
        moment = now or utc_now()
        if campaign_id is not None:
            self._find(campaign_id)
        current = [
            c
            for c in self._loaded().values()
            if c.row.status != "ended" and c.definition.end >= moment.date()
        ]
        candidates = {
            c.definition.id: (
                self._store.campaign_eligible(c.definition.id)
                if c.row.status in LAUNCHED
                else self._population(c.definition, moment).consenting()
            )
            for c in current
        }
        found = find_conflicts([c.definition for c in current], candidates)
        return [c for c in found if campaign_id is None or campaign_id in c.campaigns]

    def assignments(self, campaign_id: str, *, customer_id: str | None = None) -> dict[str, Any]:
        """Customers per arm (eligible and excluded), exclusions per reason, and one
        customer's arm when ``customer_id`` is given (None when not assigned)."""
        loaded = self._find(campaign_id)
        counts = self._store.campaign_assignment_counts(campaign_id)
        excluded: Counter[str] = Counter()
        for _arm, ok, reason, n in counts:
            if not ok:
                excluded[reason or "unknown"] += n
        result: dict[str, Any] = {
            "id": campaign_id,
            "status": loaded.row.status,
            "arms": self._arm_counts(loaded, counts),
            "excluded": dict(sorted(excluded.items(), key=lambda kv: _reason_order(kv[0]))),
        }
        if customer_id is not None:
            rows = self._store.campaign_assignments(campaign_id, customer_id=customer_id)
            result["customer"] = rows[0].__dict__ if rows else None
        return result

    # -- sending --------------------------------------------------------------------

    def send(
        self,
        campaign_id: str,
        *,
        now: datetime | None = None,
        actor: str = "cli",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Queue one delivery per eligible customer of each variant arm, never the
        holdout (:func:`cible.activation.campaign_sends.send_campaign`).

        Only a live campaign whose dates include today (in the workspace's time zone)
        sends. Sending again queues only the customers not sent to yet. ``dry_run``
        counts and writes nothing. ``actor`` is who sends (returned as ``sent_by``;
        the entry points write it to the audit log).
        """
        loaded = self._find(campaign_id)
        if self._sending is None:
            raise CampaignError(
                "Sending campaigns needs a workspace: open one with Workspace.open."
            )
        done = send_campaign(
            self._store,
            loaded.definition,
            loaded.row.status,
            self._sending(),
            now=now or utc_now(),
            dry_run=dry_run,
        )
        return {**done, "sent_by": actor}

    def sends(self, campaign_id: str) -> dict[str, Any]:
        """A campaign's deliveries per variant arm by status, skips by reason
        (:func:`cible.activation.campaign_sends.campaign_sends`)."""
        loaded = self._find(campaign_id)
        return {"status": loaded.row.status, **campaign_sends(self._store, loaded.definition)}

    # -- helpers --------------------------------------------------------------------

    def _loaded(self) -> dict[str, Loaded]:
        return {
            row.campaign_id: Loaded(row, parse_campaign(row.definition))
            for row in self._store.list_campaigns()
        }

    def _find(self, campaign_id: str) -> Loaded:
        loaded = self._loaded()
        if campaign_id not in loaded:
            listed = ", ".join(sorted(loaded)[:20]) or "none yet"
            raise CampaignError(f"No campaign {campaign_id!r} (known: {listed}).")
        return loaded[campaign_id]

    def _arm_counts(
        self, loaded: Loaded, counts: Sequence[tuple[str, bool, str | None, int]] | None = None
    ) -> builtins.list[dict[str, Any]]:
        if counts is None:
            counts = self._store.campaign_assignment_counts(loaded.definition.id)
        eligible: Counter[str] = Counter()
        excluded: Counter[str] = Counter()
        for arm, ok, _reason, n in counts:
            (eligible if ok else excluded)[arm] += n
        return [
            {"arm": arm, "share": share, "eligible": eligible[arm], "excluded": excluded[arm]}
            for arm, share in loaded.definition.arms()
        ]

    def _population(self, definition: CampaignDefinition, moment: datetime) -> _Population:
        """Members of the target segments now, the first target segment each is in,
        their arm and consent for the channel."""
        parts = [
            self._members(segment).select("customer_id").mutate(rank_=ibis.literal(i))
            for i, segment in enumerate(definition.segments)
        ]
        if not parts:  # pragma: no cover - a definition names one segment at least
            return _Population([], [], [])
        members = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
        members = members.group_by("customer_id").aggregate(rank_=members.rank_.min())
        status = consent_status(
            self._store.table("consents"), definition.channel, definition.purpose, moment
        )
        joined = (
            members.left_join(status, members.customer_id == status.customer_id)
            .select(members.customer_id, members.rank_, consent_=status.status)
            .order_by("customer_id")
            .to_pyarrow()
        )
        customer_ids = [str(c) for c in joined.column("customer_id").to_pylist()]
        reasons = [_consent_reason(s) for s in joined.column("consent_").to_pylist()]
        arms = assign_arms(definition.id, customer_ids, definition.arms())
        segments = [definition.segments[int(r)] for r in joined.column("rank_").to_pylist()]
        return _Population(customer_ids, arms, reasons, segments)


def _consent_reason(status: str | None) -> str | None:
    if status == "granted":
        return None
    return status if status in ("denied", "withdrawn") else "no_consent"


def _reason_order(reason: str) -> int:
    return REASONS.index(reason) if reason in REASONS else len(REASONS)


def _need(found: bool, path: str, what: str, name: str, known: set[str]) -> None:
    if not found:
        close = difflib.get_close_matches(name, sorted(known), 1, 0.6)
        if close:
            raise CampaignError(f"{path}: unknown {what} {name!r} (did you mean {close[0]!r}?)")
        listed = ", ".join(sorted(known)[:20]) or "none yet"
        raise CampaignError(f"{path}: unknown {what} {name!r} (known: {listed})")


def _summary(loaded: Loaded) -> dict[str, Any]:
    definition = loaded.definition
    return {
        "id": definition.id,
        "name": definition.label("en"),
        "status": loaded.row.status,
        "version": loaded.row.version,
        "channel": definition.channel,
        "priority": definition.priority,
        "start": definition.start.isoformat(),
        "end": definition.end.isoformat(),
        "segments": list(definition.segments),
    }


def _refuse(
    campaign_id: str,
    conflicts: Sequence[Conflict],
    resolve_by_priority: bool,
    others: Mapping[str, CampaignDefinition],
    definition: CampaignDefinition,
) -> None:
    """Raise when the conflicts may not be resolved (not asked to, or equal priorities)."""
    first = conflicts[0]
    other = first.campaigns[1] if first.campaigns[0] == campaign_id else first.campaigns[0]
    what = (
        f"Campaign {campaign_id!r} conflicts with {other!r} on {first.category} "
        f"({first.offers[0]} against {first.offers[1]}) for {first.customers} customers"
    )
    more = len({c.campaigns for c in conflicts}) - 1
    if more:
        what += f" (and with {more} more campaigns)"
    tied = [c for c in conflicts if c.keeps is None]
    if tied:
        raise CampaignError(
            f"{what}: both have priority {definition.priority}; give one a higher priority "
            "or change a campaign's offers, dates or segments (`cible campaigns conflicts`)."
        )
    if not resolve_by_priority:
        keeper = first.keeps or ""
        priority = others.get(keeper, definition).priority
        raise CampaignError(
            f"{what}: launch with --resolve-by-priority to keep them in {keeper!r} "
            f"(priority {priority}), or change a campaign's offers, dates or segments."
        )

"""``ws.experiments``: a campaign's analysis, the power calculator and budget allocation.

:meth:`Experiments.analyse` reads one campaign's assignment, the orders, the e-mail
events and the deliveries, reduces them in the database to sufficient statistics per
segment and arm (:mod:`cible.activation.campaign_outcomes`) and compares them in
Python (:mod:`cible.activation.campaign_analysis`). :meth:`Experiments.budget` turns
the measured profit per treated customer of one or more campaigns into cells
(segment x channel) and allocates a budget across them
(:func:`cible.experiments.allocate_budget`).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     ws.experiments.power(metric="conversion", baseline=0.05, mde=0.01)["n_variant"]
8143
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from cible.activation.campaign_analysis import ALL, CampaignAnalysis, analyse_statistics
from cible.activation.campaign_definition import CampaignDefinition, parse_campaign
from cible.activation.campaign_outcomes import (
    ENGAGEMENT_EVENTS,
    arm_statistics,
    closed_windows,
    customer_outcomes,
    engagement,
)
from cible.domain.clock import as_of_or_now, utc_now
from cible.domain.experiment_settings import ExperimentsSection
from cible.experiments import (
    BudgetAllocation,
    Cell,
    ExperimentError,
    allocate_budget,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from cible.features.consent import consent_status
from cible.locale import N_
from cible.store.store import Store

#: Looks of a sequential analysis at most (one a day).
MAX_LOOKS = 366


class Experiments:
    """Campaign analyses of a workspace (``ws.experiments``); see the module.

    ``campaign`` gives a stored campaign as ``ws.campaigns.get`` does; ``members`` a
    segment's current members (an Ibis table with ``customer_id``).
    """

    def __init__(
        self,
        store: Store,
        settings: ExperimentsSection,
        *,
        campaign: Callable[[str], Mapping[str, Any]],
        members: Callable[[str], Any],
    ) -> None:
        self._store = store
        self._settings = settings
        self._campaign = campaign
        self._members = members

    def analyse(
        self,
        campaign_id: str,
        *,
        as_of: datetime | None = None,
        window_days: int | None = None,
        pre_days: int | None = None,
        margin: float | None = None,
        sequential: bool = False,
    ) -> CampaignAnalysis:
        """Compare each variant with the holdout, per segment and overall.

        Parameters
        ----------
        campaign_id : str
            A launched campaign.
        as_of : datetime, optional
            Naive UTC moment of the analysis (default now): purchases from it on are
            not read.
        window_days, pre_days, margin : optional
            Override ``[experiments]``.
        sequential : bool, default False
            Add the always-valid p-value and interval of the revenue difference, over
            one look a day from when the first window closes, each look counting the
            customers whose window has closed (for those who look every day).

        Raises
        ------
        CampaignError
            No such campaign.
        ExperimentError
            The campaign has not been launched.
        """
        stored = self._campaign(campaign_id)
        definition = parse_campaign(stored["definition"])
        if stored.get("launched_at") is None:
            raise ExperimentError(
                f"Campaign {campaign_id!r} has not been launched: there is nothing to analyse "
                "yet (`cible campaigns launch`)."
            )
        moment = as_of_or_now(as_of)
        window = _days("window_days", window_days, self._settings.window_days)
        before = _days("pre_days", pre_days, self._settings.pre_days)
        if margin is not None and not 0 < margin <= 1:
            raise ExperimentError(f"margin {margin}: give a share between 0 (excluded) and 1.")
        assignments = self._assignments(campaign_id)
        orders = self._store.table("orders")
        outcomes = self._store.hold(
            "_campaign_outcomes",
            customer_outcomes(
                assignments, orders, as_of=moment, window_days=window, pre_days=before
            ),
        )
        rows = arm_statistics(outcomes).to_pyarrow().to_pylist()
        looks = None
        if sequential:
            looks = _looks(
                closed_windows(outcomes, window_days=window).to_pyarrow().to_pylist(), moment
            )
        return analyse_statistics(
            definition,
            rows,
            margin=margin if margin is not None else self._settings.margin,
            alpha=self._settings.alpha,
            min_per_arm=self._settings.min_per_arm,
            sent=self._sent(campaign_id),
            looks=looks,
            sequential_effect=self._settings.sequential_effect,
            engagement=self._engagement(assignments, campaign_id, moment),
            window_days=window,
            pre_days=before,
            as_of=moment,
        )

    def power(
        self,
        *,
        metric: str,
        baseline: float,
        mde: float,
        sd: float | None = None,
        n_per_arm: int | None = None,
        power: float = 0.8,
        ratio: float = 1.0,
    ) -> dict[str, Any]:
        """Customers per arm to detect ``mde`` (or the power of ``n_per_arm``).

        Parameters
        ----------
        metric : {"conversion", "revenue"}
        baseline : float
            The control's conversion rate, or its mean revenue per customer.
        mde : float
            The smallest difference worth detecting, in the metric's unit (0.01 for one
            point of conversion, 2.0 for two euros).
        sd : float, optional
            Standard deviation of revenue per customer (required for revenue).
        n_per_arm : int, optional
            Give it to get the power of that many customers per arm instead.
        power : float, default 0.8
        ratio : float, default 1.0
            Control customers per variant customer (a 10% holdout against a single 90%
            variant: 1/9, about 0.11).
        """
        alpha = self._settings.alpha
        if metric == "conversion":
            result = (
                power_proportions(baseline, mde, n_per_arm, round(n_per_arm * ratio), alpha=alpha)
                if n_per_arm is not None
                else sample_size_proportions(baseline, mde, power, alpha, ratio)
            )
        elif metric == "revenue":
            if sd is None:
                raise ExperimentError(
                    "The power of a revenue test needs the standard deviation of revenue per "
                    "customer (--sd), for example from a past campaign's control group."
                )
            result = (
                power_means(mde, sd, n_per_arm, round(n_per_arm * ratio), alpha=alpha)
                if n_per_arm is not None
                else sample_size_means(mde, sd, power, alpha, ratio)
            )
        else:
            raise ExperimentError(f"metric {metric!r}: use 'conversion' or 'revenue'.")
        return {"metric": metric, "baseline": baseline, **result.as_dict()}

    def budget(
        self,
        campaign_ids: Sequence[str],
        budget: float,
        *,
        channel_caps: Mapping[str, float] | None = None,
        whole_customers: bool = False,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Allocate ``budget`` across the segments and channels the campaigns measured.

        Each (segment, channel) cell takes the best variant of the campaigns given
        (highest profit per treated customer), its standard error, its cost per
        treated customer (per message and discounts) and, as reach, the segment's
        current members who consent to the channel.

        Returns
        -------
        dict
            ``cells`` (with the campaign and variant measured), ``allocation``
            (:class:`~cible.experiments.BudgetAllocation` as a dict), ``assumptions``
            and ``skipped`` (cells left out, and why: nothing spent per customer yet,
            customers without a segment).
        """
        cells: dict[tuple[str, str], tuple[Cell, str, str]] = {}
        skipped: list[str] = []
        for campaign_id in campaign_ids:
            analysis = self.analyse(campaign_id, as_of=as_of)
            definition = parse_campaign(self._campaign(campaign_id)["definition"])
            known = set(definition.segments)
            for ret in analysis.returns:
                if ret.segment == ALL:
                    continue
                where = f"{campaign_id!r}, {ret.variant!r} in {ret.segment!r}"
                if ret.segment not in known:
                    skipped.append(f"{where}: customers assigned without a segment.")
                    continue
                if ret.cost_per_treated <= 0:
                    skipped.append(
                        f"{where}: nothing spent per treated customer yet (no message "
                        "delivered, or no cost.per_send): the budget has nothing to buy there."
                    )
                    continue
                cell = Cell(
                    segment=ret.segment,
                    channel=definition.channel,
                    profit=ret.profit_per_treated,
                    profit_se=ret.profit_per_treated_se,
                    cost=ret.cost_per_treated,
                    reachable=self._reachable(ret.segment, definition),
                )
                key = (cell.segment, cell.channel)
                if key not in cells or cell.profit - cell.cost > (
                    cells[key][0].profit - cells[key][0].cost
                ):
                    cells[key] = (cell, campaign_id, ret.variant)
        if not cells:
            raise ExperimentError(
                "No segment has a measured return with a cost per treated customer yet: "
                "the campaigns need a holdout, at least 2 customers in each arm of a "
                "segment, and messages delivered at a cost per send."
                + (f" Left out: {' '.join(skipped)}" if skipped else "")
            )
        ordered = sorted(cells.values(), key=lambda c: (c[0].segment, c[0].channel))
        allocation: BudgetAllocation = allocate_budget(
            [c for c, _, _ in ordered],
            budget,
            channel_caps=channel_caps,
            whole_customers=whole_customers,
        )
        return {
            "cells": [
                {**cell.__dict__, "campaign": campaign, "variant": variant}
                for cell, campaign, variant in ordered
            ],
            "allocation": allocation.as_dict(),
            "assumptions": ASSUMPTIONS,
            "skipped": skipped,
        }

    # -- reading ----------------------------------------------------------------------

    def _assignments(self, campaign_id: str) -> Any:
        table = self._store.table("campaign_assignments")
        return table.filter(table.campaign_id == campaign_id)

    def _sent(self, campaign_id: str) -> dict[tuple[str, str], int] | None:
        """Messages delivered per (segment, variant); None when Cible sent nothing for it
        (a campaign sent by another tool: every treated customer counts as one)."""
        rows = self._store.campaign_delivery_counts(campaign_id)
        if not rows:
            return None
        sent: dict[tuple[str, str], int] = {}
        for variant, segment, status, _reason, n in rows:
            if status == "delivered":
                key = (segment or "(none)", variant)
                sent[key] = sent.get(key, 0) + n
        return sent

    def _engagement(
        self, assignments: Any, campaign_id: str, moment: datetime
    ) -> dict[str, dict[str, int]]:
        rows = (
            engagement(assignments, self._store.table("events"), campaign_id, as_of=moment)
            .to_pyarrow()
            .to_pylist()
        )
        found: dict[str, dict[str, int]] = {}
        for row in rows:
            short = ENGAGEMENT_EVENTS[str(row["event"])]
            found.setdefault(str(row["arm"]), {})[short] = int(row["customers"])
        return found

    def _reachable(self, segment: str, definition: CampaignDefinition) -> int:
        members = self._members(segment).select("customer_id")
        status = consent_status(
            self._store.table("consents"), definition.channel, definition.purpose, utc_now()
        )
        granted = status.filter(status.status == "granted")
        return int(members.semi_join(granted, "customer_id").count().to_pyarrow().as_py())


def _days(name: str, given: int | None, default: int) -> int:
    if given is None:
        return default
    if not 1 <= given <= 3_650:
        raise ExperimentError(f"{name} {given}: give a number of days from 1 to 3650.")
    return given


def _looks(
    closed: builtins.list[dict[str, Any]], moment: datetime
) -> builtins.list[dict[str, Any]]:
    """Cumulative statistics at each midnight after the first window closed, and at
    ``moment``: a look counts the customers whose window closed before it."""
    if not closed:
        return []
    days = sorted({row["closed_on"] for row in closed})
    moments: builtins.list[datetime] = []
    day = datetime.combine(days[0], datetime.min.time()) + timedelta(days=1)
    while day < moment and len(moments) < MAX_LOOKS:
        moments.append(day)
        day += timedelta(days=1)
    moments.append(moment)
    looks: builtins.list[dict[str, Any]] = []
    for look in moments:
        totals: dict[tuple[Any, Any], dict[str, float]] = {}
        for row in closed:
            # Windows closed by ``moment`` all count at the last look.
            if look == moment or row["closed_on"] < look.date():
                into = totals.setdefault(
                    (row["segment_id"], row["arm"]),
                    {"n": 0, "sum_y": 0.0, "sum_y2": 0.0, "conversions": 0},
                )
                for key in into:
                    into[key] += row[key]
        looks.extend(
            {"look": look, "segment_id": segment, "arm": arm, **values}
            for (segment, arm), values in totals.items()
        )
    return looks


#: What the budget allocation assumes, said with its result (English; the CLI and the
#: report translate them).
ASSUMPTIONS = (
    N_(
        "Each further customer treated in a segment earns the profit measured against its "
        "holdout and costs what the campaign cost per treated customer (no saturation)."
    ),
    N_("Segments and channels are independent: treating one does not change another's return."),
    N_("The effect measured holds for the customers treated next (same season and offer)."),
    N_(
        "Fixed costs are left out: the budget buys messages; discounts are counted in "
        "each customer's profit."
    ),
)

__all__ = ["ASSUMPTIONS", "Experiments"]

"""``cible experiments analyse | power | budget``: what a campaign earned over its holdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.activation.campaign_analysis import ALL
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption, parse_moment
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError
from cible.locale import N_

experiments_app = typer.Typer(
    help="Campaign analyses against the holdout, the power calculator and budget allocation."
)

#: E-mail events per arm, as people read them.
_EVENTS = {
    "delivered": N_("delivered"),
    "opened": N_("opened"),
    "clicked": N_("clicked"),
    "unsubscribed": N_("unsubscribed"),
    "complained": N_("marked as spam"),
}

CampaignArg = Annotated[str, typer.Argument(help="A launched campaign's id.")]


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:+.1%}"


@experiments_app.command("analyse")
def analyse(
    campaign: CampaignArg,
    as_of: Annotated[
        str | None, typer.Option(help="Analyse as of this moment (ISO 8601; default: now, UTC).")
    ] = None,
    window_days: Annotated[
        int | None,
        typer.Option(min=1, max=365, help="Attribution window ([experiments] window_days)."),
    ] = None,
    pre_days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Pre-period of the CUPED covariate, in days."),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            min=0.001, max=1.0, help="Gross margin on list prices ([experiments] margin)."
        ),
    ] = None,
    sequential: Annotated[
        bool,
        typer.Option("--sequential", help="Add always-valid p-values (for daily looks)."),
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Each variant against the holdout, per segment: conversion, revenue, lift, ROI."""
    use_lang(lang)
    moment = parse_moment("--as-of", as_of)
    options: dict[str, Any] = {
        "window_days": window_days,
        "pre_days": pre_days,
        "margin": margin,
        "sequential": sequential,
    }
    remote = connect(workspace)
    if remote is not None:
        params = {k: v for k, v in options.items() if v is not None}
        if moment is not None:
            params["as_of"] = moment.isoformat()
        found = remote.request("GET", f"/api/experiments/campaigns/{campaign}", params=params)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.experiments.analyse(campaign, as_of=moment, **options).as_dict()
    if as_json:
        print_json(found)
        return
    _print_analysis(found)


def _print_analysis(found: dict[str, Any]) -> None:
    echo(
        _(
            "Campaign {id}: {customers} customers, window of {window} days "
            "({complete} complete), margin {margin:.0%}, control: {control}."
        ).format(
            id=found["campaign_id"],
            customers=found["customers"],
            window=found["window_days"],
            complete=found["complete"],
            margin=found["margin"],
            control=found["control"],
        )
    )
    metric_names = {"conversion": _("conversion"), "revenue": _("revenue per customer")}
    rows = []
    for c in found["comparisons"]:
        digits = 4 if c["metric"] == "conversion" else 2
        rows.append(
            (
                _("all segments") if c["segment"] == ALL else c["segment"],
                c["variant"],
                metric_names[c["metric"]],
                f"{c['n_variant']:,} / {c['n_control']:,}",
                f"{_number(c['variant_value'], digits)} / {_number(c['control_value'], digits)}",
                f"{_number(c['difference'], digits)} "
                f"[{_number(c['ci_low'], digits)}; {_number(c['ci_high'], digits)}]",
                _share(c["relative_lift"]),
                _p(c["p_value"]),
                _p(c["adjusted_p_value"]),
                f"{c['probability_to_beat']:.0%}",
                ("✓" if c["significant"] else "") + (" ⚠" if c["too_small"] else ""),
            )
        )
    print_table(
        _("Variants against the control"),
        [
            _("segment"),
            _("variant"),
            _("metric"),
            _("customers"),
            _("variant / control"),
            _("difference [interval]"),
            _("lift"),
            _("p"),
            _("p (Holm)"),
            _("P(beats control)"),
            _("significant"),
        ],
        rows,
    )
    if found["returns"]:
        print_table(
            _("Return against the holdout"),
            [
                _("segment"),
                _("variant"),
                _("treated"),
                _("incremental revenue"),
                _("incremental profit"),
                _("cost"),
                _("net"),
                _("ROI"),
            ],
            [
                (
                    _("all segments") if r["segment"] == ALL else r["segment"],
                    r["variant"],
                    f"{r['treated']:,}",
                    _number(r["incremental_revenue"]),
                    _number(r["incremental_profit"]),
                    _number(r["cost"]),
                    f"{_number(r['net'])} [{_number(r['net_ci_low'])}; "
                    f"{_number(r['net_ci_high'])}]",
                    "" if r["roi"] is None else f"{r['roi']:.0%}",
                )
                for r in found["returns"]
            ],
        )
    if found["engagement"]:
        treated = {
            c["variant"]: c["n_variant"]
            for c in found["comparisons"]
            if c["segment"] == ALL and c["metric"] == "conversion"
        }
        events = tuple(_EVENTS)
        print_table(
            _("E-mail engagement (customers, share of the arm)"),
            [_("variant"), *(_(_EVENTS[e]) for e in events)],
            [
                (
                    arm,
                    *(
                        f"{counts.get(e, 0):,} ({counts.get(e, 0) / treated[arm]:.1%})"
                        if treated.get(arm)
                        else f"{counts.get(e, 0):,}"
                        for e in events
                    ),
                )
                for arm, counts in sorted(found["engagement"].items())
            ],
        )
    for ratio in found["sample_ratios"]:
        if ratio["mismatch"]:
            echo(
                _("Sample-ratio mismatch in {segment} (p = {p}): check the assignment.").format(
                    segment=ratio["segment"], p=_p(ratio["p_value"])
                )
            )
    for note in found["notes"]:
        echo(f"- {note}")


@experiments_app.command("power")
def power(
    metric: Annotated[str, typer.Option(help="conversion or revenue.")] = "conversion",
    baseline: Annotated[
        float,
        typer.Option(help="The control's conversion rate, or its mean revenue per customer."),
    ] = 0.05,
    mde: Annotated[
        float,
        typer.Option(help="Smallest difference worth detecting (0.01 = one point; 2.0 = 2 €)."),
    ] = 0.01,
    sd: Annotated[
        float | None, typer.Option(help="Standard deviation of revenue per customer.")
    ] = None,
    n_per_arm: Annotated[
        int | None, typer.Option(min=2, help="Give the power of this many per arm instead.")
    ] = None,
    target_power: Annotated[
        float, typer.Option("--power", min=0.5, max=0.999, help="The power wanted.")
    ] = 0.8,
    ratio: Annotated[
        float, typer.Option(min=0.01, max=100.0, help="Control customers per variant customer.")
    ] = 1.0,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Customers per arm to detect an effect, or the power of a given size."""
    use_lang(lang)
    options: dict[str, Any] = {
        "metric": metric,
        "baseline": baseline,
        "mde": mde,
        "sd": sd,
        "n_per_arm": n_per_arm,
        "power": target_power,
        "ratio": ratio,
    }
    remote = connect(workspace)
    if remote is not None:
        params = {k: v for k, v in options.items() if v is not None}
        found = remote.request("GET", "/api/experiments/power", params=params)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.experiments.power(**options)
    if as_json:
        print_json(found)
        return
    echo(
        _(
            "{metric}: {n_variant:,} customers in the variant and {n_control:,} in the "
            "control detect a difference of {mde} with a power of {power:.0%} "
            "(two-sided test at {alpha})."
        ).format(
            metric=found["metric"],
            n_variant=found["n_variant"],
            n_control=found["n_control"],
            mde=found["mde"],
            power=found["power"],
            alpha=found["alpha"],
        )
    )


@experiments_app.command("budget")
def budget(
    campaigns: Annotated[
        list[str], typer.Argument(help="Launched campaigns whose measured returns to use.")
    ],
    amount: Annotated[float, typer.Option("--budget", min=0.0, help="The budget to spend.")],
    cap: Annotated[
        list[str] | None,
        typer.Option(help="Most spend on a channel, as CHANNEL=AMOUNT (repeatable)."),
    ] = None,
    whole: Annotated[
        bool, typer.Option("--whole-customers", help="Treat whole customers (integer programme).")
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Spend a budget on the segments and channels that earn the most over their holdout."""
    use_lang(lang)
    caps = _caps(cap or [])
    body = {
        "campaigns": campaigns,
        "budget": amount,
        "channel_caps": caps,
        "whole_customers": whole,
    }
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("POST", "/api/experiments/budget", json=body)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.experiments.budget(
                campaigns, amount, channel_caps=caps, whole_customers=whole
            )
    if as_json:
        print_json(found)
        return
    allocation = found["allocation"]
    print_table(
        _("Budget allocation"),
        [
            _("segment"),
            _("channel"),
            _("campaign / variant"),
            _("profit per customer"),
            _("cost per customer"),
            _("reachable"),
            _("customers"),
            _("spend"),
        ],
        [
            (
                cell["segment"],
                cell["channel"],
                f"{cell['campaign']} / {cell['variant']}",
                f"{_number(cell['profit'])} ± {_number(cell['profit_se'])}",
                _number(cell["cost"]),
                f"{cell['reachable']:,}",
                _number(customers, 0),
                _number(spend),
            )
            for cell, customers, spend in zip(
                found["cells"], allocation["customers"], allocation["spend"], strict=True
            )
        ],
    )
    echo(
        _(
            "Expected incremental profit {profit} ± {se} for {used} of {budget} spent; "
            "one more unit of budget would add {shadow}."
        ).format(
            profit=_number(allocation["expected_profit"]),
            se=_number(allocation["expected_profit_se"]),
            used=_number(allocation["budget_used"]),
            budget=_number(allocation["budget"]),
            shadow=_number(allocation["budget_shadow_price"]),
        )
    )
    low = [s for s in allocation["scenarios"] if s["cell"] is None]
    for scenario in low:
        echo(
            _("With every profit at the {bound} end of its interval: {profit}.").format(
                bound=_("low") if scenario["bound"] == "low" else _("high"),
                profit=_number(scenario["expected_profit"]),
            )
        )
    for reason in found["skipped"]:
        echo(_("Left out: {reason}").format(reason=reason))
    echo(_("Assumptions:"))
    for assumption in found["assumptions"]:
        echo(f"- {_(assumption)}")


def _caps(values: list[str]) -> dict[str, float]:
    caps = {}
    for value in values:
        channel, _sep, amount = value.partition("=")
        try:
            caps[channel.strip()] = float(amount)
        except ValueError:
            raise CibleError(f"--cap {value!r}: write CHANNEL=AMOUNT, such as email=500.") from None
    return caps

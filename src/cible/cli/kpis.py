"""``cible kpis [cohorts SEGMENT | pareto DIMENSION]``: KPIs per segment over time.

Local or served: a served workspace answers through ``GET /api/kpis...`` with the
same rows, so ``--format json`` prints the same text either way.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import LangOption, WorkspaceOption, parse_moment
from cible.cli.output import echo, number, percent, print_json, print_table
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError

#: What ``cible kpis`` shows: the KPIs over time, a cohort triangle or a Pareto.
VIEWS = ("cohorts", "pareto")
FORMATS = ("table", "json", "csv")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API sends it: moments as ISO 8601 text."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _fetch(
    workspace: Path,
    view: str | None,
    name: str | None,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    remote = connect(workspace)
    if remote is not None:
        if view is None:
            names = {"dimension": "dimension", "segment": "segment", "start": "from", "end": "to"}
            query = {names[k]: params[k] for k in names if params[k] is not None}
            query["period"] = params["period"]
            return list(remote.request("GET", "/api/kpis", params=_plain(query)))
        path = f"/api/kpis/{view}/{quote(name or '', safe='')}"
        months = {"months": params["months"]} if view == "cohorts" else None
        return list(remote.request("GET", path, params=months))
    with open_workspace(workspace, read_only=True) as ws:
        if view == "cohorts":
            return [c.as_dict() for c in ws.kpis.cohorts(name or "", months=params["months"])]
        if view == "pareto":
            return [s.as_dict() for s in ws.kpis.pareto(name or "")]
        return [
            _plain(r.as_dict())
            for r in ws.kpis.per_segment(
                dimension=params["dimension"],
                segment=params["segment"],
                start=params["start"],
                end=params["end"],
                period=params["period"],
            )
        ]


def kpis(
    view: Annotated[
        str | None,
        typer.Argument(
            help="Nothing for the KPIs over time; `cohorts SEGMENT` for the retention "
            "triangle; `pareto DIMENSION` for the revenue shares.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Argument(help="The segment (cohorts) or dimension (pareto).", show_default=False),
    ] = None,
    dimension: Annotated[
        str | None, typer.Option(help="Only this dimension's segments.", show_default=False)
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only this segment.", show_default=False)
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First moment (ISO 8601).", show_default=False)
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last moment (ISO 8601).", show_default=False)
    ] = None,
    period: Annotated[
        str, typer.Option(help="Window ending at each moment: week, month or quarter.")
    ] = "month",
    months: Annotated[
        int, typer.Option(min=1, max=120, help="Cohorts: how many months of cohorts.")
    ] = 12,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """KPIs per segment at each kept snapshot and now: size, buyers, revenue, average order,
    frequency, CLV, churn, conversion, e-mail open and click rates, NPS, CSAT, tickets, CAC.

    Each moment's figures count the calendar month (--period) that ends there; take
    monthly snapshots with `cible snapshots backfill`. docs/kpis.md defines each KPI.
    """
    use_lang(lang)
    if view is not None and view not in VIEWS:
        raise CibleError(f"Unknown view {view!r}: use `cohorts SEGMENT` or `pareto DIMENSION`.")
    if view is not None and not name:
        what = "SEGMENT" if view == "cohorts" else "DIMENSION"
        raise CibleError(f"`cible kpis {view}` needs a {what}: `cible kpis {view} {what}`.")
    if view is None and name is not None:
        raise CibleError(f"Unexpected {name!r}: give `cohorts SEGMENT` or `pareto DIMENSION`.")
    if output not in FORMATS:
        raise CibleError(f"--format {output!r}: use one of {', '.join(FORMATS)}.")
    params = {
        "dimension": dimension,
        "segment": segment,
        "start": parse_moment("--from", start),
        "end": parse_moment("--to", end),
        "period": period,
        "months": months,
    }
    rows = _fetch(workspace, view, name, params)
    if output == "json":
        print_json(rows)
    elif output == "csv":
        _print_csv(rows)
    elif view == "cohorts":
        _cohort_table(name or "", rows)
    elif view == "pareto":
        _pareto_table(name or "", rows)
    else:
        _kpi_table(rows)


def _print_csv(rows: list[dict[str, Any]]) -> None:
    flat = [_flat(row) for row in rows]
    names = list(dict.fromkeys(name for row in flat for name in row))
    writer = csv.DictWriter(sys.stdout, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A cohort's lists as one column per month after: ``retention_m0``, ``active_m0``..."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, list):
            flat |= {f"{key}_m{k}": item for k, item in enumerate(value)}
        else:
            flat[key] = value
    return flat


def _moment(row: dict[str, Any]) -> str:
    return str(row["as_of"])[:10] + (" *" if row["now"] else "")


def _kpi_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        echo(_("No segment has members at the chosen moments."))
        return
    # Two tables of eight columns: sixteen do not fit a terminal.
    columns = [
        _("as of"), _("segment"), _("size"), _("buyers"), _("revenue"), _("average order"),
        _("orders per member"), _("conversion"),
    ]  # fmt: skip
    shown = [
        (
            _moment(r),
            r["segment_id"],
            number(r["size"]),
            number(r["buyers"]),
            number(r["revenue"], ",.2f"),
            number(r["avg_order_value"], ",.2f"),
            number(r["frequency"], ".2f"),
            percent(r["conversion"]),
        )
        for r in rows
    ]
    print_table(_("Sales per segment (* now; each over the period ending then)"), columns, shown)
    columns = [
        _("as of"), _("segment"), _("churn"), _("average CLV"), _("open rate"), _("click rate"),
        _("NPS"), _("CSAT"), _("tickets per 100"), _("average CAC"),
    ]  # fmt: skip
    engagement = [
        (
            _moment(r),
            r["segment_id"],
            percent(r["churn_rate"]),
            number(r["avg_clv"], ",.2f"),
            percent(r["open_rate"]),
            percent(r["click_rate"]),
            number(r["nps"], ".1f"),
            percent(r["csat"]),
            number(r["tickets_per_100"], ".1f"),
            number(r["avg_cac"], ",.2f"),
        )
        for r in rows
    ]
    print_table(_("Loyalty, engagement and cost per segment"), columns, engagement)


def _cohort_table(segment: str, rows: list[dict[str, Any]]) -> None:
    width = max((len(r["retention"]) for r in rows), default=0)
    columns = [_("cohort"), _("customers"), *(f"M{k}" for k in range(width))]
    shown = [
        (r["cohort"], number(r["customers"]), *(percent(share, 0) for share in r["retention"]))
        for r in rows
    ]
    print_table(
        _("Retention by first-purchase month: {segment}").format(segment=segment), columns, shown
    )


def _pareto_table(dimension: str, rows: list[dict[str, Any]]) -> None:
    columns = [
        _("segment"), _("size"), _("revenue"), _("% of customers"), _("% of revenue"),
        _("cumulative % of customers"), _("cumulative % of revenue"),
    ]  # fmt: skip
    shown = [
        (
            r["segment_id"],
            number(r["size"]),
            number(r["revenue"], ",.2f"),
            percent(r["customer_share"]),
            percent(r["revenue_share"]),
            percent(r["cumulative_customer_share"]),
            percent(r["cumulative_revenue_share"]),
        )
        for r in rows
    ]
    print_table(_("Revenue Pareto: {dimension}").format(dimension=dimension), columns, shown)

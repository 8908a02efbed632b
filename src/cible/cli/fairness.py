"""``cible privacy fairness ATTRIBUTE``: how a protected attribute spreads across segments.

Locally the report comes from ``ws.fairness``; on a served workspace from
``GET /api/privacy/fairness`` (admins). Tables and the ``--html`` page are built here
from the same JSON form, so the output is the same either way (docs/fairness.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.cli.customers import as_served
from cible.cli.i18n import _, localised, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, number, percent, print_json, print_table, write_file
from cible.cli.remote import connect, open_workspace
from cible.reporting.fairness import render_fairness_page

fairness_app = typer.Typer(help="Fairness: protected attributes across segments.")


@fairness_app.command("fairness")
def fairness(
    attribute: Annotated[
        str, typer.Argument(help="A customer attribute declared with sensitivity special.")
    ],
    dimension: Annotated[
        str | None, typer.Option(help="Only this dimension's segments (default: all).")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as an HTML page.")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Group shares per segment, disparate impact (four-fifths rule, tested), and how well
    membership predicts the attribute, with the traits responsible (recorded in the audit
    log)."""
    chosen = use_lang(lang)
    remote = connect(workspace)
    found: dict[str, Any]
    if remote is not None:
        params = {"attribute": attribute, **({"dimension": dimension} if dimension else {})}
        found = remote.request("GET", "/api/privacy/fairness", params=params)
    else:
        with open_workspace(workspace) as ws:
            found = as_served(ws.fairness.report(attribute, dimension=dimension).as_dict())
    if html is not None:
        page = render_fairness_page(found, chosen)
        write_file(html, page)
    if as_json:
        print_json(found)
        return
    _print(found)
    if html is not None:
        echo(_("Wrote {path}.").format(path=html))


def _verdict(segment: dict[str, Any]) -> str:
    if segment["flagged"]:
        return _("FLAGGED")
    if segment["below_four_fifths"]:
        return _("below 4/5, not significant")
    return _("no ratio") if segment["disparate_impact"] is None else _("fair")


def _print(found: dict[str, Any]) -> None:
    echo(
        _(
            "Fairness of {attribute} ({sensitivity}) in the run of {date}: {customers} customers, "
            "{missing} without a value."
        ).format(
            attribute=found["attribute"],
            sensitivity=found["sensitivity"],
            date=found["as_of"][:10],
            customers=number(found["customers"]),
            missing=number(found["missing"]),
        )
    )
    if found.get("not_profiled"):
        echo(
            _(
                "{count} customers who object to profiling are not profiled: they are in no "
                "automated segment and are left out of the base and of every rate."
            ).format(count=number(found["not_profiled"]))
        )
    print_table(
        _("Groups in the base"),
        [_("group"), _("customers"), _("share"), ""],
        [
            (
                g["group"],
                number(g["customers"]),
                percent(g["share"]),
                _("too small to compare") if g["too_small"] else "",
            )
            for g in found["groups"]
        ],
    )
    levels = {"strong": _("strong"), "moderate": _("moderate"), "weak": _("weak")}
    for d in found["dimensions"]:
        title = (
            _("Dimension {name}").format(name=d["dimension"])
            if d["dimension"] is not None
            else _("Segment outside any dimension")
        )
        proxy = _(
            "proxy {level}: Cramér's V {v}, balanced accuracy {accuracy} (chance {chance})"
        ).format(
            level=levels.get(d["proxy"], d["proxy"]),
            v=number(d["cramers_v"], ".2f"),
            accuracy=percent(d["balanced_accuracy"]),
            chance=percent(d["chance_accuracy"]),
        )
        print_table(
            f"{title} — {proxy}",
            [
                _("segment"),
                _("members"),
                _("least selected"),
                _("most selected"),
                _("ratio"),
                _("p (Holm)"),
                _("Cramér's V"),
                _("verdict"),
            ],
            [
                (
                    s["segment_id"],
                    number(s["size"]),
                    s["lowest_group"] or "",
                    s["highest_group"] or "",
                    number(s["disparate_impact"], ".2f"),
                    "-"
                    if s["adjusted_p_value"] is None
                    else localised(f"{s['adjusted_p_value']:.2g}"),
                    number(s["cramers_v"], ".2f"),
                    _verdict(s),
                )
                for s in d["segments"]
            ],
        )
        for s in d["segments"]:
            if not s["flagged"]:
                continue
            print_table(
                _("Traits responsible for {segment}").format(segment=s["segment_id"]),
                [_("field"), _("Cramér's V with the attribute, alone")],
                [(t["field"], number(t["cramers_v"], ".2f")) for t in s["traits"]],
            )
            if s["unmeasured"]:
                echo(
                    _("Also read, not measured: {names}.").format(names=", ".join(s["unmeasured"]))
                )
    flagged = found["flagged_segments"]
    echo(
        _("{count} segment(s) flagged: {names}.").format(
            count=len(flagged), names=", ".join(flagged)
        )
        if flagged
        else _("No segment flagged.")
    )

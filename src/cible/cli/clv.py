"""``cible clv ...``: lifetime-value models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption, parse_moment
from cible.cli.output import echo, number, percent, print_json, print_table, write_file
from cible.cli.remote import open_workspace
from cible.reporting.holdout import render_holdout

clv_app = typer.Typer(help="Lifetime-value models: check them on your own history.")

_BY_REPEAT_PURCHASES = ("repeat_purchases", "customers", "actual", "expected")


@clv_app.command("evaluate")
def evaluate(
    calibration_end: Annotated[str, typer.Option(help="Last day of the calibration period.")],
    observation_end: Annotated[
        str | None, typer.Option(help="Last day of the holdout (default: last purchase).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the two charts to this HTML file.")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Fit BG/NBD on a calibration period; compare predicted and actual purchases after it."""
    lang = use_lang(lang)
    start = parse_moment("--calibration-end", calibration_end, "1997-09-30")
    assert start is not None
    end = parse_moment("--observation-end", observation_end, "1997-09-30")
    with open_workspace(workspace, read_only=True) as ws:
        result = ws.models.clv_evaluation(start, end)
        title = ws.config.workspace.name
    rows, curve = result.repeat_purchase_rows(), result.cumulative_rows()
    mape = result.mean_absolute_percentage_error()
    if output is not None:
        write_file(output, render_holdout(rows, curve, title=title, lang=lang))
    if as_json:
        print_json(
            {
                "params": result.model.params_,
                "log_likelihood": result.model.log_likelihood_,
                "by_repeat_purchases": [
                    dict(zip(_BY_REPEAT_PURCHASES, r, strict=True)) for r in rows
                ],
                "cumulative": [
                    dict(zip(("week", "actual", "expected", "holdout"), c, strict=True))
                    for c in curve
                ],
                "cumulative_mape": mape,
            }
        )
        return
    params = ", ".join(f"{k}={v:.4g}" for k, v in result.model.params_.items())
    echo(
        _("BG/NBD fitted on purchases up to {end:%Y-%m-%d}: {params}.").format(
            end=start, params=params
        )
    )
    print_table(
        _("Holdout purchases by calibration repeat purchases (mean per customer)"),
        [_("repeat purchases"), _("customers"), _("actual"), _("expected")],
        [(label, number(n, ","), number(a, ".2f"), number(e, ".2f")) for label, n, a, e in rows],
    )
    final = curve[-1]
    echo(
        _(
            "Cumulative repeat purchases by week {week}: actual {actual}, expected {expected}; "
            "mean absolute error over the holdout weeks {error}."
        ).format(
            week=final[0], actual=number(final[1]), expected=number(final[2]), error=percent(mape)
        )
    )
    if output is not None:
        echo(_("Charts: {path}").format(path=output))

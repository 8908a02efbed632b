"""``cible churn ...``: the churn risk model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.roles import LOCAL_USER
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import (
    NO_FIGURE,
    echo,
    number,
    percent,
    print_json,
    print_table,
    progress_bars,
)
from cible.cli.remote import open_workspace
from cible.domain.errors import CibleError

churn_app = typer.Typer(help="Churn risk: train a model on your history, read its card.")


def _print_card(model_id: int, card: dict[str, Any]) -> None:
    data = card.get("data", {})
    echo(
        _("Churn model {id}, created {created}.").format(
            id=model_id, created=card.get("created_at", "?")
        )
    )
    for part in ("training", "calibration", "evaluation"):
        window = data.get(part)
        if isinstance(window, dict) and window.get("as_of"):
            dates = window["as_of"]
            span = (
                dates[0][:10]
                if len(dates) == 1
                else _("{first} to {last}").format(first=dates[0][:10], last=dates[-1][:10])
            )
            echo(
                _("{part}: {span} ({dates} dates), {rows:,} rows, churn rate {rate}").format(
                    part=_PARTS[part](),
                    span=span,
                    dates=len(dates),
                    rows=window.get("rows", 0),
                    rate=percent(window.get("churn_rate")),
                )
            )
    metrics = card.get("metrics", {})
    scores = {"model": metrics.get("model", {}), **metrics.get("baselines", {})}

    def cell(values: dict[str, Any], key: str) -> str:
        value = values.get(key)
        return number(value, ".3f") if isinstance(value, float) else NO_FIGURE

    rows = [
        (name, *(cell(values, k) for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier")))
        for name, values in scores.items()
        if values
    ]
    if rows:
        print_table(
            _("Out-of-time evaluation"),
            [_("score"), "ROC AUC", "PR AUC", _("top-decile lift"), "Brier"],
            rows,
        )


# Translated when printed: the language is chosen by the command.
_PARTS = {
    "training": lambda: _("Training"),
    "calibration": lambda: _("Calibration"),
    "evaluation": lambda: _("Evaluation"),
}


@churn_app.command("train")
def train(
    horizon: Annotated[
        int, typer.Option(min=7, help="Days without purchase that mean churn.")
    ] = 90,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Train on monthly snapshots, test on the latest one out of time, store model and card."""
    use_lang(lang)
    with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
        model_id, card = ws.audit_log.change(
            LOCAL_USER.actor,
            "churn.train",
            "",
            lambda: ws.models.train_churn(horizon_days=horizon, progress=bars.task("churn")),
            lambda trained: {"model_id": trained[0]},
        )
    if as_json:
        print_json({"model_id": model_id, "card": card.as_dict()})
        return
    _print_card(model_id, card.as_dict())
    echo(_("The next `cible run` scores the churn risk with this model."))


@churn_app.command("card")
def card(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Show the newest churn model's card."""
    use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        found = ws.models.churn_card()
    if found is None:
        raise CibleError(_("No churn model yet: run `cible churn train` first."))
    model_id, model_card = found
    if as_json:
        print_json({"model_id": model_id, "card": model_card.as_dict()})
    else:
        _print_card(model_id, model_card.as_dict())

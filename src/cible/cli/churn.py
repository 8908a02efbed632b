"""``cible churn ...``: the churn risk model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.cli.options import JsonOption, WorkspaceOption
from cible.cli.output import (
    NO_FIGURE,
    echo,
    number,
    percent,
    print_json,
    print_table,
    progress_bars,
)
from cible.domain.errors import CibleError
from cible.workspace import Workspace

churn_app = typer.Typer(help="Churn risk: train a model on your history, read its card.")


def _print_card(model_id: int, card: dict[str, Any]) -> None:
    data = card.get("data", {})
    echo(f"Churn model {model_id}, created {card.get('created_at', '?')}.")
    for part in ("training", "calibration", "evaluation"):
        window = data.get(part)
        if isinstance(window, dict) and window.get("as_of"):
            dates = window["as_of"]
            span = dates[0][:10] if len(dates) == 1 else f"{dates[0][:10]} to {dates[-1][:10]}"
            echo(
                f"{part.capitalize()}: {span} ({len(dates)} dates), {window.get('rows', 0):,} "
                f"rows, churn rate {percent(window.get('churn_rate'))}"
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
            "Out-of-time evaluation",
            ["score", "ROC AUC", "PR AUC", "top-decile lift", "Brier"],
            rows,
        )


@churn_app.command("train")
def train(
    horizon: Annotated[
        int, typer.Option(min=7, help="Days without purchase that mean churn.")
    ] = 90,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Train on monthly snapshots, test on the latest one out of time, store model and card."""
    with Workspace.open(workspace) as ws, progress_bars(not as_json) as bars:
        model_id, card = ws.train_churn(horizon_days=horizon, progress=bars.task("churn"))
    if as_json:
        print_json({"model_id": model_id, "card": card.as_dict()})
        return
    _print_card(model_id, card.as_dict())
    echo("The next `cible run` scores churn_risk with this model.")


@churn_app.command("card")
def card(workspace: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """Show the newest churn model's card."""
    with Workspace.open(workspace, read_only=True) as ws:
        found = ws.churn_card()
    if found is None:
        raise CibleError("No churn model yet: run `cible churn train` first.")
    model_id, model_card = found
    if as_json:
        print_json({"model_id": model_id, "card": model_card.as_dict()})
    else:
        _print_card(model_id, model_card.as_dict())

"""``cible dedupe``: merge the profiles of one person, or undo a merge."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from cible.cli.options import JsonOption, WorkspaceOption
from cible.cli.output import echo, lines, print_json, print_table, progress_bars
from cible.domain.errors import CibleError
from cible.workspace import Workspace

# Short names of the match rules, for the table.
_RULES = {
    "deterministic-email": "same e-mail",
    "deterministic-phone": "same phone",
    "probabilistic": "model",
}


def dedupe(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the proposed merges; change nothing.")
    ] = False,
    undo: Annotated[
        int | None,
        typer.Option("--undo", metavar="MERGE_ID", help="Reverse merge MERGE_ID exactly."),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Merges to list (0: all).")] = 20,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Merge profiles of one person (same e-mail or phone, or alike to Splink's model).

    Each group becomes a golden record under its most complete profile's id; orders,
    events and consents follow it, the strictest consent wins, and every source row
    is kept so that --undo restores it. Thresholds: [dedupe] in cible.toml.
    """
    if undo is not None:
        if dry_run:
            raise CibleError("--undo cannot be combined with --dry-run: undo changes the data.")
        with Workspace.open(workspace) as ws:
            record = ws.undo_merge(undo)
        if as_json:
            print_json(asdict(record))
            return
        restored = ", ".join(record.restored_ids)
        echo(
            f"Merge {record.merge_id} undone: {restored} restored next to "
            f"{record.surviving_id}, with their orders, events and consents."
        )
        return
    with Workspace.open(workspace, read_only=dry_run) as ws, progress_bars(not as_json) as bars:
        result = ws.dedupe(dry_run=dry_run, progress=bars.task("dedupe"))
    data = result.as_dict()
    if as_json:
        print_json(data)
        return
    rows = data["proposed" if dry_run else "applied"]
    shown = rows[:limit] if limit else rows
    if shown:
        title = "Proposed merges (dry run)" if dry_run else "Merges applied"
        if len(shown) < len(rows):
            title += f", first {len(shown)} of {len(rows):,}"
        print_table(
            title,
            ["merge", "keeps", "merges", "match weight", "rule"],
            [_row(r) for r in shown],
        )
    verb = "would fold" if dry_run else "folded"
    echo(
        f"{data['profiles']:,} profiles examined: {data['merges']:,} merges {verb} "
        f"{data['merged_profiles']:,} profiles into others ({data['seconds']:.1f} s)."
    )
    if not data["model_trained"]:
        echo(
            "Too few profiles share an e-mail address to train the probabilistic model: "
            "only the deterministic rules (same e-mail, same phone) were applied."
        )
    if dry_run and rows:
        echo("Apply them with: cible dedupe")
    elif rows:
        echo("Undo one with: cible dedupe --undo MERGE_ID")


def _row(merge: dict[str, Any]) -> tuple[str | Text, ...]:
    names = merge["names"]

    def who(customer_id: str) -> str:
        return f"{customer_id} {names.get(customer_id, '')}".strip()

    weight = merge["match_weight"]
    return (
        "-" if merge["merge_id"] is None else str(merge["merge_id"]),
        who(merge["surviving_id"]),
        lines([who(i) for i in merge["merged_ids"]]),
        "-" if weight is None or math.isnan(weight) else f"{weight:.1f}",
        " + ".join(_RULES.get(rule, rule) for rule in merge["match_rule"].split("+")),
    )

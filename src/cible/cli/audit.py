"""``cible audit`` and ``cible normalise``: data quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.cli.options import JsonOption, WorkspaceOption
from cible.cli.output import echo, number, percent, print_json, print_table, progress_bars
from cible.workspace import Workspace


def _trend(report: dict[str, Any]) -> str:
    change = report["change"]
    if change is None:
        return "first audit"
    previous = report["trend"][-1]
    shown = round(change, 1) or 0.0  # never "-0.0"
    arrow = "↑" if shown > 0 else "↓" if shown < 0 else "→"
    return f"{arrow} {shown:+.1f} since audit {previous['audit_id']} ({previous['score']:.1f})"


def audit(
    top: Annotated[int, typer.Option(min=1, help="Problems to list.")] = 5,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Audit data quality: score 0-100, top problems with examples, trend; kept for next time."""
    with Workspace.open(workspace) as ws, progress_bars(not as_json) as bars:
        report = ws.audit(progress=bars.task("audit"))
    data = report.as_dict(top)
    if as_json:
        print_json(data)
        return
    echo(
        f"Quality score {data['score']:.1f} / 100 ({_trend(data)}), "
        f"{data['customers']:,} customers, audit {data['audit_id']}."
    )
    if data["problems"]:
        print_table(
            "Fixes that gain the most points",
            ["problem", "rows", "share", "if fixed", "examples"],
            [
                (
                    p["label"]["en"],
                    f"{p['affected']:,} / {p['denominator']:,}",
                    percent(p["share"]),
                    "+" + number(p["points"], ".1f"),
                    "; ".join(str(e) for e in p["examples"][:3]),
                )
                for p in data["problems"]
            ],
        )
    else:
        echo("No problem found.")
    print_table(
        "Areas", ["area", "score"], [(a, number(s, ".1f")) for a, s in data["areas"].items()]
    )
    coverage = data["consent_coverage"]
    if coverage:
        print_table(
            "Marketing consent granted",
            ["channel", "customers"],
            [(channel, percent(share)) for channel, share in coverage.items()],
        )
    echo("Every check: cible audit --json; the formula: docs/quality.md.")


def normalise(workspace: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """Normalise stored e-mails, phones, countries, names and cities again."""
    with Workspace.open(workspace) as ws:
        changed = ws.normalise()
    if as_json:
        print_json({"changed": changed})
        return
    print_table(
        "Values normalised",
        ["field", "customers changed"],
        [(name, f"{count:,}") for name, count in changed.items()],
    )

"""``cible dedupe``: merge the profiles of one person, or undo a merge."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.cli.customers import as_served
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, lines, print_json, print_table, progress_bars
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError
from cible.locale import N_

# Short names of the match rules, for the table (translated when printed).
_RULES = {
    "deterministic-email": N_("same e-mail"),
    "deterministic-phone": N_("same phone"),
    "probabilistic": N_("model"),
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
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Merge profiles of one person (same e-mail or phone, or alike to Splink's model).

    Each group becomes a golden record under its most complete profile's id; orders,
    events and consents follow it, the strictest consent wins, and every source row
    is kept so that --undo restores it. Thresholds: [dedupe] in cible.toml.
    """
    use_lang(lang)
    if undo is not None:
        if dry_run:
            raise CibleError("--undo cannot be combined with --dry-run: undo changes the data.")
        with open_workspace(workspace) as ws:
            record = ws.audit_log.change(
                LOCAL_USER.actor,
                "merge.undo",
                f"merge:{undo}",
                lambda: ws.quality.undo_merge(undo),
                lambda undone: {"restored": len(undone.restored_ids)},
            )
        if as_json:
            print_json(asdict(record))
            return
        restored = ", ".join(record.restored_ids)
        echo(
            _(
                "Merge {id} undone: {restored} restored next to {surviving}, with their "
                "orders, events and consents."
            ).format(id=record.merge_id, restored=restored, surviving=record.surviving_id)
        )
        return
    remote = connect(workspace)
    if remote is not None:
        with progress_bars(not as_json) as bars:
            data = remote.job("/api/dedupe", {"dry_run": dry_run}, progress=bars.task("dedupe"))
    else:
        with (
            open_workspace(workspace, read_only=dry_run) as ws,
            progress_bars(not as_json) as bars,
        ):
            if dry_run:
                found = ws.quality.dedupe(dry_run=True, progress=bars.task("dedupe"))
            else:
                found = ws.audit_log.change(
                    LOCAL_USER.actor,
                    "dedupe.finish",
                    "",
                    lambda: ws.quality.dedupe(dry_run=False, progress=bars.task("dedupe")),
                    lambda done: {"result": counts(done.as_dict())},
                )
        data = as_served(found.as_dict())
    if as_json:
        print_json(data)
        return
    rows = data["proposed" if dry_run else "applied"]
    shown = rows[:limit] if limit else rows
    if shown:
        title = _("Proposed merges (dry run)") if dry_run else _("Merges applied")
        if len(shown) < len(rows):
            title += _(", first {shown} of {total:,}").format(shown=len(shown), total=len(rows))
        print_table(
            title,
            [_("merge"), _("keeps"), _("merges"), _("match weight"), _("rule")],
            [_row(r) for r in shown],
        )
    summary = (
        _(
            "{profiles:,} profiles examined: {merges:,} merges would fold {merged:,} profiles "
            "into others ({seconds:.1f} s)."
        )
        if dry_run
        else _(
            "{profiles:,} profiles examined: {merges:,} merges folded {merged:,} profiles into "
            "others ({seconds:.1f} s)."
        )
    )
    echo(
        summary.format(
            profiles=data["profiles"],
            merges=data["merges"],
            merged=data["merged_profiles"],
            seconds=data["seconds"],
        )
    )
    if not data["model_trained"]:
        echo(
            _(
                "Too few profiles share an e-mail address to train the probabilistic model: "
                "only the deterministic rules (same e-mail, same phone) were applied."
            )
        )
    if dry_run and rows:
        echo(_("Apply them with: {command}").format(command="cible dedupe"))
    elif rows:
        echo(_("Undo one with: {command}").format(command="cible dedupe --undo MERGE_ID"))


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
        " + ".join(
            _(_RULES[rule]) if rule in _RULES else rule for rule in merge["match_rule"].split("+")
        ),
    )

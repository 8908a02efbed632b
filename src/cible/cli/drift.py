"""``cible drift check | history``: has a segment, a clustering or a model drifted?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.roles import LOCAL_USER
from cible.cli.i18n import _, current_lang, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, percent, print_json, print_table, progress_bars
from cible.cli.remote import connect, open_workspace

drift_app = typer.Typer(help="Drift checks between snapshots: check, history.")


@drift_app.command("check")
def check(
    snapshot: Annotated[
        int | None, typer.Option(help="The snapshot to check (default: the latest).")
    ] = None,
    reference: Annotated[
        int | None,
        typer.Option(help="The snapshot to compare with (default: [drift] reference_days before)."),
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Compare a snapshot with its reference: traits, segments, clusterings, the churn model.

    The check is kept, and its alerts go to the audit log and to the webhook and
    e-mails of [drift].
    """
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        body = {"snapshot": snapshot, "reference": reference}
        with progress_bars(not as_json) as bars:
            found = remote.job("/api/drift/checks", body, progress=bars.task("drift"))
    else:
        with open_workspace(workspace) as ws:
            found = ws.monitoring.check(snapshot, reference, actor=LOCAL_USER.actor).as_dict()
    if as_json:
        print_json(found)
        return
    show(found)


def show(found: dict[str, Any]) -> None:
    """Print a check: its moments, alerts, and the traits and segments that moved."""
    lang = current_lang()
    echo(
        _("Drift check {id}: {start} -> {end}").format(
            id=found.get("check_id") or "-",
            start=str(found["reference_as_of"])[:10],
            end=str(found["as_of"])[:10],
        )
    )
    for note in found.get("notes", []):
        echo(note)
    moved = [t for t in found["traits"] if t["alert"] or t["warning"]]
    if moved:
        print_table(
            _("Traits that moved"),
            [_("trait"), _("PSI"), _("usual"), _("mean then"), _("mean now"), _("feeds")],
            [
                (
                    t["trait"],
                    f"{t['psi']:.2f}",
                    "" if t["usual_psi"] is None else f"{t['usual_psi']:.2f}",
                    "" if t["reference_mean"] is None else f"{t['reference_mean']:.3g}",
                    "" if t["current_mean"] is None else f"{t['current_mean']:.3g}",
                    ", ".join(t["feeds"]),
                )
                for t in sorted(moved, key=lambda t: -t["psi"])
            ],
        )
    changed = [s for s in found["segments"] if s["alert"]]
    if changed:
        print_table(
            _("Segments that moved"),
            [_("segment"), _("then"), _("now"), _("change"), _("usual"), _("traits")],
            [
                (
                    s["segment_id"],
                    f"{s['size_then']:,}",
                    f"{s['size_now']:,}",
                    "" if s["change"] is None else percent(s["change"]),
                    "" if s["usual_change"] is None else percent(s["usual_change"]),
                    ", ".join(t["trait"] for t in s["traits_moved"]),
                )
                for s in changed
            ],
        )
    if not found["alerts"]:
        echo(_("No alert: nothing moved more than usual."))
        return
    print_table(
        _("{count} alerts").format(count=len(found["alerts"])),
        [_("kind"), _("subject"), _("what changed"), _("what to do")],
        [
            (
                a["kind"],
                a["subject"],
                a["what"].get(lang, a["what"]["en"]),
                a["action"].get(lang, a["action"]["en"]),
            )
            for a in found["alerts"]
        ],
    )


@drift_app.command("history")
def history(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many checks.")] = 20,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """The latest drift checks, newest first, with their alerts."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        rows = remote.request("GET", "/api/drift/checks", params={"limit": limit})
    else:
        with open_workspace(workspace, read_only=True) as ws:
            rows = ws.monitoring.history(limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo(_("No drift check yet: `cible drift check` makes one."))
        return
    print_table(
        _("Drift checks"),
        [_("id"), _("checked"), _("reference"), _("moment"), _("alerts"), _("by")],
        [
            (
                r["check_id"],
                str(r["checked_at"])[:16].replace("T", " "),
                str(r["reference_as_of"])[:10],
                str(r["as_of"])[:10],
                len(r["alerts"]),
                r.get("actor") or "",
            )
            for r in rows
        ],
    )

"""``cible snapshots list | take | backfill | remove``: moments kept for comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption, parse_moment
from cible.cli.output import echo, print_json, print_table, progress_bars
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError

snapshots_app = typer.Typer(
    help="Traits and memberships kept as of a moment: list, take, backfill, remove."
)


def _shown(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r["snapshot_id"],
            str(r["as_of"])[:16].replace("T", " "),
            r["origin"],
            f"{r['customers']:,}",
            f"{r['memberships']:,}",
        )
        for r in rows
    ]


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    print_table(
        title, [_("id"), _("as of"), _("origin"), _("customers"), _("memberships")], _shown(rows)
    )


@snapshots_app.command("list")
def list_(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Every snapshot, oldest moment first, with where it came from."""
    use_lang(lang)
    remote = connect(workspace)
    rows: list[dict[str, Any]]
    if remote is not None:
        rows = remote.request("GET", "/api/snapshots")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            rows = [s.as_dict() for s in ws.snapshots.list()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo(_("No snapshot yet: `cible snapshots backfill` replays each month of the history."))
        return
    _table(_("Snapshots"), rows)


@snapshots_app.command("take")
def take(
    as_of: Annotated[
        str | None, typer.Option(help="The moment to replay (ISO 8601; default: now, UTC).")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Replay a run as of a moment into a snapshot; the present segments stay as they are."""
    use_lang(lang)
    moment = parse_moment("--as-of", as_of)
    remote = connect(workspace)
    if remote is not None:
        body = {"as_of": None if moment is None else moment.isoformat()}
        with progress_bars(not as_json) as bars:
            row = remote.job("/api/snapshots", body, progress=bars.task("snapshot"))
    else:
        with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
            row = ws.audit_log.change(
                LOCAL_USER.actor,
                "snapshot.finish",
                "",
                lambda: ws.snapshots.take(moment, progress=bars.task("snapshot")).as_dict(),
                lambda done: {"result": counts(done)},
            )
    if as_json:
        print_json(row)
        return
    _table(_("Snapshot taken"), [row])


@snapshots_app.command("backfill")
def backfill(
    start: Annotated[
        str | None, typer.Option("--from", help="First month (default: the first order).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last month (default: after the last order).")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replay months already kept.")] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Replay the first day of each month of the data's history into snapshots.

    Months already kept are skipped (unless --replace); each month is stored on its own,
    so an interrupted backfill keeps what it finished and the same command completes it.
    """
    use_lang(lang)
    first, last = parse_moment("--from", start), parse_moment("--to", end)
    remote = connect(workspace)
    if remote is not None:
        body = {
            "start": None if first is None else first.isoformat(),
            "end": None if last is None else last.isoformat(),
            "replace": replace,
        }
        with progress_bars(not as_json) as bars:
            rows = remote.job("/api/snapshots/backfill", body, progress=bars.task("backfill"))[
                "snapshots"
            ]
    else:
        with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
            rows = ws.audit_log.change(
                LOCAL_USER.actor,
                "backfill.finish",
                "",
                lambda: [
                    s.as_dict()
                    for s in ws.snapshots.backfill(
                        start=first, end=last, replace=replace, progress=bars.task("backfill")
                    )
                ],
                lambda done: {"result": {"snapshots": len(done)}},
            )
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo(_("Every month was already kept; nothing replayed (--replace replays them)."))
        return
    _table(_("{count} months replayed").format(count=len(rows)), rows)


@snapshots_app.command("remove")
def remove(
    snapshot_id: Annotated[int, typer.Argument(help="The snapshot's id (`cible snapshots list`).")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Remove a snapshot and its rows."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        remote.request("DELETE", f"/api/snapshots/{snapshot_id}")
    else:
        with open_workspace(workspace) as ws:
            removed = ws.audit_log.change(
                LOCAL_USER.actor,
                "snapshot.remove",
                f"snapshot:{snapshot_id}",
                lambda: ws.snapshots.remove(snapshot_id),
            )
        if not removed:
            raise CibleError(f"No snapshot {snapshot_id}: `cible snapshots list` shows them.")
    if as_json:
        print_json({"removed": snapshot_id})
    else:
        echo(_("Removed snapshot {id}.").format(id=snapshot_id))

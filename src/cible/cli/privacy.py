"""``cible privacy erase | suppress | unsuppress | suppressions``: GDPR erasure and the
suppression list, locally or through the server (admins only there).

Erasure asks for confirmation unless ``--yes``: it cannot be undone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace

privacy_app = typer.Typer(
    help="Privacy: erase a customer (GDPR art. 17) and keep the suppression list."
)

_KINDS = "customer_id, email or phone"


@privacy_app.command("erase")
def erase(
    customer_id: Annotated[str, typer.Argument(help="The id of the customer to erase.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Delete a customer from every table, block their id, e-mail and phone from coming
    back, and rewrite the database file so that the deleted values are gone from it."""
    use_lang(lang)
    if not yes and not typer.confirm(
        _("Erase customer {id} from every table? This cannot be undone.").format(id=customer_id)
    ):
        echo(_("Nothing erased."))
        raise typer.Exit(1)
    remote = connect(workspace)
    done: dict[str, Any]
    if remote is not None:
        done = remote.request(
            "POST", f"/api/privacy/erase/{quote(customer_id, safe='')}", json={"reason": reason}
        )
    else:
        with open_workspace(workspace) as ws:
            done = ws.privacy.erase(customer_id, actor="cli", reason=reason).as_dict()
    if as_json:
        print_json(done)
        return
    echo(
        _(
            "Erased customer {id}: {rows} rows deleted in {tables} tables; {tombstones} "
            "values suppressed."
        ).format(
            id=customer_id,
            rows=done["rows_deleted"],
            tables=len(done["deleted"]),
            tombstones=done["tombstones"],
        )
    )
    if done["files_to_clean"]:
        echo(_("These files of the workspace still hold the customer's data; clean them:"))
        for name in done["files_to_clean"]:
            echo(f"  {name}")


@privacy_app.command("suppress")
def suppress(
    kind: Annotated[str, typer.Argument(help=f"What the value is: {_KINDS}.")],
    value: Annotated[str, typer.Argument(help="The value (only its salted digest is kept).")],
    reason: Annotated[str, typer.Option(help="Why (shown in the counts).")] = "requested",
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Refuse a customer id, e-mail or phone at import and ingestion; never export it."""
    use_lang(lang)
    body = {"kind": kind, "value": value, "reason": reason}
    remote = connect(workspace)
    if remote is not None:
        added = bool(remote.request("POST", "/api/privacy/suppressions", json=body)["added"])
    else:
        with open_workspace(workspace) as ws:
            added = ws.privacy.suppress(kind, value, reason)
    if as_json:
        print_json({"kind": kind, "added": added})
        return
    echo(
        _("Added the {kind} to the suppression list.").format(kind=kind)
        if added
        else _("The {kind} was already on the suppression list.").format(kind=kind)
    )


@privacy_app.command("unsuppress")
def unsuppress(
    kind: Annotated[str, typer.Argument(help=f"What the value is: {_KINDS}.")],
    value: Annotated[str, typer.Argument(help="The value to take off the list.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Take a value off the suppression list (an erased customer who comes back)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        body = {"kind": kind, "value": value}
        removed = bool(remote.request("POST", "/api/privacy/unsuppress", json=body)["removed"])
    else:
        with open_workspace(workspace) as ws:
            removed = ws.privacy.unsuppress(kind, value)
    if as_json:
        print_json({"kind": kind, "removed": removed})
        return
    echo(
        _("Took the {kind} off the suppression list.").format(kind=kind)
        if removed
        else _("The {kind} was not on the suppression list.").format(kind=kind)
    )


@privacy_app.command("suppressions")
def suppressions(
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Counts of the suppression list by kind and reason (it holds no value)."""
    use_lang(lang)
    remote = connect(workspace)
    counts: dict[str, Any]
    if remote is not None:
        counts = remote.request("GET", "/api/privacy/suppressions")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            counts = ws.privacy.suppressions()
    if as_json:
        print_json(counts)
        return
    rows = [(_("kind"), k, n) for k, n in counts["by_kind"].items()]
    rows += [(_("reason"), r, n) for r, n in counts["by_reason"].items()]
    print_table(
        _("Suppression list: {n} values").format(n=counts["total"]),
        [_("by"), _("value"), _("count")],
        rows,
    )

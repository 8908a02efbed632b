"""``cible privacy export|record|retention|consent``: a person's rights, the company's proof.

On a served workspace the answers come from ``/api/privacy/...``; locally from
``ws.privacy_access``. Pages and documents are rendered here from the same JSON form,
so the output is the same either way (docs/privacy-access.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from cible.activation.retention import RETENTION_REASON
from cible.cli.customers import as_served
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import (
    echo,
    json_text,
    print_json,
    print_table,
    progress_bars,
    write_file,
)
from cible.cli.remote import connect, open_workspace
from cible.reporting.privacy_access import render_access_page, render_record

access_app = typer.Typer(help="Personal data: access, consents, record of processing, retention.")

OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File to write (default: print)."),
]


def _deliver(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    write_file(output, text)
    echo(_("Wrote {path} ({size} KiB).").format(path=output, size=len(text.encode()) // 1024))


@access_app.command("export")
def export(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    fmt: Annotated[
        str, typer.Option("--format", help="json (portable, machine-readable) or html.")
    ] = "json",
    lang: LangOption = None,
    output: OutputOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """Everything held about one customer (GDPR art. 15 and 20), as JSON or an HTML page."""
    chosen = use_lang(lang)
    if fmt not in ("json", "html"):
        raise typer.BadParameter(_("use json or html"), param_hint="--format")
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/privacy/customers/{quote(customer_id, safe='')}")
    else:
        with open_workspace(workspace) as ws:
            found = as_served(ws.privacy_access.export(customer_id))
    text = render_access_page(found, chosen) if fmt == "html" else json_text(found)
    _deliver(text, output)


@access_app.command("record")
def record(
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    lang: LangOption = None,
    output: OutputOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """The record of processing activities (GDPR art. 30), generated from the workspace."""
    chosen = use_lang(lang)
    if fmt not in ("json", "md", "html"):
        raise typer.BadParameter(_("use json, md or html"), param_hint="--format")
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", "/api/privacy/record")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.privacy_access.record())
    text = json_text(found) if fmt == "json" else render_record(found, chosen, fmt)
    _deliver(text, output)


@access_app.command("retention")
def retention(
    limit: Annotated[int, typer.Option(help="Ids listed at most.", min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(help="Ids skipped first (paging).", min=0)] = 0,
    pseudonymise: Annotated[
        bool, typer.Option("--pseudonymise", help="Clear their contact and name fields.")
    ] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="Erase them from every table, as privacy erase does.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --pseudonymise or --delete.")] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Customers past the [privacy] retention periods: prospects and inactive customers.

    With --pseudonymise --yes, their e-mail, phone, names and postal code are cleared
    (orders and events stay, so figures do not change), in one audited transaction.
    With --delete --yes, each is erased from every table with a tombstone and an audit
    entry, as `cible privacy erase` does, and the database file is rewritten once.
    """
    use_lang(lang)
    remote = connect(workspace)
    if pseudonymise and delete:
        raise typer.BadParameter(
            _("choose --pseudonymise or --delete, not both"), param_hint="--delete"
        )
    if (pseudonymise or delete) and not yes:
        raise typer.BadParameter(
            _("this cannot be undone: add --yes to confirm"), param_hint="--yes"
        )
    if pseudonymise:
        if remote is not None:
            done = remote.request("POST", "/api/privacy/retention/pseudonymise")
        else:
            with open_workspace(workspace) as ws:
                done = as_served(ws.privacy_access.pseudonymise_past_retention())
        if as_json:
            print_json(done)
        else:
            echo(
                _("Pseudonymised {count} customers past retention.").format(count=done["customers"])
            )
        return
    if delete:
        if remote is not None:
            # A job in the server, followed with the same bar as here.
            with progress_bars(not as_json) as bars:
                done = remote.job("/api/privacy/retention/delete", progress=bars.task("erase"))
        else:
            with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
                due = ws.privacy_access.past_retention_ids()
                done = ws.privacy.erase_many(
                    due, actor="cli", reason=RETENTION_REASON, progress=bars.task("erase")
                )
        if as_json:
            print_json(done)
            return
        echo(
            _(
                "Erased {count} customers past retention: {rows} rows deleted; {tombstones} "
                "values suppressed."
            ).format(
                count=done["customers"], rows=done["rows_deleted"], tombstones=done["tombstones"]
            )
        )
        if done["files_to_clean"]:
            echo(_("These files of the workspace still hold erased customers' data; clean them:"))
            for name in done["files_to_clean"]:
                echo(f"  {name}")
        return
    params = {"limit": limit, "offset": offset}
    if remote is not None:
        found = remote.request("GET", "/api/privacy/retention", params=params)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.privacy_access.retention(limit=limit, offset=offset))
    if as_json:
        print_json(found)
        return
    counts = found["counts"]
    echo(
        _(
            "{prospects} prospects without interaction for {prospect_days} days and {inactive} "
            "customers inactive for {inactive_days} days are past retention."
        ).format(
            prospects=counts["prospects"],
            prospect_days=found["prospect_days"],
            inactive=counts["inactive_customers"],
            inactive_days=found["customer_inactive_days"],
        )
    )
    kinds = {"prospect": _("prospect"), "inactive_customer": _("inactive customer")}
    print_table(
        _("Past retention ({first}-{last} of {total})").format(
            first=min(offset + 1, found["total"]),
            last=offset + len(found["customers"]),
            total=found["total"],
        ),
        [_("customer"), _("kind"), _("last interaction")],
        [
            (c["customer_id"], kinds.get(c["kind"], c["kind"]), c["last_interaction_at"])
            for c in found["customers"]
        ],
    )


@access_app.command("consent")
def consent(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """A customer's consent ledger, with sources and dates, and the current state."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/privacy/consents/{quote(customer_id, safe='')}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.privacy_access.consents(customer_id))
    if as_json:
        print_json(found)
        return
    print_table(
        _("Consent ledger of {id}").format(id=customer_id),
        [_("recorded"), _("channel"), _("purpose"), _("status"), _("source"), _("proof")],
        [
            (r["recorded_at"], r["channel"], r["purpose"], r["status"], r["source"], r["proof"])
            for r in found["ledger"]
        ],
    )
    print_table(
        _("Current consents"),
        [_("channel"), _("purpose"), _("status")],
        [(c["channel"], c["purpose"], c["status"]) for c in found["current"]],
    )

"""``cible deliveries list | show | retry``: what was sent, what failed, and sending again.

On a served workspace the commands go through the server's API (``/api/deliveries``);
otherwise they open the workspace (a retry is then sent by the next ``cible serve``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.roles import LOCAL_USER
from cible.activation.deliveries import STATUSES, delivery_dict
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace

deliveries_app = typer.Typer(
    help="Webhooks, e-mails and notifications sent by automations: list, show, retry."
)

_STATUSES = ", ".join(STATUSES)


@deliveries_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {_STATUSES}.")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Deliveries, newest first: kind, target, status, attempts, last error."""
    use_lang(lang)
    remote = connect(workspace)
    found: list[dict[str, Any]]
    if remote is not None:
        params = {"status": status, "customer": customer, "limit": limit}
        found = remote.request(
            "GET", "/api/deliveries", params={k: v for k, v in params.items() if v is not None}
        )
    else:
        with open_workspace(workspace, read_only=True) as ws:
            rows = ws.deliveries.list(status=status, customer=customer, limit=limit)
        found = [delivery_dict(row, payload=False) for row in rows]
    if as_json:
        print_json(found)
        return
    print_table(
        _("Deliveries"),
        [_("id"), _("kind"), _("customer"), _("target"), _("status"), _("attempts"), _("error")],
        [
            (
                d["delivery_id"],
                d["kind"],
                d["customer_id"] or "",
                d["target"],
                d["status"],
                d["attempts"],
                d["last_error"] or "",
            )
            for d in found
        ],
    )


@deliveries_app.command("show")
def show(
    delivery_id: Annotated[
        int, typer.Argument(min=1, help="Delivery id (`cible deliveries list`).")
    ],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One delivery and its attempts: when, how each ended, the answer or the error."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/deliveries/{delivery_id}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.deliveries.log(delivery_id).as_dict()
    if as_json:
        print_json(found)
        return
    echo(
        _("Delivery {id} ({kind} to {target}): {status}, key {key}").format(
            id=found["delivery_id"],
            kind=found["kind"],
            target=found["target"],
            status=found["status"],
            key=found["idempotency_key"],
        )
    )
    print_table(
        _("Attempts"),
        [_("attempt"), _("at"), _("outcome"), _("code"), _("error"), _("ms")],
        [
            (
                a["attempt"],
                str(a["attempted_at"]).replace("T", " ")[:19],
                a["outcome"],
                a["status_code"] if a["status_code"] is not None else "",
                a["error"] or "",
                "" if a["duration_ms"] is None else f"{a['duration_ms']:.0f}",
            )
            for a in found["attempts"]
        ],
    )


@deliveries_app.command("retry")
def retry(
    delivery_id: Annotated[int, typer.Argument(min=1, help="A failed delivery's id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Send a failed delivery again, with the same idempotency key."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("POST", f"/api/deliveries/{delivery_id}/retry")
    else:
        with open_workspace(workspace) as ws:
            row = ws.audit_log.change(
                LOCAL_USER.actor,
                "delivery.retry",
                f"delivery:{delivery_id}",
                lambda: ws.deliveries.retry(delivery_id),
            )
        found = delivery_dict(row, payload=False)
    if as_json:
        print_json(found)
        return
    echo(_("Delivery {id} is pending again.").format(id=found["delivery_id"]))

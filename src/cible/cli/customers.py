"""``cible customers show ID``: one customer's profile, traits, memberships and consents.

On a served workspace the answer comes from ``GET /api/customers/{id}``; locally from
``ws.customers.profile``. Both are printed from the same JSON form, so the output is
the same either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import print_json, print_table
from cible.cli.remote import connect, open_workspace
from cible.domain.json_values import dumps_json

customers_app = typer.Typer(help="Look up one customer.")


def as_served(payload: Any) -> Any:
    """``payload`` as the API sends it (dates as ISO 8601 text, NaN as null)."""
    return json.loads(dumps_json(payload))


@customers_app.command("show")
def show(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Profile, traits of the latest run, memberships with history, current consents."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/customers/{quote(customer_id, safe='')}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.customers.profile(customer_id))
    if as_json:
        print_json(found)
        return
    print_table(
        _("Customer {id}").format(id=customer_id),
        [_("field"), _("value")],
        [(name, value) for name, value in found["profile"].items() if value is not None],
    )
    traits = found["traits"]
    if traits:
        print_table(
            _("Traits of the latest run"),
            [_("trait"), _("value")],
            [(name, value) for name, value in traits.items() if name != "customer_id"],
        )
    print_table(
        _("Segment memberships"),
        [_("segment"), _("entered"), _("exited"), _("current")],
        [
            (
                m["segment_id"],
                m["entered_at"],
                m["exited_at"] or "",
                _("yes") if m["current"] else "",
            )
            for m in found["memberships"]
        ],
    )
    print_table(
        _("Consents"),
        [_("channel"), _("purpose"), _("status")],
        [(c["channel"], c["purpose"], c["status"]) for c in found["consents"]],
    )

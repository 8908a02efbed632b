"""``cible privacy object | unobject``: objection to profiling (GDPR art. 21).

Each command appends records of the ``profiling`` purpose to the consents ledger,
locally or through the server (``/api/privacy/objections``); see docs/privacy.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json
from cible.cli.remote import connect, open_workspace

objection_app = typer.Typer(help="Objection to profiling (GDPR art. 21).")

CustomerArgument = Annotated[str, typer.Argument(help="The id of the customer.")]
SourceOption = Annotated[
    str, typer.Option(help="Where the request came from (kept in the ledger).")
]
ProofOption = Annotated[
    str, typer.Option(help="Evidence of the request: a ticket, a letter (kept in the ledger).")
]


def _change(
    customer_id: str, objects: bool, source: str, proof: str, workspace: Path
) -> dict[str, Any]:
    remote = connect(workspace)
    if remote is not None:
        path = f"/api/privacy/objections/{quote(customer_id, safe='')}"
        body = {"source": source, "proof": proof}
        done: dict[str, Any] = remote.request(
            "POST", path if objects else f"{path}/withdraw", json=body
        )
        return done
    with open_workspace(workspace) as ws:
        change = ws.objection.object if objects else ws.objection.unobject
        return change(customer_id, source=source, proof=proof, actor="cli").as_dict()


@objection_app.command("object")
def object_(
    customer_id: CustomerArgument,
    source: SourceOption = "request",
    proof: ProofOption = "",
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Record that a customer objects to profiling: they leave every automated segment
    now, get no score, start no automation and leave marketing exports."""
    use_lang(lang)
    done = _change(customer_id, True, source, proof, workspace)
    if as_json:
        print_json(done)
        return
    echo(
        _(
            "Customer {id} objects to profiling: {exited} segment memberships ended; no "
            "automated segment, score or automation until the objection is withdrawn."
        ).format(id=customer_id, exited=done["exited"])
    )


@objection_app.command("unobject")
def unobject(
    customer_id: CustomerArgument,
    source: SourceOption = "request",
    proof: ProofOption = "",
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Record that a customer withdraws their objection to profiling: the next run
    profiles them again."""
    use_lang(lang)
    done = _change(customer_id, False, source, proof, workspace)
    if as_json:
        print_json(done)
        return
    echo(
        _(
            "Customer {id} no longer objects to profiling: the next run places them in "
            "segments again."
        ).format(id=customer_id)
    )

"""``cible tokens create | list | revoke``: API tokens, locally or through the server.

On a served workspace the commands go through the server's API (an admin token is
needed: the local user's, or ``CIBLE_TOKEN``); otherwise they open the workspace,
and the audit log names the local user ``cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.masking import sees_contacts
from cible.access.roles import Principal, Role
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace

tokens_app = typer.Typer(help="API tokens with roles for `cible serve`: create, list, revoke.")

_ROLES = ", ".join(role.value for role in Role)


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who will use it; the audit log shows this name.")],
    role: Annotated[str, typer.Option(help=f"One of: {_ROLES}.")] = Role.VIEWER.value,
    unmask: Annotated[
        bool,
        typer.Option(
            "--unmask",
            help="Let a viewer or analyst read e-mails and phones in clear "
            "(editors and admins always do).",
        ),
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Create a token and print its secret, this once (only its SHA-256 digest is stored)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        created = remote.request(
            "POST", "/api/tokens", json={"name": name, "role": role, "unmask": unmask}
        )
    else:
        with open_workspace(workspace) as ws:
            secret, info = ws.tokens.create(name, role, unmask=unmask)
        created = {**info.as_dict(), "token": secret}
    if as_json:
        print_json(created)
        return
    echo(
        _(
            "Created token {id} {name!r} with role {role}. Copy it now; it is not shown again:"
        ).format(id=created["token_id"], name=created["name"], role=created["role"])
    )
    if created.get("unmask"):
        echo(_("It reads e-mails and phones in clear."))
    echo(created["token"])


@tokens_app.command("list")
def list_(
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Every token (never its secret), revoked ones included."""
    use_lang(lang)
    remote = connect(workspace)
    tokens: list[dict[str, Any]]
    if remote is not None:
        tokens = remote.request("GET", "/api/tokens")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            tokens = [token.as_dict() for token in ws.tokens.list()]
    if as_json:
        print_json(tokens)
        return
    print_table(
        _("Tokens"),
        [_("id"), _("name"), _("role"), _("contacts"), _("created"), _("revoked")],
        [
            (
                t["token_id"],
                t["name"],
                t["role"],
                _contacts(t),
                _moment(t["created_at"]),
                _moment(t["revoked_at"]),
            )
            for t in tokens
        ],
    )


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(min=1, help="Token id (see `cible tokens list`).")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Revoke a token for good: it is refused from the next request on."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        revoked = remote.request("DELETE", f"/api/tokens/{token_id}")
    else:
        with open_workspace(workspace) as ws:
            revoked = ws.tokens.revoke(token_id).as_dict()
    if as_json:
        print_json(revoked)
        return
    echo(_("Revoked token {id} {name!r}.").format(id=revoked["token_id"], name=revoked["name"]))


def _contacts(token: dict[str, Any]) -> str:
    """How the token reads e-mails and phones (cible.access.masking)."""
    role = Role(token["role"])
    if role is Role.INGEST:
        return ""
    holder = Principal(token["name"], role, unmask=bool(token.get("unmask")))
    return _("clear") if sees_contacts(holder) else _("masked")


def _moment(value: Any) -> str:
    """A stored moment to the minute (a datetime locally, ISO text from the API)."""
    if value is None:
        return ""
    return str(value).replace("T", " ")[:16]

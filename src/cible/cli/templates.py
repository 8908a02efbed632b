"""``cible templates list | show | validate | add | remove | preview``: message templates.

Locally, changes go to the audit log under the local user ``cli``; on a served
workspace every command goes through the server's API (its token's role decides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cible.access.roles import LOCAL_USER
from cible.activation.template_definition import parse_template
from cible.cli.customers import as_served
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table, print_text
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError
from cible.domain.text import utf8_text
from cible.locale import LANGUAGES

templates_app = typer.Typer(
    help="Message templates with personal content and blocks by segment: add, preview, list."
)

#: What ``--language`` accepts besides one language.
BOTH = "both"


def _read(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CibleError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    return utf8_text(data, file)


def _path(template_id: str) -> str:
    return f"/api/templates/{quote(template_id, safe='')}"


@templates_app.command("list")
def list_(
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Every template: name, languages, blocks, who saved it and when."""
    lang = use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", "/api/templates")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served([t.as_dict() for t in ws.templates.list()])
    if as_json:
        print_json(found)
        return
    print_table(
        _("Templates"),
        [_("id"), _("name"), _("languages"), _("blocks"), _("updated"), _("by")],
        [
            (
                t["id"],
                t["name"][lang],
                ", ".join(t["languages"]),
                ", ".join(t["blocks"]),
                str(t["updated_at"]).replace("T", " ")[:16],
                t["updated_by"],
            )
            for t in found
        ],
    )


@templates_app.command("show")
def show(
    template_id: Annotated[str, typer.Argument(help="Template id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One template and its definition."""
    lang = use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", _path(template_id))
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.templates.get(template_id).as_dict())
    if as_json:
        print_json(found)
        return
    print_text((found["name"][lang], "bold"), f" ({found['id']})")
    echo(
        _("Languages: {languages}; blocks: {blocks}; saved {at} by {by}.").format(
            languages=", ".join(found["languages"]),
            blocks=", ".join(found["blocks"]) or "-",
            at=str(found["updated_at"]).replace("T", " ")[:16],
            by=found["updated_by"],
        )
    )
    print_json(found["definition"])


@templates_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="YAML or JSON template definition.")],
    lang: LangOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a definition without storing it; errors name the path in the file."""
    use_lang(lang)
    # Checking needs no workspace: a template names nothing a workspace must hold.
    definition = parse_template(_read(file))
    if as_json:
        print_json({"valid": True, "definition": definition.to_dict()})
    else:
        echo(_("{file}: valid template {id!r}.").format(file=file, id=definition.id))


@templates_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="YAML or JSON template definition.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Store a template (replacing one with the same id)."""
    use_lang(lang)
    definition = parse_template(_read(file)).to_dict()
    remote = connect(workspace)
    if remote is not None:
        answer = remote.request("PUT", _path(definition["id"]), json=definition)
        saved_id, created = answer["id"], answer["created"]
    else:
        with open_workspace(workspace) as ws:
            saved, created = ws.audit_log.change(
                LOCAL_USER.actor,
                "template.save",
                f"file:{file.name}",
                lambda: ws.templates.add(definition, actor=LOCAL_USER.actor),
                lambda result: {"id": result[0].id, "created": result[1]},
            )
        saved_id = saved.id
    if as_json:
        print_json({"id": saved_id, "created": created})
        return
    message = _("Added template {id!r}.") if created else _("Replaced template {id!r}.")
    echo(message.format(id=saved_id))


@templates_app.command("remove")
def remove(
    template_id: Annotated[str, typer.Argument(help="Template id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """Delete a template."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        remote.request("DELETE", _path(template_id))
    else:

        def remove_it() -> None:
            if not ws.templates.remove(template_id):
                raise CibleError(f"No template {template_id!r}.")

        with open_workspace(workspace) as ws:
            ws.audit_log.change(
                LOCAL_USER.actor, "template.delete", f"template:{template_id}", remove_it
            )
    echo(_("Removed template {id!r}.").format(id=template_id))


@templates_app.command("preview")
def preview(
    template_id: Annotated[str, typer.Argument(help="Template id.")],
    customer: Annotated[
        str | None, typer.Option("--customer", help="Render for this customer.")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="Render for the first members of this segment."),
    ] = None,
    language: Annotated[
        str,
        typer.Option(
            "--language", help="Language of the message: en, fr or both (--lang is the CLI's)."
        ),
    ] = BOTH,
    limit: Annotated[
        int, typer.Option(min=1, max=50, help="Members of --segment rendered, at most.")
    ] = 5,
    html: Annotated[
        bool, typer.Option("--html", help="Print the HTML body, not the text.")
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Render a template as it would be sent: for a customer, a segment's first members,
    or nobody in particular (the defaults show); in both languages unless --language."""
    use_lang(lang)
    if language != BOTH and language not in LANGUAGES:
        raise CibleError(f"--language {language!r}: use en, fr or both.")
    chosen = None if language == BOTH else language
    remote = connect(workspace)
    if remote is not None:
        body = {"customer_id": customer, "segment_id": segment, "lang": chosen, "limit": limit}
        found = remote.request("POST", f"{_path(template_id)}/preview", json=body)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(
                ws.templates.preview(
                    template_id, customer_id=customer, segment_id=segment, lang=chosen, limit=limit
                )
            )
    if as_json:
        print_json(found)
        return
    if not found["previews"]:
        echo(_("Segment {id!r} has no current members.").format(id=segment))
    for shown in found["previews"]:
        _print_preview(shown, html)


def _print_preview(shown: dict[str, Any], html: bool) -> None:
    who = shown["customer_id"]
    for message_lang, message in shown["messages"].items():
        heading = (
            _("Customer {id} ({lang})").format(id=who, lang=message_lang)
            if who is not None
            else _("No customer ({lang})").format(lang=message_lang)
        )
        print_text((heading, "bold"))
        print_text(_("Subject: {subject}").format(subject=message["subject"]))
        # One line at a time: control characters in data are shown escaped.
        for line in (message["html"] if html else message["text"]).splitlines():
            print_text(line)
        print_text("")

"""``cible tags list | show | add | remove | rename``: tags, locally or through the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError

tags_app = typer.Typer(help="Tags on customers: list, show, add, remove, rename.")

CustomerOption = Annotated[
    list[str] | None,
    typer.Option("--customer", "-c", help="A customer id (repeat the option for several)."),
]
CustomersFile = Annotated[
    Path | None,
    typer.Option(
        "--customers-file", help="A text file with one customer id per line.", dir_okay=False
    ),
]


def _ids(customers: list[str] | None, path: Path | None) -> list[str]:
    ids = list(customers or [])
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CibleError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
        ids += [line.strip() for line in text.splitlines() if line.strip()]
    return ids


@tags_app.command("list")
def list_(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Every tag with its category, colour and how many customers carry it."""
    use_lang(lang)
    remote = connect(workspace)
    tags: list[dict[str, Any]]
    if remote is not None:
        tags = remote.request("GET", "/api/tags")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            tags = [t.to_dict() for t in ws.tags.list()]
    if as_json:
        print_json(tags)
        return
    print_table(
        _("Tags"),
        [_("name"), _("category"), _("colour"), _("customers"), _("description")],
        [
            (t["name"], t["category"] or "", t["colour"] or "", t["customers"], t["description"])
            for t in tags
        ],
    )


@tags_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The tag.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One tag: its definition, how many customers carry it, its latest changes."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        tag = remote.request("GET", f"/api/tags/{name}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            tag = {**ws.tags.get(name).to_dict(), "history": ws.tags.history(name)}
    if as_json:
        print_json(tag)
        return
    echo(f"{tag['name']}: {tag['description'] or ''}")
    echo(
        _("{count} customers; category {category}; colour {colour}.").format(
            count=tag["customers"], category=tag["category"] or "-", colour=tag["colour"] or "-"
        )
    )
    print_table(
        _("Latest changes"),
        [_("customer"), _("action"), _("when"), _("by"), _("how")],
        [
            (h["customer_id"], h["action"], str(h["changed_at"])[:19], h["actor"], h["source"])
            for h in tag["history"]
        ],
    )


@tags_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The tag, created when it does not exist.")],
    customer: CustomerOption = None,
    customers_file: CustomersFile = None,
    colour: Annotated[str | None, typer.Option(help="#rrggbb")] = None,
    description: Annotated[str, typer.Option(help="When to use this tag.")] = "",
    category: Annotated[str | None, typer.Option(help="See [tags] in cible.toml.")] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Create a tag (or change its colour, description, category) and set it on customers."""
    use_lang(lang)
    ids = _ids(customer, customers_file)
    remote = connect(workspace)
    body = {"colour": colour, "description": description, "category": category}
    if remote is not None:
        remote.request("PUT", f"/api/tags/{name}", json=body)
        added = 0
        if ids:
            added = remote.request(
                "POST", f"/api/tags/{name}/customers", json={"customer_ids": ids}
            )["added"]
    else:
        with open_workspace(workspace) as ws:
            log = ws.audit_log
            log.change(
                "cli",
                "tag.save",
                f"tag:{name}",
                lambda: ws.tags.define(
                    name, colour=colour, description=description, category=category
                ),
            )
            added = 0
            if ids:
                added = log.change(
                    "cli",
                    "tag.add",
                    f"tag:{name}",
                    lambda: ws.tags.apply(name, ids, actor="cli"),
                    lambda n: {"customers": len(ids), "added": n},
                )
    if as_json:
        print_json({"name": name, "added": added})
        return
    echo(_("Tag {name} saved; set on {added} more customers.").format(name=name, added=added))


@tags_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The tag.")],
    customer: CustomerOption = None,
    customers_file: CustomersFile = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Remove a tag from the customers given; without customers, delete the tag itself."""
    use_lang(lang)
    ids = _ids(customer, customers_file)
    remote = connect(workspace)
    if remote is not None:
        if ids:
            removed = remote.request(
                "DELETE", f"/api/tags/{name}/customers", json={"customer_ids": ids}
            )["removed"]
        else:
            removed = remote.request("DELETE", f"/api/tags/{name}")["removed"]
    else:
        with open_workspace(workspace) as ws:
            if ids:
                removed = ws.audit_log.change(
                    "cli",
                    "tag.remove",
                    f"tag:{name}",
                    lambda: ws.tags.withdraw(name, ids, actor="cli"),
                    lambda n: {"customers": len(ids), "removed": n},
                )
            else:
                removed = ws.audit_log.change(
                    "cli",
                    "tag.delete",
                    f"tag:{name}",
                    lambda: ws.tags.delete(name),
                    lambda n: {"removed": n},
                )
    if as_json:
        print_json({"name": name, "removed": removed, "deleted": not ids})
        return
    if ids:
        echo(_("Tag {name} removed from {n} customers.").format(name=name, n=removed))
    else:
        echo(
            _("Tag {name} deleted; it was removed from {n} customers.").format(name=name, n=removed)
        )


@tags_app.command("rename")
def rename(
    old: Annotated[str, typer.Argument(help="The tag's name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Rename a tag in its definition and history (edit segments that read the old name)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        moved = remote.request("POST", f"/api/tags/{old}/rename", json={"name": new})["changes"]
    else:
        with open_workspace(workspace) as ws:
            moved = ws.audit_log.change(
                "cli",
                "tag.rename",
                f"tag:{old}",
                lambda: ws.tags.rename(old, new),
                lambda n: {"to": new, "changes": n},
            )
    if as_json:
        print_json({"name": new, "renamed_from": old, "changes": moved})
        return
    echo(_("Tag {old} is now {new}.").format(old=old, new=new))

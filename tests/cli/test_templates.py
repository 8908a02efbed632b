"""`cible templates`: locally (actor `cli`) and through a real `cible serve` process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cible import Workspace
from cible.access.roles import Role
from cible.cli.app import app
from tests.cli.test_serve import Running, cible, running  # noqa: F401 - the served fixture

runner = CliRunner()

GUIDE = textwrap.dedent(
    """\
    id: pricing-guide
    name: {en: Pricing guide, fr: Guide des tarifs}
    subject:
      en: "Your pricing guide, {{ customer.first_name | default('there') }}"
      fr: "Votre guide des tarifs, {{ customer.first_name | default('cher client') }}"
    html:
      en: "<p>Hello {{ customer.email }}</p>{{ block('offer') }}"
      fr: "<p>Bonjour {{ customer.email }}</p>{{ block('offer') }}"
    blocks:
      offer:
        - {segment: lifecycle-new, html: {en: "<p>Welcome</p>", fr: "<p>Bienvenue</p>"}}
        - {html: {en: "<p>Read our blog</p>", fr: "<p>Lisez notre blog</p>"}}
    """
)


def _shop(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (tmp_path / "c.csv").write_text("customer_id,email\na,a@example.com\n", encoding="utf-8")
    with Workspace.create(folder) as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
    (tmp_path / "guide.yaml").write_text(GUIDE, encoding="utf-8")
    return folder


def test_add_list_show_preview_remove_locally(tmp_path: Path) -> None:
    folder, guide = _shop(tmp_path), str(tmp_path / "guide.yaml")
    checked = runner.invoke(app, ["templates", "validate", guide])
    assert checked.exit_code == 0 and "valid template 'pricing-guide'" in checked.output
    added = runner.invoke(app, ["templates", "add", guide, "-w", str(folder)])
    assert added.exit_code == 0, added.output
    assert "Added template 'pricing-guide'." in added.output
    again = runner.invoke(app, ["templates", "add", guide, "-w", str(folder)])
    assert "Replaced template 'pricing-guide'." in again.output

    listed = runner.invoke(app, ["templates", "list", "--json", "-w", str(folder)])
    [found] = json.loads(listed.output)
    assert (found["id"], found["updated_by"], found["blocks"]) == (
        "pricing-guide",
        "cli",
        ["offer"],
    )
    assert found["name"] == {"en": "Pricing guide", "fr": "Guide des tarifs"}
    table = runner.invoke(app, ["templates", "list", "--lang", "fr", "-w", str(folder)])
    assert table.exit_code == 0 and "Guide" in table.output and "Pricing" not in table.output
    shown = runner.invoke(app, ["templates", "show", "pricing-guide", "-w", str(folder)])
    assert shown.exit_code == 0 and '"offer"' in shown.output

    preview = runner.invoke(
        app, ["templates", "preview", "pricing-guide", "--customer", "a", "-w", str(folder)]
    )
    assert preview.exit_code == 0, preview.output
    assert "Customer a (en)" in preview.output and "Customer a (fr)" in preview.output
    assert "Subject: Your pricing guide, there" in preview.output
    assert "Subject: Votre guide des tarifs, cher client" in preview.output
    assert "Hello a@example.com" in preview.output and "Read our blog" in preview.output
    html = runner.invoke(
        app,
        ["templates", "preview", "pricing-guide", "--language", "fr", "--html", "-w", str(folder)],
    )
    assert "No customer (fr)" in html.output and "<p>Lisez notre blog</p>" in html.output
    assert "(en)" not in html.output
    wrong = runner.invoke(
        app, ["templates", "preview", "pricing-guide", "--language", "de", "-w", str(folder)]
    )
    assert wrong.exit_code == 1 and "--language 'de': use en, fr or both." in wrong.output

    removed = runner.invoke(app, ["templates", "remove", "pricing-guide", "-w", str(folder)])
    assert removed.exit_code == 0 and "Removed template 'pricing-guide'." in removed.output
    gone = runner.invoke(app, ["templates", "remove", "pricing-guide", "-w", str(folder)])
    assert gone.exit_code == 1 and "No template 'pricing-guide'." in gone.output
    with Workspace.open(folder) as ws:
        actions = [(e.actor, e.action, e.outcome) for e in reversed(ws.audit_log.entries())]
    assert [a for a in actions if a[1].startswith("template.")] == [
        ("cli", "template.save", "ok"),
        ("cli", "template.save", "ok"),
        ("cli", "template.delete", "ok"),
        ("cli", "template.delete", "failed"),
    ]


def test_a_bad_definition_names_the_path(tmp_path: Path) -> None:
    folder = _shop(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(GUIDE.replace("block('offer')", "block('offr')", 1), encoding="utf-8")
    result = runner.invoke(app, ["templates", "add", str(bad), "-w", str(folder)])
    assert result.exit_code == 1
    assert "html.en: unknown block 'offr' (the template's blocks: 'offer')" in result.output


def test_templates_through_the_server(running: Running, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "guide.yaml").write_text(GUIDE, encoding="utf-8")
    added = cible("templates", "add", str(tmp_path / "guide.yaml"), folder=running.folder)
    assert added.returncode == 0, added.stderr
    assert "Added template 'pricing-guide'." in added.stdout
    listed = cible("templates", "list", "--json", folder=running.folder)
    assert [t["id"] for t in json.loads(listed.stdout)] == ["pricing-guide"]
    # The local user's token is an admin's: the audit log names it.
    assert json.loads(listed.stdout)[0]["updated_by"] == "cli"
    preview = cible(
        "templates", "preview", "pricing-guide", "--segment", "lifecycle-new", "--limit", "1",
        "--language", "en", folder=running.folder,
    )  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    assert "Customer a (en)" in preview.stdout and "Welcome" in preview.stdout
    viewer = cible(
        "templates", "remove", "pricing-guide", folder=running.folder,
        CIBLE_TOKEN=running.secrets[Role.VIEWER],
    )  # fmt: skip
    assert viewer.returncode == 1 and "403" in viewer.stderr + viewer.stdout
    removed = cible("templates", "remove", "pricing-guide", folder=running.folder)
    assert removed.returncode == 0, removed.stderr
    header = {"Authorization": f"Bearer {running.secrets[Role.VIEWER]}"}
    assert httpx.get(f"{running.url}/api/templates", headers=header, timeout=30).json() == []

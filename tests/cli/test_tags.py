"""``cible tags`` and ``cible automations`` on a local workspace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app
from tests.activation.conftest import make_shop

runner = CliRunner()


def cible(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_tags_add_show_remove_rename_from_the_command_line(tmp_path: Path) -> None:
    shop = str(make_shop(tmp_path))
    ids = tmp_path / "ids.txt"
    ids.write_text("a\n\nb\n")
    code, out = cible(
        "tags",
        "add",
        "hot-lead",
        "--customers-file",
        str(ids),
        "-w",
        shop,
        "--description",
        "Saw pricing",
        "--colour",
        "#d9480f",
    )
    assert code == 0 and "set on 2 more customers" in out
    code, out = cible("tags", "add", "hot-lead", "-c", "nobody", "-w", shop)
    assert code == 1 and "No customer 'nobody'" in out
    code, out = cible("tags", "list", "-w", shop, "--json")
    assert [(t["name"], t["customers"]) for t in json.loads(out)] == [("hot-lead", 2)]
    code, out = cible("tags", "remove", "hot-lead", "-c", "a", "-w", shop)
    assert code == 0 and "removed from 1 customers" in out
    code, out = cible("tags", "rename", "hot-lead", "warm-lead", "-w", shop)
    assert code == 0
    code, out = cible("tags", "show", "warm-lead", "-w", shop, "--json")
    shown = json.loads(out)
    assert shown["customers"] == 1 and len(shown["history"]) == 3
    code, out = cible("tags", "remove", "warm-lead", "-w", shop)
    assert code == 0 and "deleted" in out
    with Workspace.open(shop) as ws:
        actions = [e.action for e in ws.audit_log.entries(limit=20)]
    assert {"tag.save", "tag.add", "tag.remove", "tag.rename", "tag.delete"} <= set(actions)


def test_automations_from_a_file_validated_paused_and_dry_run(tmp_path: Path) -> None:
    shop = str(make_shop(tmp_path))
    cible("tags", "add", "hot-lead", "-w", shop)
    good = tmp_path / "greet.yaml"
    good.write_text(
        "id: greet\nname: {en: Greet, fr: Accueil}\ntrigger: {tag: hot-lead}\n"
        "steps:\n  - wait: {hours: 2}\n  - remove_tag: hot-lead\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntrigger: {tag: hot-lead}\nsteps:\n  - emial: {template: x}\n")
    code, out = cible("automations", "validate", str(bad), "-w", shop)
    assert code == 1 and "bad.yaml: steps[0]: a step needs one of the keys" in out
    assert "did you mean 'email'" in out
    code, out = cible("automations", "add", str(good), "-w", shop)
    assert code == 0 and "version 1, active" in out
    code, out = cible("automations", "pause", "greet", "-w", shop)
    assert code == 0 and "paused" in out
    code, out = cible("automations", "resume", "greet", "-w", shop, "--json")
    assert json.loads(out)["status"] == "active"
    code, out = cible("automations", "dry-run", "greet", "-c", "a", "-w", shop, "--json")
    assert [s["outcome"] for s in json.loads(out)] == ["would wait", "done", "done"]
    code, out = cible("automations", "show", "greet", "-w", shop)
    assert code == 0 and "remove_tag: hot-lead" in out
    code, out = cible("automations", "runs", "greet", "-w", shop, "--json")
    assert json.loads(out) == {"runs": [], "log": []}
    code, out = cible("automations", "list", "-w", shop)
    assert code == 0 and "greet" in out

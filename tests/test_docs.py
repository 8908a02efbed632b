"""Documentation is checked: the CLI reference matches the commands, README holds the set-up."""

from __future__ import annotations

from pathlib import Path

from cible.cli.reference import command_names, render, render_data_model, render_traits

ROOT = Path(__file__).parents[1]


def test_cli_reference_is_up_to_date():
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/cli.md is stale: run `make docs`"


def test_data_model_reference_is_up_to_date():
    committed = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert committed == render_data_model(), "docs/data-model.md is stale: run `make docs`"


def test_traits_reference_is_up_to_date():
    committed = (ROOT / "docs" / "traits.md").read_text(encoding="utf-8")
    assert committed == render_traits(), "docs/traits.md is stale: run `make docs`"


def test_readme_quickstart_has_the_two_commands_and_every_command_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    for name in command_names():
        assert f"cible {name}" in readme, f"README does not mention `cible {name}`"


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in script

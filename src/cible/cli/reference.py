"""Generates the reference docs from the code itself.

``python -m cible.cli.reference cli`` prints ``docs/cli.md`` (each command's
``--help``), ``data-model`` prints ``docs/data-model.md`` (the field registry) and
``traits`` prints ``docs/traits.md`` (the trait registry). Tests regenerate both and fail when the
committed files differ, so the references never drift from the code.
"""

from __future__ import annotations

import sys
from typing import Any

from typer.testing import CliRunner

from cible.cli.app import app
from cible.domain.schema import CANONICAL_TABLES
from cible.segments.runner import ALL_TRAITS

#: Fixed width so that the generated text does not depend on the terminal.
WIDTH = "100"


def _names(typer_app: Any) -> list[str]:
    names = []
    for command in typer_app.registered_commands:
        assert command.callback is not None
        names.append(command.name or command.callback.__name__.strip("_").replace("_", "-"))
    return names


def command_names() -> list[str]:
    """Names of the ``cible`` commands, groups' subcommands included (``segments add``).

    Commands come in the order they are declared, then each group's subcommands.
    """
    names = _names(app)
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        names += [f"{group.name} {name}" for name in _names(group.typer_instance)]
    return names


def render() -> str:
    """The CLI reference as Markdown."""
    runner = CliRunner()
    env = {"COLUMNS": WIDTH, "TERMINAL_WIDTH": WIDTH, "NO_COLOR": "1", "TERM": "dumb"}
    lines = [
        "# Command line reference",
        "",
        "Generated from the commands' own `--help` by `python -m cible.cli.reference`;",
        "do not edit by hand. Every command that reads a workspace takes `--workspace`",
        "(or the `CIBLE_WORKSPACE` variable; default: the current folder).",
        "",
    ]
    for name in command_names():
        result = runner.invoke(app, [*name.split(), "--help"], env=env, prog_name="cible")
        text = "\n".join(line.rstrip() for line in result.output.strip().splitlines())
        lines += [f"## `cible {name}`", "", "```text", text, "```", ""]
    return "\n".join(lines)


def render_data_model() -> str:
    """The canonical tables and their fields as Markdown."""
    lines = [
        "# Data model",
        "",
        "Generated from the field registry (`cible/domain/schema.py`) by",
        "`python -m cible.cli.reference data-model`; do not edit by hand. Timestamps are",
        "UTC; a value with an offset is converted on import, one without is read as UTC.",
        "Custom customer attributes are declared in `cible.toml` under `[attributes.NAME]`.",
        "",
        "Categories: identifier, demographic, geographic, psychographic, behavioural,",
        "value, contextual, technical. Sensitivity: none, personal, special (GDPR article 9;",
        "never used for targeting without a recorded legal basis).",
        "",
    ]
    for table in CANONICAL_TABLES.values():
        lines += [f"## `{table.name}`", ""]
        lines.append(f"Key: {', '.join(table.key)}.")
        if table.references:
            refs = ", ".join(f"`{c}` -> {t}" for c, t in table.references.items())
            lines.append(f"References (unknown values are loaded but flagged): {refs}.")
        if table.import_rule:
            lines.append(table.import_rule)
        lines += ["", "| field | type | required | category | sensitivity | description |"]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for f in table.fields:
            kind = f.type.value + (f" ({', '.join(f.values)})" if f.values else "")
            required = "yes" if f.required else ""
            lines.append(
                f"| `{f.name}` | {kind} | {required} | {f.category.value} | "
                f"{f.sensitivity.value} | {f.description} |"
            )
        lines.append("")
    return "\n".join(lines)


def render_traits() -> str:
    """Every trait a run computes, as Markdown."""
    lines = [
        "# Traits",
        "",
        "Generated from the trait registry by `python -m cible.cli.reference traits`; do not",
        "edit by hand. `cible run` stores one row per customer with these columns in",
        "`customer_traits` (`ws.traits()` in Python); segment definitions refer to them with",
        "`{trait: NAME, ...}`. Only orders and events before the run's `as_of` count.",
        "Reports, persona cards and the CLI show a marketer the label, in their language.",
        "",
        "| trait | label | label (fr) | type | unit | category | description | description (fr) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for trait in ALL_TRAITS:
        lines.append(
            f"| `{trait.name}` | {trait.label} | {trait.label_fr} | {trait.dtype} | {trait.unit} "
            f"| {trait.category.value} | {trait.description} | {trait.description_fr} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "cli"
    pages = {"cli": render, "data-model": render_data_model, "traits": render_traits}
    print(pages[which](), end="")

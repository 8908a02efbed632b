"""Generates ``docs/cli.md`` from the commands' ``--help``: ``python -m cible.cli.reference``.

A test regenerates it and fails when the committed file differs, so the reference
can never drift from the commands.
"""

from __future__ import annotations

from typer.testing import CliRunner

from cible.cli.app import app

#: Fixed width so that the generated text does not depend on the terminal.
WIDTH = "100"


def command_names() -> list[str]:
    """Names of the ``cible`` commands, in the order they are declared."""
    names = []
    for command in app.registered_commands:
        assert command.callback is not None
        names.append(command.name or command.callback.__name__.strip("_").replace("_", "-"))
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
        result = runner.invoke(app, [name, "--help"], env=env, prog_name="cible")
        text = "\n".join(line.rstrip() for line in result.output.strip().splitlines())
        lines += [f"## `cible {name}`", "", "```text", text, "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")

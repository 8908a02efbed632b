"""`cible tokens` on a workspace that is not served: the local user is the actor `cli`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app

runner = CliRunner()


def test_create_list_revoke_locally(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    created = runner.invoke(
        app, ["tokens", "create", "ci bot", "--role", "editor", "-w", str(folder)]
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("cible_") and "not shown again" in created.output

    listed = runner.invoke(app, ["tokens", "list", "--json", "-w", str(folder)])
    [token] = json.loads(listed.output)
    assert (token["name"], token["role"], token["revoked_at"]) == ("ci bot", "editor", None)
    assert secret not in listed.output

    revoked = runner.invoke(app, ["tokens", "revoke", str(token["token_id"]), "-w", str(folder)])
    assert revoked.exit_code == 0 and "Revoked token 1 'ci bot'." in revoked.output
    again = runner.invoke(app, ["tokens", "revoke", str(token["token_id"]), "-w", str(folder)])
    assert again.exit_code == 1 and "No live token with id 1." in again.output

    with Workspace.open(folder) as ws:
        assert ws.tokens.authenticate(secret) is None
        actions = [(e.actor, e.action, e.outcome) for e in reversed(ws.audit_log.entries())]
    assert actions == [
        ("cli", "token.create", "ok"),
        ("cli", "token.revoke", "ok"),
        ("cli", "token.revoke", "refused"),
    ]


def test_unknown_role_is_one_sentence(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    result = runner.invoke(app, ["tokens", "create", "x", "--role", "root", "-w", str(folder)])
    assert result.exit_code == 1
    assert (
        "Unknown role 'root': use one of viewer, analyst, editor, admin, ingest." in result.output
    )


def test_create_with_the_unmask_grant(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    for name, extra in (("crm", ["--unmask"]), ("bi", [])):
        created = runner.invoke(
            app, ["tokens", "create", name, "--role", "analyst", *extra, "-w", str(folder)]
        )
        assert created.exit_code == 0, created.output
        assert ("reads e-mails and phones in clear" in created.output) is bool(extra)
    listed = runner.invoke(app, ["tokens", "list", "--json", "-w", str(folder)])
    assert {t["name"]: t["unmask"] for t in json.loads(listed.output)} == {"crm": True, "bi": False}
    table = runner.invoke(app, ["tokens", "list", "-w", str(folder)], env={"COLUMNS": "200"})
    lines = table.output.splitlines()
    crm = next(line for line in lines if " crm " in line)
    bi = next(line for line in lines if " bi " in line)
    assert "clear" in crm and "masked" in bi
    refused = runner.invoke(
        app, ["tokens", "create", "site", "--role", "ingest", "--unmask", "-w", str(folder)]
    )
    assert refused.exit_code == 1 and "cannot be granted unmasked contacts" in refused.output

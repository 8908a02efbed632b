"""``cible automations list | show | add | validate | pause | resume | runs | dry-run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cible.cli.definition_files import check_definition, save_definition
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, print_json, print_table
from cible.cli.remote import connect, open_workspace
from cible.locale import N_

automations_app = typer.Typer(
    help="Automations: a trigger, then steps (tags, waits, branches, e-mails, webhooks)."
)

#: What the run log and the dry run say, as people read it (the stored codes are English).
_WORDS = {
    "add_tag": N_("add tag"),
    "remove_tag": N_("remove tag"),
    "wait": N_("wait"),
    "branch": N_("branch"),
    "email": N_("e-mail"),
    "webhook": N_("webhook"),
    "notify": N_("notify"),
    "end": N_("end"),
    "goal": N_("goal"),
    "stop": N_("stop"),
    "delivery": N_("delivery"),
    "done": N_("done"),
    "then": N_("then"),
    "else": N_("else"),
    "waiting": N_("waiting"),
    "would wait": N_("would wait"),
    "over": N_("over"),
    "condition met": N_("condition met"),
    "timed out": N_("timed out"),
    "queued": N_("queued"),
    "would send": N_("would send"),
    "would skip": N_("would skip"),
    "skipped": N_("skipped"),
    "reached": N_("reached"),
    "stopped": N_("stopped"),
}


def _word(code: str) -> str:
    return _(_WORDS[code]) if code in _WORDS else code


AutomationArg = Annotated[str, typer.Argument(help="The automation's id.")]
FileArg = Annotated[
    Path, typer.Argument(help="A YAML or JSON automation (docs/activation.md).", dir_okay=False)
]


@automations_app.command("list")
def list_(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Every automation: id, status, trigger."""
    use_lang(lang)
    remote = connect(workspace)
    found: list[dict[str, Any]]
    if remote is not None:
        found = remote.request("GET", "/api/automations")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.automations.list()
    if as_json:
        print_json(found)
        return
    print_table(
        _("Automations"),
        [_("id"), _("name"), _("status"), _("version"), _("trigger")],
        [(a["id"], a["name"], a["status"], a["version"], str(a["trigger"])) for a in found],
    )


@automations_app.command("show")
def show(
    automation_id: AutomationArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One automation: definition, status and runs by status."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/automations/{automation_id}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.automations.get(automation_id)
    if as_json:
        print_json(found)
        return
    echo(f"{found['id']} ({found['status']}, v{found['version']}): {found['name']}")
    runs = ", ".join(f"{k} {v}" for k, v in sorted(found["runs"].items())) or "-"
    echo(_("Runs: {runs}").format(runs=runs))
    echo(yaml.safe_dump(found["definition"], allow_unicode=True, sort_keys=False).rstrip())


@automations_app.command("validate")
def validate(
    path: FileArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Check an automation file against the workspace without saving it."""
    use_lang(lang)
    checked = check_definition(
        path,
        workspace,
        resource="automations",
        validate=lambda ws, data: ws.automations.validate(data),
    )
    if as_json:
        print_json({"valid": True, "definition": checked})
        return
    echo(_("{path}: automation {id} is valid.").format(path=path, id=checked["id"]))


@automations_app.command("add")
def add(
    path: FileArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Add or replace an automation from a file; runs of a changed one stop."""
    use_lang(lang)
    saved = save_definition(
        path,
        workspace,
        resource="automations",
        kind="automation",
        add=lambda ws, data: ws.automations.add(data),
    )
    if as_json:
        print_json(saved)
        return
    echo(
        _("Saved automation {id} (version {version}, {status}).").format(
            id=saved["id"], version=saved["version"], status=saved["status"]
        )
    )
    for note in saved.get("notes", []):
        echo(note)


def _status(automation_id: str, workspace: Path, action: str, as_json: bool) -> None:
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("POST", f"/api/automations/{automation_id}/{action}")
    else:
        with open_workspace(workspace) as ws:
            change = ws.automations.pause if action == "pause" else ws.automations.resume
            ws.audit_log.change(
                "cli",
                f"automation.{action}",
                f"automation:{automation_id}",
                lambda: change(automation_id),
            )
            found = ws.automations.get(automation_id)
    if as_json:
        print_json(found)
        return
    echo(_("Automation {id} is {status}.").format(id=automation_id, status=found["status"]))


@automations_app.command("pause")
def pause(
    automation_id: AutomationArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Start and move no run until resumed; waiting runs keep their place."""
    use_lang(lang)
    _status(automation_id, workspace, "pause", as_json)


@automations_app.command("resume")
def resume(
    automation_id: AutomationArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Start and move runs again."""
    use_lang(lang)
    _status(automation_id, workspace, "resume", as_json)


@automations_app.command("runs")
def runs(
    automation_id: AutomationArg,
    customer: Annotated[
        str | None, typer.Option("--customer", "-c", help="One customer's runs and steps.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """The latest runs; with --customer, every step taken or skipped for that customer."""
    use_lang(lang)
    remote = connect(workspace)
    params: dict[str, Any] = {"limit": limit}
    if customer is not None:
        params["customer_id"] = customer
    if remote is not None:
        found = remote.request("GET", f"/api/automations/{automation_id}/runs", params=params)
        steps = (
            remote.request("GET", f"/api/automations/{automation_id}/log", params=params)
            if customer is not None
            else []
        )
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = [
                r.__dict__
                for r in ws.automations.runs(automation_id, customer_id=customer, limit=limit)
            ]
            steps = (
                [
                    r.__dict__
                    for r in ws.automations.log(automation_id, customer_id=customer, limit=limit)
                ]
                if customer is not None
                else []
            )
    if as_json:
        print_json({"runs": found, "log": steps})
        return
    print_table(
        _("Runs"),
        [_("run"), _("customer"), _("status"), _("started"), _("resumes"), _("trigger")],
        [
            (
                r["run_id"],
                r["customer_id"],
                r["status"],
                str(r["started_at"])[:19],
                str(r["resume_at"] or "")[:19],
                r["trigger"],
            )
            for r in found
        ],
    )
    if steps:
        print_table(
            _("Steps"),
            [_("when"), _("step"), _("action"), _("outcome"), _("detail")],
            [
                (
                    str(s["logged_at"])[:19],
                    s["step"],
                    _word(s["action"]),
                    _word(s["outcome"]),
                    s["detail"] or "",
                )
                for s in steps
            ],
        )


@automations_app.command("dry-run")
def dry_run(
    automation_id: AutomationArg,
    customer: Annotated[str, typer.Option("--customer", "-c", help="The customer to try.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Every step the automation would take for one customer now; nothing is written or sent."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        steps = remote.request(
            "POST",
            f"/api/automations/{automation_id}/dry-run",
            params={"customer_id": customer},
        )["steps"]
    else:
        with open_workspace(workspace, read_only=True) as ws:
            steps = ws.automations.dry_run(automation_id, customer)
    if as_json:
        print_json(steps)
        return
    print_table(
        _("Dry run of {id} for {customer}").format(id=automation_id, customer=customer),
        [_("step"), _("action"), _("outcome"), _("detail")],
        [(s["step"], _word(s["action"]), _word(s["outcome"]), s["detail"] or "") for s in steps],
    )

"""``cible campaigns validate | add | list | show | launch | pause | end | conflicts |
assignments | send | sends``."""

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

campaigns_app = typer.Typer(
    help="Campaigns: target segments, variants with offers and a holdout, assigned by hash."
)

#: Why a customer is not eligible, as people read it (the stored codes are English).
_REASONS = {
    "no_consent": N_("no consent record"),
    "denied": N_("consent denied"),
    "withdrawn": N_("consent withdrawn"),
    "conflict": N_("kept by a campaign of higher priority"),
    "frequency_cap": N_("frequency cap reached"),
}

CampaignArg = Annotated[str, typer.Argument(help="The campaign's id.")]
FileArg = Annotated[
    Path, typer.Argument(help="A YAML or JSON campaign (docs/campaigns.md).", dir_okay=False)
]


def _reason(code: str) -> str:
    return _(_REASONS[code]) if code in _REASONS else code


def _arms_table(found: dict[str, Any]) -> None:
    print_table(
        _("Arms of {id}").format(id=found["id"]),
        [_("arm"), _("share"), _("eligible"), _("excluded")],
        [(a["arm"], f"{a['share']:.1%}", a["eligible"], a["excluded"]) for a in found["arms"]],
    )


@campaigns_app.command("validate")
def validate(
    path: FileArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Check a campaign file against the workspace without saving it."""
    use_lang(lang)
    checked = check_definition(
        path,
        workspace,
        resource="campaigns",
        validate=lambda ws, data: ws.campaigns.validate(data),
    )
    if as_json:
        print_json({"valid": True, "definition": checked})
        return
    echo(_("{path}: campaign {id} is valid.").format(path=path, id=checked["id"]))


@campaigns_app.command("add")
def add(
    path: FileArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Add or replace a campaign from a file (a new one is a draft)."""
    use_lang(lang)
    saved = save_definition(
        path,
        workspace,
        resource="campaigns",
        kind="campaign",
        add=lambda ws, data: ws.campaigns.add(data),
    )
    if as_json:
        print_json(saved)
        return
    echo(
        _("Saved campaign {id} (version {version}, {status}).").format(
            id=saved["id"], version=saved["version"], status=saved["status"]
        )
    )


@campaigns_app.command("list")
def list_(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Every campaign: id, status, channel, priority and dates."""
    use_lang(lang)
    remote = connect(workspace)
    found: list[dict[str, Any]]
    if remote is not None:
        found = remote.request("GET", "/api/campaigns")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.campaigns.list()
    if as_json:
        print_json(found)
        return
    print_table(
        _("Campaigns"),
        [_("id"), _("name"), _("status"), _("channel"), _("priority"), _("start"), _("end")],
        [
            (c["id"], c["name"], c["status"], c["channel"], c["priority"], c["start"], c["end"])
            for c in found
        ],
    )


@campaigns_app.command("show")
def show(
    campaign_id: CampaignArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One campaign: definition, status and customers per arm."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/campaigns/{campaign_id}")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.campaigns.get(campaign_id)
    if as_json:
        print_json(found)
        return
    echo(f"{found['id']} ({found['status']}, v{found['version']}): {found['name']}")
    echo(yaml.safe_dump(found["definition"], allow_unicode=True, sort_keys=False).rstrip())
    if found["launched_at"] is not None:
        _arms_table(found)


def _print_conflicts(conflicts: list[dict[str, Any]]) -> None:
    print_table(
        _("Contradictory offers"),
        [_("campaigns"), _("category"), _("offers"), _("customers"), _("kept by")],
        [
            (
                " / ".join(c["campaigns"]),
                c["category"],
                _("{first} against {second}").format(first=c["offers"][0], second=c["offers"][1]),
                c["customers"],
                c["keeps"] or _("equal priorities"),
            )
            for c in conflicts
        ],
    )


@campaigns_app.command("launch")
def launch(
    campaign_id: CampaignArg,
    resolve_by_priority: Annotated[
        bool,
        typer.Option(
            "--resolve-by-priority",
            help="Keep customers two conflicting campaigns target in the one of higher "
            "priority, excluded from the other.",
        ),
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Assign the targeted customers to arms and go live (again: re-assign, arms kept)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        done = remote.request(
            "POST",
            f"/api/campaigns/{campaign_id}/launch",
            params={"resolve_by_priority": resolve_by_priority},
        )
    else:
        with open_workspace(workspace) as ws:
            done = ws.audit_log.change(
                "cli",
                "campaign.launch",
                f"campaign:{campaign_id}",
                lambda: ws.campaigns.launch(campaign_id, resolve_by_priority=resolve_by_priority),
                lambda done: {"eligible": done["eligible"], "moved": done["moved"]},
            )
    if as_json:
        print_json(done)
        return
    echo(
        _("Campaign {id} is live: {eligible} of {targeted} targeted customers eligible.").format(
            id=campaign_id, eligible=done["eligible"], targeted=done["targeted"]
        )
    )
    for arm, n in done["arms"].items():
        echo(f"  {arm}: {n}")
    for reason, n in done["excluded"].items():
        echo(_("Excluded, {reason}: {n}").format(reason=_reason(reason), n=n))
    if done["conflicts"]:
        _print_conflicts(done["conflicts"])


def _status(campaign_id: str, workspace: Path, action: str, as_json: bool) -> None:
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("POST", f"/api/campaigns/{campaign_id}/{action}")
    else:
        with open_workspace(workspace) as ws:
            change = ws.campaigns.pause if action == "pause" else ws.campaigns.end
            found = ws.audit_log.change(
                "cli", f"campaign.{action}", f"campaign:{campaign_id}", lambda: change(campaign_id)
            )
    if as_json:
        print_json(found)
        return
    echo(_("Campaign {id} is {status}.").format(id=campaign_id, status=found["status"]))


@campaigns_app.command("pause")
def pause(
    campaign_id: CampaignArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Pause a live campaign; its assignment stays."""
    use_lang(lang)
    _status(campaign_id, workspace, "pause", as_json)


@campaigns_app.command("end")
def end(
    campaign_id: CampaignArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """End a campaign for good; its assignment stays for the analysis."""
    use_lang(lang)
    _status(campaign_id, workspace, "end", as_json)


@campaigns_app.command("conflicts")
def conflicts(
    campaign_id: Annotated[
        str | None, typer.Argument(help="Only this campaign's conflicts.", show_default=False)
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Customers targeted by two current campaigns whose offers contradict each other."""
    use_lang(lang)
    remote = connect(workspace)
    found: list[dict[str, Any]]
    if remote is not None:
        params = {"campaign_id": campaign_id} if campaign_id else {}
        found = remote.request("GET", "/api/campaigns/conflicts", params=params)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = [c.as_dict() for c in ws.campaigns.conflicts(campaign_id)]
    if as_json:
        print_json(found)
        return
    if not found:
        echo(_("No contradictory offers."))
        return
    _print_conflicts(found)


@campaigns_app.command("assignments")
def assignments(
    campaign_id: CampaignArg,
    customer: Annotated[
        str | None, typer.Option("--customer", "-c", help="One customer's arm.")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Customers per arm, exclusions by reason; with --customer, that customer's arm."""
    use_lang(lang)
    remote = connect(workspace)
    params = {"customer_id": customer} if customer is not None else {}
    if remote is not None:
        found = remote.request("GET", f"/api/campaigns/{campaign_id}/assignments", params=params)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.campaigns.assignments(campaign_id, customer_id=customer)
    if as_json:
        print_json(found)
        return
    if customer is not None:
        row = found.get("customer")
        if row is None:
            echo(_("{customer} is not assigned in {id}.").format(customer=customer, id=campaign_id))
        elif row["eligible"]:
            echo(_("{customer}: arm {arm}, eligible.").format(customer=customer, arm=row["arm"]))
        else:
            echo(
                _("{customer}: arm {arm}, excluded ({reason}).").format(
                    customer=customer, arm=row["arm"], reason=_reason(row["reason"])
                )
                + (f" → {row['conflict_with']}" if row["conflict_with"] else "")
            )
        return
    _arms_table(found)
    for reason, n in found["excluded"].items():
        echo(_("Excluded, {reason}: {n}").format(reason=_reason(reason), n=n))


@campaigns_app.command("send")
def send(
    campaign_id: CampaignArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be queued; write nothing.")
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Queue the messages of a live campaign: one per eligible customer of each variant,
    never the holdout; customers already sent to are not sent again."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        done = remote.request(
            "POST", f"/api/campaigns/{campaign_id}/send", params={"dry_run": dry_run}
        )
    elif dry_run:
        with open_workspace(workspace, read_only=True) as ws:
            done = ws.campaigns.send(campaign_id, dry_run=True)
    else:
        with open_workspace(workspace) as ws:
            done = ws.audit_log.change(
                "cli",
                "campaign.send",
                f"campaign:{campaign_id}",
                lambda: ws.campaigns.send(campaign_id),
                lambda done: {"queued": done["queued"], "already_sent": done["already_sent"]},
            )
    if as_json:
        print_json(done)
        return
    if done["dry_run"]:
        echo(_("Dry run: nothing was queued."))
    text = (
        _("Campaign {id}: {queued} messages would be queued.")
        if done["dry_run"]
        else _("Campaign {id}: {queued} messages queued.")
    )
    echo(text.format(id=campaign_id, queued=done["queued"]))
    print_table(
        _("Sends of {id}").format(id=campaign_id),
        [_("arm"), _("queued"), _("already sent"), _("no address")],
        [(arm, n["queued"], n["already_sent"], n["no_address"]) for arm, n in done["arms"].items()],
    )
    echo(_("Holdout, kept and not sent: {n}").format(n=done["holdout"]))


@campaigns_app.command("sends")
def sends(
    campaign_id: CampaignArg,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """What became of a campaign's messages: per variant, pending, delivered, failed and
    skipped (with the reasons)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", f"/api/campaigns/{campaign_id}/sends")
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.campaigns.sends(campaign_id)
    if as_json:
        print_json(found)
        return
    print_table(
        _("Messages of {id}").format(id=campaign_id),
        [_("arm"), _("queued"), _("pending"), _("delivered"), _("failed"), _("skipped")],
        [
            (arm, n["queued"], n["pending"], n["delivered"], n["failed"], n["skipped"])
            for arm, n in found["arms"].items()
        ],
    )
    for arm, n in found["arms"].items():
        for reason, count in n["skipped_reasons"].items():
            echo(
                _("{arm}: skipped, {reason}: {n}").format(arm=arm, reason=_reason(reason), n=count)
            )
    echo(_("Holdout, kept and not sent: {n}").format(n=found["holdout"]))

"""``cible audit`` and ``cible normalise``: data quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import echo, number, percent, print_json, print_table, progress_bars
from cible.cli.remote import open_workspace
from cible.locale.messages import ENGLISH, text


def _trend(report: dict[str, Any]) -> str:
    change = report["change"]
    if change is None:
        return _("first audit")
    previous = report["trend"][-1]
    shown = round(change, 1) or 0.0  # never "-0.0"
    arrow = "↑" if shown > 0 else "↓" if shown < 0 else "→"
    return _("{arrow} {change:+.1f} since audit {audit_id} ({score:.1f})").format(
        arrow=arrow, change=shown, audit_id=previous["audit_id"], score=previous["score"]
    )


def _area(area: str, lang: str) -> str:
    key = f"quality_area_{area}"
    return text(key, lang) if key in ENGLISH else area


def audit(
    top: Annotated[int, typer.Option(min=1, help="Problems to list.")] = 5,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Audit data quality: score 0-100, top problems with examples, trend; kept for next time."""
    lang = use_lang(lang)
    with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
        report = ws.quality.audit(progress=bars.task("audit"))
    data = report.as_dict(top)
    if as_json:
        print_json(data)
        return
    echo(
        _("Quality score {score:.1f} / 100 ({trend}), {customers:,} customers, audit {id}.").format(
            score=data["score"],
            trend=_trend(data),
            customers=data["customers"],
            id=data["audit_id"],
        )
    )
    if data["problems"]:
        print_table(
            _("Fixes that gain the most points"),
            [_("problem"), _("rows"), _("share"), _("if fixed"), _("examples")],
            [
                (
                    p["label"].get(lang) or p["label"]["en"],
                    f"{number(p['affected'])} / {number(p['denominator'])}",
                    percent(p["share"]),
                    "+" + number(p["points"], ".1f"),
                    "; ".join(str(e) for e in p["examples"][:3]),
                )
                for p in data["problems"]
            ],
        )
    else:
        echo(_("No problem found."))
    print_table(
        _("Areas"),
        [_("area"), _("score")],
        [(_area(a, lang), number(s, ".1f")) for a, s in data["areas"].items()],
    )
    coverage = data["consent_coverage"]
    if coverage:
        print_table(
            _("Marketing consent granted"),
            [_("channel"), _("customers")],
            [(channel, percent(share)) for channel, share in coverage.items()],
        )
    echo(_("Every check: cible audit --json; the formula: docs/quality.md."))


def normalise(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Normalise stored e-mails, phones, countries, names and cities again."""
    use_lang(lang)
    with open_workspace(workspace) as ws:
        changed = ws.audit_log.change(
            LOCAL_USER.actor,
            "quality.normalise",
            "",
            ws.quality.normalise,
            lambda done: {"result": counts(done)},
        )
    if as_json:
        print_json({"changed": changed})
        return
    print_table(
        _("Values normalised"),
        [_("field"), _("customers changed")],
        [(name, number(count)) for name, count in changed.items()],
    )

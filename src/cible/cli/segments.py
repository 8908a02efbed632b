"""``cible run``, ``cible segments ...`` and ``cible report``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cible.activation.export import REASONS, Audience
from cible.activation.formats import ExportFormat, write
from cible.cli.options import JsonOption, WorkspaceOption, checked_lang, parse_moment
from cible.cli.output import (
    echo,
    number,
    percent,
    print_json,
    print_table,
    print_text,
    progress_bars,
    write_file,
)
from cible.domain.errors import CibleError
from cible.reporting.model import Share
from cible.workspace import Workspace

segments_app = typer.Typer(help="Add, check and list segments; export their members.")


def run(
    as_of: Annotated[
        str | None, typer.Option(help="Evaluate as of this date (ISO 8601; default: now, UTC).")
    ] = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Compute traits, RFM, lifecycle and every segment, keeping membership history."""
    with Workspace.open(workspace) as ws, progress_bars(not as_json) as bars:
        record = ws.run(as_of=parse_moment("--as-of", as_of), progress=bars.task("run"))
    if as_json:
        print_json(record.__dict__)
        return
    echo(
        f"Run {record.run_id} as of {record.as_of:%Y-%m-%d %H:%M}: {record.customers:,} customers, "
        f"{record.segments} segments, {record.memberships:,} memberships "
        f"({record.entered:,} entered, {record.exited:,} exited)."
    )
    echo(f"Next: cible segments list --workspace {workspace}")


@segments_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="YAML or JSON segment definition.")],
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Check a definition without storing it; errors name the path in the file."""
    with Workspace.open(workspace, read_only=True) as ws:
        definition = ws.segments.validate(file)
    if as_json:
        print_json({"valid": True, "definition": definition.to_dict()})
    else:
        echo(f"{file}: valid segment {definition.id!r}.")


@segments_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="YAML or JSON segment definition.")],
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Store a definition (replacing one with the same id); members come at the next run."""
    with Workspace.open(workspace) as ws:
        definition, created = ws.segments.add(file)
    if as_json:
        print_json({"id": definition.id, "created": created})
    else:
        verb = "Added" if created else "Replaced"
        echo(f"{verb} segment {definition.id!r}; run `cible run` to compute its members.")


@segments_app.command("from-cluster")
def from_cluster(
    segment_id: Annotated[str, typer.Argument(help="A cluster segment, e.g. clusters-2.")],
    new_id: Annotated[
        str | None, typer.Option("--id", help="Id of the rule segment (default: <ID>-rule).")
    ] = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Turn a cluster into a rule segment, from the readable rule that describes it."""
    with Workspace.open(workspace) as ws:
        definition, created = ws.segments.from_cluster(segment_id, new_id)
    if as_json:
        print_json({"id": definition.id, "created": created, "definition": definition.to_dict()})
        return
    verb = "Added" if created else "Replaced"
    echo(f"{verb} rule segment {definition.id!r} in dimension {definition.dimension!r}:")
    text = definition.description
    echo(f"  {text if isinstance(text, str) or text is None else text.en or text.fr}")
    echo("Edit it with `cible segments show` / `add`; run `cible run` to compute its members.")


@segments_app.command("remove")
def remove(
    segment_id: Annotated[str, typer.Argument(help="Segment id.")],
    workspace: WorkspaceOption = Path(),
) -> None:
    """Delete a rule segment; its memberships end at the next run."""
    with Workspace.open(workspace) as ws:
        if not ws.segments.remove(segment_id):
            raise CibleError(f"No stored rule segment {segment_id!r}.")
    echo(f"Removed {segment_id!r}.")


@segments_app.command("list")
def list_(
    lang: Annotated[str, typer.Option(help="Language of names: en or fr.")] = "en",
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Every segment with its size, shares of customers and revenue, order value, recency."""
    checked_lang(lang)
    with Workspace.open(workspace, read_only=True) as ws:
        infos = ws.segments.list()
    if as_json:
        print_json([i.as_dict() for i in infos])
        return
    print_table(
        "Segments",
        [
            "id",
            "dimension",
            "name",
            "customers",
            "% customers",
            "% revenue",
            "avg order",
            "recency (days)",
        ],
        [
            (
                i.id,
                i.dimension or "",
                i.label(lang),
                f"{i.size:,}",
                percent(i.customer_share),
                percent(i.revenue_share),
                number(i.avg_order_value, ",.2f"),
                number(i.mean_recency_days, ",.0f"),
            )
            for i in infos
        ],
    )


@segments_app.command("show")
def show(
    segment_id: Annotated[str, typer.Argument(help="Segment id.")],
    lang: Annotated[str, typer.Option(help="Language: en or fr.")] = "en",
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One segment: what it is, its figures, and its definition."""
    checked_lang(lang)
    with Workspace.open(workspace, read_only=True) as ws:
        info = ws.segments.get(segment_id)
        stored = ws.segments.definition(segment_id)
    definition = stored.to_dict() if stored else None
    if as_json:
        print_json({**info.as_dict(), "definition": definition})
        return
    print_text((info.label(lang), "bold"), f" ({info.id}, dimension {info.dimension or '-'})")
    print_text(info.description.get(lang, ""))
    print_text(
        f"{info.size:,} customers ({percent(info.customer_share)}), "
        f"{percent(info.revenue_share)} of revenue"
    )
    if definition:
        print_json(definition["where"])


@segments_app.command("persona")
def persona(
    segment_id: Annotated[str, typer.Argument(help="Segment id (built-in, rule or cluster).")],
    lang: Annotated[str, typer.Option(help="Language: en or fr.")] = "en",
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """A segment's persona card: name, figures, what sets it apart, channels, actions."""
    checked_lang(lang)
    with Workspace.open(workspace, read_only=True) as ws:
        card = ws.persona(segment_id)
    if as_json:
        print_json(card.as_dict())
        return
    none = "-"
    print_text((card.name[lang], "bold"), f" ({card.segment_name[lang]}, {card.segment_id})")
    print_text(
        f"{card.size:,} customers ({percent(card.customer_share)}), "
        f"{percent(card.revenue_share)} of revenue; average 12-month value "
        f"{number(card.avg_clv_12m, ',.2f')}, churn risk "
        f"{percent(card.avg_churn_risk)}"
    )
    rows = [
        ("sales channel", _share(card.sales_channel)),
        ("consented contact channel", _share(card.contact_channel)),
        ("when they buy", card.time_text[lang]),
        ("top categories", ", ".join(_share(c) for c in card.top_categories) or none),
    ]
    print_table("Persona", ["", ""], rows)
    print_table(
        "What sets them apart",
        ["trait", "comparison"],
        [(d.trait, d.text[lang]) for d in card.traits],
    )
    for rank, (_, action) in enumerate(card.actions, start=1):
        print_text(f"{rank}. {action[lang]}")


def _share(share: Share | None) -> str:
    return "-" if share is None else f"{share.value} ({percent(share.share)})"


@segments_app.command("members")
def members(
    segment_id: Annotated[str, typer.Argument(help="Segment id.")],
    output: Annotated[
        Path | None,
        typer.Option(help="Write to this file instead of stdout: .csv, .json, .jsonl or .parquet."),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="Export for this channel (email, sms, phone, post, push, ads): only members "
            "who granted marketing consent for it, with their contact value. Without it the "
            "export is for analysis and holds no contact field."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many rows (0: all).")] = 0,
    lang: Annotated[str, typer.Option(help="Language of the summary: en or fr.")] = "en",
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Current members with their traits, as CSV (default) or JSON; consent-aware per channel.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
    carriage return) are prefixed with a quote.
    """
    checked_lang(lang)
    with Workspace.open(workspace, read_only=True) as ws:
        audience = ws.exports.audience(segment_id, channel, limit=limit)
    if output is None:
        fmt = ExportFormat.JSON if as_json else ExportFormat.CSV
        write(audience.table, sys.stdout.buffer, fmt)
        sys.stdout.flush()
        _say_left_out(audience, lang)
        return
    audience.write(output)
    if as_json:
        print_json({**audience.summary(lang), "output": str(output)})
        return
    echo(
        _WROTE[lang].format(
            n=audience.exported, id=segment_id, path=output, members=audience.members
        )
        + (f" ({audience.channel})." if audience.channel else "."),
        err=True,
    )
    _say_left_out(audience, lang)


_WROTE = {
    "en": "Wrote {n:,} of the {members:,} members of {id!r} to {path}",
    "fr": "{n:,} des {members:,} membres de {id!r} écrits dans {path}",
}
_LEFT_OUT = {"en": "Left out {n:,}: {reasons}.", "fr": "{n:,} écartés : {reasons}."}


def _say_left_out(audience: Audience, lang: str) -> None:
    if not audience.excluded:
        return
    reasons = ", ".join(
        f"{count:,} {REASONS[key][lang]}" for key, count in audience.excluded.items()
    )
    total = sum(audience.excluded.values())
    echo(_LEFT_OUT[lang].format(n=total, reasons=reasons), err=True)


def report(
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    lang: Annotated[str, typer.Option(help="Language: en or fr.")] = "en",
    workspace: WorkspaceOption = Path(),
) -> None:
    """Write the latest run as one self-contained HTML page (works offline)."""
    checked_lang(lang)
    with Workspace.open(workspace, read_only=True) as ws:
        page = ws.report(lang)
    write_file(output, page)
    echo(f"Wrote {output} ({len(page) // 1024} KiB).")

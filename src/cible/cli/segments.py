"""``cible run``, ``cible segments ...`` and ``cible report``."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.activation.export import REASONS, Audience
from cible.activation.formats import ExportFormat, write
from cible.cli.customers import as_served
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption, parse_moment
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
from cible.cli.remote import connect, open_workspace
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.locale.messages import ENGLISH, text
from cible.segments.catalog import SegmentInfo
from cible.segments.personas import Share

segments_app = typer.Typer(help="Add, check and list segments; export their members.")


def run(
    as_of: Annotated[
        str | None, typer.Option(help="Evaluate as of this date (ISO 8601; default: now, UTC).")
    ] = None,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="Also keep the result as a snapshot.")
    ] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Compute traits, RFM, lifecycle and every segment, keeping membership history."""
    use_lang(lang)
    moment = parse_moment("--as-of", as_of)
    remote = connect(workspace)
    if remote is not None:
        body = {"as_of": None if moment is None else moment.isoformat(), "snapshot": snapshot}
        with progress_bars(not as_json) as bars:
            found = remote.job("/api/runs", body, progress=bars.task("run"))
        found["as_of"] = datetime.fromisoformat(found["as_of"])
    else:
        with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
            found = ws.audit_log.change(
                LOCAL_USER.actor,
                "run.finish",
                "",
                lambda: dict(
                    ws.run(as_of=moment, snapshot=snapshot, progress=bars.task("run")).__dict__
                ),
                lambda done: {"result": counts(done)},
            )
    if as_json:
        print_json(found)
        return
    echo(
        _(
            "Run {run_id} as of {as_of:%Y-%m-%d %H:%M}: {customers:,} customers, {segments} "
            "segments, {memberships:,} memberships ({entered:,} entered, {exited:,} exited)."
        ).format(**found)
    )
    echo(_("Next: {command}").format(command=f"cible segments list --workspace {workspace}"))


@segments_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="YAML or JSON segment definition.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Check a definition without storing it; errors name the path in the file."""
    use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        definition = ws.segments.validate(file)
    if as_json:
        print_json({"valid": True, "definition": definition.to_dict()})
    else:
        echo(_("{file}: valid segment {id!r}.").format(file=file, id=definition.id))


@segments_app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(help="YAML or JSON segment definition.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Size and a sample of a definition on the latest run, without storing it."""
    use_lang(lang)
    definition = read_definition(file)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("POST", "/api/segments/preview", json=definition)
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = as_served(ws.segments.preview(definition))
    if as_json:
        print_json(found)
        return
    echo(
        _("{id}: {size:,} of {customers:,} customers ({share}) in the run as of {as_of}.").format(
            id=found["id"],
            size=found["size"],
            customers=found["customers"],
            share=percent(found["share"]),
            as_of=found["as_of"][:16].replace("T", " "),
        )
    )
    shown = [c for c in PREVIEW_COLUMNS if any(c in row for row in found["sample"])]
    if found["sample"]:
        print_table(
            _("First {n} members").format(n=len(found["sample"])),
            ["customer_id", *shown],
            [(row["customer_id"], *(row.get(c) for c in shown)) for row in found["sample"]],
        )


#: Traits shown beside each member of a preview's sample.
PREVIEW_COLUMNS = ("frequency", "monetary_value", "recency_days", "lifecycle_stage")


def read_definition(file: Path) -> dict[str, Any]:
    """The definition in ``file`` (YAML or JSON) as JSON-ready data, to send or to check.

    Raises
    ------
    CibleError
        When the file cannot be read or is not a YAML or JSON mapping.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CibleError(f"Cannot read {file}: {exc}.") from None
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CibleError(f"{file}: not YAML or JSON ({str(exc).splitlines()[0]}).") from None
    if not isinstance(data, dict):
        raise CibleError(f"{file}: a segment definition is a mapping (id, name, where...).")
    found: dict[str, Any] = as_served(data)
    return found


@segments_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="YAML or JSON segment definition.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Store a definition (replacing one with the same id); members come at the next run."""
    use_lang(lang)
    with open_workspace(workspace) as ws:
        definition, created = ws.audit_log.change(
            LOCAL_USER.actor,
            "segment.save",
            f"file:{file.name}",
            lambda: ws.segments.add(file),
            lambda saved: {"id": saved[0].id, "created": saved[1]},
        )
    if as_json:
        print_json({"id": definition.id, "created": created})
    else:
        message = (
            _("Added segment {id!r}; run `cible run` to compute its members.")
            if created
            else _("Replaced segment {id!r}; run `cible run` to compute its members.")
        )
        echo(message.format(id=definition.id))


@segments_app.command("from-cluster")
def from_cluster(
    segment_id: Annotated[str, typer.Argument(help="A cluster segment, e.g. clusters-2.")],
    new_id: Annotated[
        str | None, typer.Option("--id", help="Id of the rule segment (default: <ID>-rule).")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Turn a cluster into a rule segment, from the readable rule that describes it."""
    chosen = use_lang(lang)
    with open_workspace(workspace) as ws:
        definition, created = ws.segments.from_cluster(segment_id, new_id)
    if as_json:
        print_json({"id": definition.id, "created": created, "definition": definition.to_dict()})
        return
    message = (
        _("Added rule segment {id!r} in dimension {dimension!r}:")
        if created
        else _("Replaced rule segment {id!r} in dimension {dimension!r}:")
    )
    echo(message.format(id=definition.id, dimension=definition.dimension))
    about = definition.description
    if about is not None and not isinstance(about, str):
        about = (about.fr or about.en) if chosen == "fr" else (about.en or about.fr)
    echo(f"  {about}")
    echo(_("Edit it with `cible segments show` / `add`; run `cible run` to compute its members."))


@segments_app.command("remove")
def remove(
    segment_id: Annotated[str, typer.Argument(help="Segment id.")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """Delete a rule segment; its memberships end at the next run."""
    use_lang(lang)

    def remove_it() -> None:
        if not ws.segments.remove(segment_id):
            raise CibleError(f"No stored rule segment {segment_id!r}.")

    with open_workspace(workspace) as ws:
        ws.audit_log.change(LOCAL_USER.actor, "segment.delete", f"segment:{segment_id}", remove_it)
    echo(_("Removed {id!r}.").format(id=segment_id))


@segments_app.command("list")
def list_(
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Every segment with its size, shares of customers and revenue, order value, recency."""
    lang = use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        infos = [SegmentInfo(**found) for found in remote.request("GET", "/api/segments")]
    else:
        with open_workspace(workspace, read_only=True) as ws:
            infos = ws.segments.list()
    if as_json:
        print_json([i.as_dict() for i in infos])
        return
    print_table(
        _("Segments"),
        [
            _("id"),
            _("dimension"),
            _("name"),
            _("customers"),
            _("% customers"),
            _("% revenue"),
            _("avg order"),
            _("recency (days)"),
        ],
        [
            (
                i.id,
                i.dimension or "",
                i.label(lang),
                number(i.size),
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
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """One segment: what it is, its figures, and its definition."""
    lang = use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        info = ws.segments.get(segment_id)
        stored = ws.segments.definition(segment_id)
    definition = stored.to_dict() if stored else None
    if as_json:
        print_json({**info.as_dict(), "definition": definition})
        return
    print_text(
        (info.label(lang), "bold"),
        _(" ({id}, dimension {dimension})").format(id=info.id, dimension=info.dimension or "-"),
    )
    print_text(info.description.get(lang, ""))
    print_text(
        _("{size:,} customers ({customers}), {revenue} of revenue").format(
            size=info.size,
            customers=percent(info.customer_share),
            revenue=percent(info.revenue_share),
        )
    )
    if definition:
        print_json(definition["where"])


@segments_app.command("persona")
def persona(
    segment_id: Annotated[str, typer.Argument(help="Segment id (built-in, rule or cluster).")],
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """A segment's persona card: name, figures, what sets it apart, channels, actions."""
    lang = use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        card = ws.persona(segment_id)
    if as_json:
        print_json(card.as_dict())
        return
    none = "-"
    print_text((card.name[lang], "bold"), f" ({card.segment_name[lang]}, {card.segment_id})")
    print_text(
        _(
            "{size:,} customers ({customers}), {revenue} of revenue; average 12-month value "
            "{clv}, churn risk {churn}"
        ).format(
            size=card.size,
            customers=percent(card.customer_share),
            revenue=percent(card.revenue_share),
            clv=number(card.avg_clv_12m, ",.2f"),
            churn=percent(card.avg_churn_risk),
        )
    )
    rows = [
        (_("sales channel"), _share(card.sales_channel, "sales", lang)),
        (_("consented contact channel"), _share(card.contact_channel, "contact", lang)),
        (_("when they buy"), card.time_text[lang]),
        (_("top categories"), ", ".join(_share(c) for c in card.top_categories) or none),
    ]
    print_table(_("Persona"), ["", ""], rows)
    print_text((_("What sets them apart"), "bold"))
    for difference in card.traits:
        # The sentence starts with the trait's label in the card's language.
        print_text(f"- {difference.text[lang]}")
    if not card.traits:
        echo(_("Nothing sets them clearly apart from the whole base."))
    for rank, (__, action) in enumerate(card.actions, start=1):
        print_text(f"{rank}. {action[lang]}")


def _share(share: Share | None, kind: str | None = None, lang: str = "en") -> str:
    """A share as "value (12.3%)"; channels of ``kind`` (sales, contact) named in ``lang``."""
    if share is None:
        return "-"
    value = share.value
    if kind is not None:
        named = text(f"{kind}_{value}", lang) if f"{kind}_{value}" in ENGLISH else None
        value = named or value
    return f"{value} ({percent(share.share)})"


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
    platform: Annotated[
        str | None,
        typer.Option(
            help="An ad platform's customer list (google-ads, meta): members who granted "
            "ads consent, as SHA-256 digests of their e-mail and phone normalised the "
            "platform's way, under its column names; implies --channel ads."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many rows (0: all).")] = 0,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Current members with their traits, as CSV (default) or JSON; consent-aware per channel.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
    carriage return) are prefixed with a quote.
    """
    lang = use_lang(lang)
    if platform is not None and channel not in (None, "ads"):
        raise CibleError(f"--platform {platform} exports for the ads channel, not {channel!r}.")

    def export() -> Audience:
        if platform is not None:
            return ws.exports.ad_audience(segment_id, platform, limit=limit)
        return ws.exports.audience(segment_id, channel, limit=limit)

    # Writable: every export, refused or not, goes to the audit log.
    with open_workspace(workspace) as ws:
        audience = ws.audit_log.change(
            LOCAL_USER.actor,
            "export",
            f"segment:{segment_id}",
            export,
            lambda found: {"channel": found.channel, **found.summary()},
        )
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
        _("Wrote {n:,} of the {members:,} members of {id!r} to {path}").format(
            n=audience.exported, id=segment_id, path=output, members=audience.members
        )
        + (f" ({audience.channel})." if audience.channel else "."),
        err=True,
    )
    _say_left_out(audience, lang)


def _say_left_out(audience: Audience, lang: str) -> None:
    if not audience.excluded:
        return
    reasons = ", ".join(
        f"{number(count)} {REASONS[key][lang]}" for key, count in audience.excluded.items()
    )
    total = sum(audience.excluded.values())
    echo(_("Left out {n:,}: {reasons}.").format(n=total, reasons=reasons), err=True)


def report(
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """Write the latest run as one self-contained HTML page (works offline)."""
    lang = use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        page = ws.report(lang)
    write_file(output, page)
    echo(_("Wrote {path} ({size} KiB).").format(path=output, size=len(page) // 1024))


@segments_app.command("migration")
def migration(
    dimension: Annotated[str, typer.Argument(help="A dimension: lifecycle, rfm, value...")],
    start: Annotated[str, typer.Option("--from", help="The first moment (ISO 8601).")],
    end: Annotated[
        str | None, typer.Option("--to", help="The second moment (default: now, UTC).")
    ] = None,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Where a dimension's customers went between two moments: who moved from which
    segment to which, and each segment's inflow, outflow, churn and time in segment."""
    use_lang(lang)
    first = parse_moment("--from", start)
    last = parse_moment("--to", end) or utc_now()
    assert first is not None
    remote = connect(workspace)
    if remote is not None:
        found = remote.request(
            "GET",
            f"/api/segments/migrations/{dimension}",
            params={"start": first.isoformat(), "end": last.isoformat()},
        )
    else:
        with open_workspace(workspace, read_only=True) as ws:
            found = ws.segments.migration(dimension, first, last).as_dict()
    if as_json:
        print_json(found)
        return
    print_table(
        _("From {start} to {end}: {customers:,} customers").format(
            start=str(found["start"])[:10], end=str(found["end"])[:10], customers=found["customers"]
        ),
        [_("from"), _("to"), _("customers"), _("share")],
        [
            (c["source"], c["target"], c["customers"], percent(c["share_of_source"]))
            for c in found["cells"]
        ],
    )
    print_table(
        _("Segments"),
        [_("segment"), _("start"), _("end"), _("in"), _("out"), _("churn"), _("median days")],
        [
            (
                f["segment_id"],
                f["at_start"],
                f["at_end"],
                f["inflow"],
                f["outflow"],
                "" if f["churn"] is None else percent(f["churn"]),
                "" if f["median_days_in_segment"] is None else f"{f['median_days_in_segment']:.0f}",
            )
            for f in found["flows"]
        ],
    )

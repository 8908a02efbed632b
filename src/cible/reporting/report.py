"""Filling a :class:`~cible.reporting.model.Report` from the latest run."""

from __future__ import annotations

from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.locale.messages import text
from cible.models.churn_risk import latest_card
from cible.reporting.clusters import cluster_blocks
from cible.reporting.kpis import kpi_section
from cible.reporting.model import DimensionBlock, Report, RfmCell, SegmentRow
from cible.reporting.movement import build_movement
from cible.segments.builtin import load_builtin
from cible.segments.catalog import SegmentInfo, Segments
from cible.segments.kpis import Kpis
from cible.segments.personas import Personas
from cible.segments.portfolio import build_portfolio
from cible.segments.summary import rfm_cells, totals
from cible.store import runs
from cible.store.store import Store


def build_report(
    store: Store,
    segments: Segments,
    *,
    workspace: str,
    lang: str,
    currency: str,
    config: WorkspaceConfig | None = None,
) -> Report:
    """The report of the latest run, in ``lang``.

    With ``config``, it holds persona cards (``[personas] dimensions``) and the
    portfolio guardrails (``[portfolio]``) too. The movement section compares the run
    with a moment ``[drift] reference_days`` earlier (the default without ``config``).
    """
    log = store.table("runs")
    latest = log.order_by(log.run_id.desc()).limit(1)
    found = latest.to_pyarrow().to_pylist()
    if not found:
        raise CibleError("No run yet: run `cible run` first, then `cible report`.")
    run = found[0]
    traits = store.table(runs.TRAITS)
    whole = totals(traits).to_pyarrow().to_pylist()[0]
    infos = segments.list()
    current = store.table("segment_memberships")
    open_rows = current.filter(current.exited_at.isnull())
    covered = {
        row["dimension"]: row["customers"]
        for row in open_rows.group_by("dimension")
        .aggregate(customers=open_rows.customer_id.nunique())
        .to_pyarrow()
        .to_pylist()
    }
    blocks = []
    builtin = ("rfm", "lifecycle", "value", "churn_risk", "typology")
    custom = {i.dimension for i in infos if i.dimension not in builtin and i.dimension}
    dimensions = [*builtin, *sorted(d for d in custom if d)]
    # Without a churn model every customer has no risk: say how to train one, not zero rows.
    untrained = latest_card(store) is None
    for dimension in dimensions:
        if dimension == "churn_risk" and untrained:
            note = text("churn_untrained", lang)
            blocks.append(DimensionBlock(dimension, _title(dimension, lang), [], 0, note))
            continue
        chosen = [i for i in infos if i.dimension == dimension]
        if dimension not in ("lifecycle", "value", "churn_risk", "typology"):
            # Built-in stages and tiers keep their natural order; others go largest first.
            chosen.sort(key=lambda i: -i.size)
        blocks.append(
            DimensionBlock(
                dimension=dimension,
                title=_title(dimension, lang),
                segments=[_row(i, lang) for i in chosen],
                covered=int(covered.get(dimension, 0)),
            )
        )
    loose = [i for i in infos if i.dimension is None]
    if loose:
        blocks.append(
            DimensionBlock(
                "other",
                _title("other", lang),
                [_row(i, lang) for i in loose],
                int(covered.get(None, 0)),
            )
        )
    stages = [s.id for s in load_builtin("lifecycle").segments]
    funnel = [_row(i, lang) for sid in stages for i in infos if i.id == sid]
    grid = [RfmCell(**row) for row in rfm_cells(traits).to_pyarrow().to_pylist()]
    personas, portfolio = [], None
    if config is not None:
        # Every clustering gets persona cards: clusters are only worth what a reader can act on.
        clustered = sorted({i.dimension for i in infos if i.kind == "cluster" and i.dimension})
        personas = Personas(store, segments, config).for_dimensions(
            [*config.personas.dimensions, *clustered]
        )
        portfolio = build_portfolio(
            traits,
            open_rows.select("segment_id", "dimension", "customer_id"),
            infos,
            config.portfolio,
            lang=lang,
            dimensions=dimensions,
            titles={d: _title(d, lang) for d in dimensions},
        )
    return Report(
        workspace=workspace,
        lang=lang,
        as_of=run["as_of"],
        run_id=run["run_id"],
        customers=int(whole["customers"]),
        buyers=int(whole["buyers"]),
        revenue=float(whole["revenue"]),
        currency=currency,
        dimensions=blocks,
        rfm_grid=grid,
        funnel=funnel,
        personas=personas,
        portfolio=portfolio,
        clusters=cluster_blocks(store, infos, lang),
        movement=build_movement(
            store,
            infos,
            lang,
            reference_days=(config or WorkspaceConfig()).drift.reference_days,
        ),
        kpis=kpi_section(
            Kpis(store, segments).per_segment(),
            infos,
            dimensions,
            {d: _title(d, lang) for d in dimensions},
            lang,
        ),
    )


def _title(dimension: str, lang: str) -> str:
    if dimension in ("rfm", "lifecycle", "value", "churn_risk", "typology"):
        return text(f"dimension_{dimension}", lang)
    return text("dimension_other", lang, name=dimension)


def _row(info: SegmentInfo, lang: str) -> SegmentRow:
    return SegmentRow(
        segment_id=info.id,
        name=info.label(lang),
        description=info.description.get(lang) or next(iter(info.description.values()), ""),
        color=info.color,
        size=info.size,
        customer_share=info.customer_share,
        revenue=info.revenue,
        revenue_share=info.revenue_share,
        avg_order_value=info.avg_order_value,
        mean_recency_days=info.mean_recency_days,
    )

"""The clusters section of the report: each clustering with its rules and stability."""

from __future__ import annotations

from cible.reporting.model import ClusterBlock, ClusterRow
from cible.segments.catalog import SegmentInfo
from cible.segments.cluster_members import load_cluster_segments, load_segmenter
from cible.store.store import Store


def cluster_blocks(store: Store, infos: list[SegmentInfo], lang: str) -> list[ClusterBlock]:
    """One block per stored clustering, clusters in their order (largest first at fit)."""
    by_id = {info.id: info for info in infos}
    segments = load_cluster_segments(store)
    blocks = []
    for dimension in sorted({s.dimension for s in segments}):
        own = [s for s in segments if s.dimension == dimension]
        card, segmenter = load_segmenter(store, own[0].model_id)
        stability = card.get("stability") or {}
        jaccard = stability.get("jaccard") or []
        trusted = stability.get("trusted") or []
        rows = []
        for segment in own:
            info = by_id.get(segment.id)
            rule = segmenter.rules_.get(segment.cluster)
            profile = segmenter.profiles_.get(segment.cluster, [])
            c = segment.cluster
            rows.append(
                ClusterRow(
                    segment_id=segment.id,
                    name=segment.name.get(lang) or segment.id,
                    color=segment.color,
                    size=info.size if info else 0,
                    customer_share=info.customer_share if info else 0.0,
                    revenue_share=info.revenue_share if info else 0.0,
                    stability=float(jaccard[c]) if c < len(jaccard) else None,
                    trusted=bool(trusted[c]) if c < len(trusted) else True,
                    rule=rule.text[lang] if rule is not None else "",
                    rule_precision=rule.precision if rule is not None else None,
                    traits=[p.text[lang] for p in profile[:4]],
                )
            )
        ari = stability.get("ari")
        blocks.append(
            ClusterBlock(
                dimension=dimension,
                method=str(card.get("method", "")),
                k=int(card.get("k", len(own))),
                reason=str((card.get("selection") or {}).get("reason", {}).get(lang, "")),
                ari=float(ari) if ari is not None else None,
                clusters=rows,
            )
        )
    return blocks

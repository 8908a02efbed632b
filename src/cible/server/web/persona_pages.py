"""The persona and cluster pages: who each segment's customers are, and each clustering.

``/personas`` draws the cards of one dimension's segments
(:class:`~cible.segments.personas.Personas`, the cards of ``ws.persona``, reading the
base once for the whole dimension). ``/clusters`` shows every stored clustering from
what ``ws.cluster`` saved (the model's card and the cluster segments): nothing is
fitted or resampled on a GET.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse

from cible.segments.cluster_members import ClusterSegment, load_cluster_segments
from cible.segments.personas import Personas
from cible.server.deps import server_state
from cible.server.web.access import SearchText, Signed, page, twin
from cible.store.clusters import CLUSTER_KIND
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)


def _dimensions(ws: Workspace) -> tuple[list[str], str]:
    """Dimensions with members, and the one shown first: the configured persona
    dimensions (the typology), then clusterings, then any."""
    infos = ws.segments.list()
    filled = sorted({i.dimension for i in infos if i.dimension and i.size > 0})
    clustered = sorted({i.dimension for i in infos if i.kind == CLUSTER_KIND and i.dimension})
    preferred = [*ws.config.personas.dimensions, *clustered, *filled]
    default = next((d for d in preferred if d in filled), "")
    return filled, default


def _personas(ws: Workspace, dimension: str) -> dict[str, Any]:
    dimensions, default = _dimensions(ws)
    chosen = dimension if dimension in dimensions else default
    cards = (
        Personas(ws.store, ws.segments, ws.config).for_dimensions([chosen])
        if chosen and ws.store.has_run()
        else []
    )
    infos = {info.id: info for info in ws.segments.list()}
    segments, models = _stored(ws)
    cluster_rules = {
        s.id: (models.get(s.model_id, {}).get("rules") or {}).get(str(s.cluster)) for s in segments
    }
    found = []
    for card in cards:
        stored = ws.segments.definition(card.segment_id)
        found.append(
            {
                **card.as_dict(),
                # What the segment is: its description (a built-in's rule in words),
                # a rule segment's conditions, a cluster's surrogate rule.
                "description": infos[card.segment_id].description,
                "where": stored.to_dict()["where"] if stored else None,
                "cluster_rule": cluster_rules.get(card.segment_id),
            }
        )
    return {"dimension": chosen, "dimensions": dimensions, "cards": found}


@router.get("/personas.json")
async def personas_json(request: Request, who: Signed, dimension: SearchText = "") -> PlainResponse:
    """The persona cards' data."""
    return twin(await server_state(request).db.call(lambda ws: _personas(ws, dimension)), who)


@router.get("/personas")
async def personas(request: Request, who: Signed, dimension: SearchText = "") -> HTMLResponse:
    """A card per segment of a dimension: name, size, traits, recommended actions."""
    data = await server_state(request).db.call(lambda ws: _personas(ws, dimension))
    return page(request, who, "personas.html.j2", data=data)


def _stored(ws: Workspace) -> tuple[list[ClusterSegment], dict[int, dict[str, Any]]]:
    """The cluster segments and the cards of their models, as ``ws.cluster`` saved them
    (the fitted models themselves are not loaded)."""
    segments = load_cluster_segments(ws.store)
    wanted = sorted({s.model_id for s in segments})
    if not wanted:
        return segments, {}
    models = ws.table("models")
    rows = models.filter(models.model_id.isin(wanted)).select("model_id", "card").execute()
    return segments, {int(m): _card(c) for m, c in zip(rows.model_id, rows.card, strict=True)}


def _clusters(ws: Workspace) -> dict[str, Any]:
    segments, cards = _stored(ws)
    infos = {info.id: info for info in ws.segments.list()}
    clusterings = []
    for dimension in sorted({s.dimension for s in segments}):
        own = [s for s in segments if s.dimension == dimension]
        card = cards.get(own[0].model_id, {})
        stability = card.get("stability") or {}
        jaccard, trusted = stability.get("jaccard") or [], stability.get("trusted") or []
        chosen = [r for r in (card.get("selection") or {}).get("table", []) if r.get("chosen")]
        clusters = []
        for s in own:
            info = infos.get(s.id)
            rule = (card.get("rules") or {}).get(str(s.cluster))
            clusters.append(
                {
                    "segment_id": s.id,
                    "name": s.name,
                    "color": s.color,
                    "size": info.size if info else 0,
                    "customer_share": info.customer_share if info else 0.0,
                    "revenue_share": info.revenue_share if info else 0.0,
                    "stability": jaccard[s.cluster] if s.cluster < len(jaccard) else None,
                    "trusted": trusted[s.cluster] if s.cluster < len(trusted) else None,
                    "rule": rule,
                    "traits": (card.get("profiles") or {}).get(str(s.cluster), [])[:4],
                }
            )
        clusterings.append(
            {
                "dimension": dimension,
                "model_id": own[0].model_id,
                "created_at": _moment(card.get("created_at")),
                "method": card.get("method"),
                "k": card.get("k", len(own)),
                "customers": card.get("customers"),
                "reason": (card.get("selection") or {}).get("reason", {}),
                "silhouette": chosen[0].get("silhouette") if chosen else None,
                "ari": stability.get("ari"),
                "traits": card.get("traits", []),
                "clusters": clusters,
            }
        )
    return {"clusterings": clusterings}


def _moment(text: Any) -> datetime | None:
    """The card's ISO moment, for the page's date."""
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _card(stored: Any) -> dict[str, Any]:
    found: dict[str, Any] = stored if isinstance(stored, dict) else json.loads(stored)
    return found


@router.get("/clusters.json")
async def clusters_json(request: Request, who: Signed) -> PlainResponse:
    """Every clustering's data."""
    return twin(await server_state(request).db.call(_clusters), who)


@router.get("/clusters")
async def clusters(request: Request, who: Signed) -> HTMLResponse:
    """Each clustering: method, k, quality, stability, the rule of each cluster."""
    data = await server_state(request).db.call(_clusters)
    return page(request, who, "clusters.html.j2", data=data)

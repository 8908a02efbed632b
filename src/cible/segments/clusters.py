"""Clusters found in the traits of the latest run, saved as a segment dimension.

:func:`fit_clustering` reads the latest run's traits, fits a
:class:`~cible.models.clustering.ClusterSegmenter`, and stores, in one transaction,
the model with its card, one segment of kind ``cluster`` per cluster in one
dimension, and the members for the latest run. Later runs assign every customer
again with the stored model.
:func:`cluster_to_rule` turns a cluster's surrogate rule into a rule segment.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.demo import build_demo
>>> folder = Path(tempfile.mkdtemp()) / "cdnow"
>>> _ = build_demo(folder, dataset="cdnow")
>>> with Workspace.open(folder) as ws:
...     _ = ws.run(as_of=datetime(1998, 7, 1))
...     clustering = ws.cluster(k=3, random_state=0, n_bootstrap=0)
>>> clustering.dimension, len(clustering.segments)
('clusters', 3)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import pandas as pd

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.features.objection import objecting_customers, objection_moment, without_objectors
from cible.models.clustering import ClusterSegmenter, TraitContrast, to_definition
from cible.models.errors import ModelDataError
from cible.segments.builtin import load_builtin
from cible.segments.cluster_members import load_cluster_segments, load_segmenter
from cible.segments.persona_names import generated_name
from cible.segments.runner import ALL_TRAITS, BUILTIN_DIMENSIONS, load_segments
from cible.store import runs
from cible.store.store import Store

DEFAULT_DIMENSION = "clusters"
_DIMENSION = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
# Colour-blind safe (Okabe-Ito and Tableau 10), enough for the ten clusters of k_range.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#4e79a7",
    "#b07aa1",
    "#9c755f",
)


@dataclass(frozen=True)
class Clustering:
    """A stored clustering: its dimension, model, segments and the fit's facts.

    Attributes
    ----------
    dimension : str
        Dimension id of the cluster segments.
    model_id : int
        Stored model (``models`` table) that assigns customers in later runs.
    segments : list of str
        Segment id of each cluster, cluster 0 (the largest) first.
    summary : dict
        :meth:`ClusterSegmenter.summary`: k and why, sizes, stability, rules, profiles.
    """

    dimension: str
    model_id: int
    segments: list[str]
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for ``--json``."""
        return {
            "dimension": self.dimension,
            "model_id": self.model_id,
            "segments": self.segments,
            **self.summary,
        }


def cluster_segment_id(dimension: str, cluster: int) -> str:
    """Segment id of ``cluster`` (0-based) in ``dimension``: ``clusters-1`` for the first."""
    return f"{dimension}-{cluster + 1}"


def fit_clustering(
    store: Store,
    registry: FieldRegistry,
    *,
    dimension: str = DEFAULT_DIMENSION,
    method: str = "kmeans",
    k: str | int = "auto",
    k_range: tuple[int, int] = (2, 10),
    random_state: int | None = None,
    sample_size: int = 50_000,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    n_bootstrap: int = 20,
    progress: Progress | None = None,
) -> Clustering:
    """Cluster the customers of the latest run and save the result as ``dimension``.

    Raises
    ------
    CibleError
        Before any run, for a dimension id that is not kebab/snake case or that
        built-in or rule segments already use, or when the data cannot be clustered.
    """
    report = reporter(progress)
    _check_dimension(store, registry, dimension)
    if not store.has_run():
        raise CibleError("No run yet: run `cible run` first, then `cible cluster`.")
    report("reading traits", 0, 4)
    # DuckDB returns rows in no set order; the sample and resamples are drawn by
    # position, so a fixed order is what makes `random_state` reproduce the result.
    traits = store.table(runs.TRAITS)
    # Objectors (as of now) are neither fitted on nor saved as members: art. 21.
    objectors = objecting_customers(store.table("consents"), objection_moment())
    frame = without_objectors(traits, objectors).order_by("customer_id").to_pandas()
    segmenter = ClusterSegmenter(
        method=method,
        k=k,
        k_range=k_range,
        sample_size=sample_size,
        random_state=random_state,
        include=include,
        exclude=exclude,
        fields=registry.table("customers").fields,
        n_bootstrap=n_bootstrap,
    )
    report("fitting clusters", 1, 4)
    try:
        segmenter.fit(frame, ALL_TRAITS)
    except ModelDataError as exc:
        raise CibleError(f"Cannot cluster these customers: {exc}") from exc
    summary = segmenter.summary()
    report("saving", 2, 4)
    ids = [cluster_segment_id(dimension, c) for c in range(segmenter.k_)]
    definitions = [_definition(segmenter, dimension, c) for c in range(segmenter.k_)]
    now = utc_now()
    card = {
        "kind": "cluster",
        "dimension": dimension,
        # The card is read outside the workspace: its moment says it is UTC.
        "created_at": now.replace(tzinfo=UTC).isoformat(timespec="seconds"),
        "customers": len(frame),
        **summary,
    }
    members = pd.DataFrame(
        {
            "segment_id": [ids[c] for c in segmenter.labels_],
            "dimension": dimension,
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
        }
    )
    model_id = store.save_clustering(
        dimension=dimension,
        card=json.dumps(card, ensure_ascii=False, default=_plain),
        blob=segmenter.dumps(),
        segments=definitions,
        members=members,
        now=now,
    )
    report("done", 4, 4)
    return Clustering(dimension, model_id, ids, summary)


def cluster_to_rule(store: Store, segment_id: str, new_id: str | None = None) -> dict[str, Any]:
    """The rule segment (a definition, not yet stored) that matches cluster ``segment_id``.

    Its conditions are the cluster's surrogate rule; its description says how many
    of the matching customers are in the cluster and how much of it the rule covers.
    """
    found = [s for s in load_cluster_segments(store) if s.id == segment_id]
    if not found:
        known = ", ".join(s.id for s in load_cluster_segments(store)) or "none yet"
        raise CibleError(f"No cluster segment {segment_id!r} (cluster segments: {known}).")
    cluster = found[0]
    _, segmenter = load_segmenter(store, cluster.model_id)
    rule = segmenter.rules_[cluster.cluster]
    name = {
        lang: f"{text} (rule)" if lang == "en" else f"{text} (règle)"
        for lang, text in cluster.name.items()
    }
    try:
        definition = to_definition(rule, new_id or f"{segment_id}-rule", name)
    except ModelDataError as exc:
        raise CibleError(f"Cluster {segment_id!r} cannot become a rule: {exc}") from exc
    definition["dimension"] = f"{cluster.dimension}-rules"
    definition["color"] = cluster.color
    return definition


def _definition(
    segmenter: ClusterSegmenter, dimension: str, cluster: int
) -> tuple[str, dict[str, Any]]:
    rule = segmenter.rules_.get(cluster)
    profile = segmenter.profiles_.get(cluster, [])
    description = {}
    for lang in ("en", "fr"):
        parts = [p.text[lang] for p in profile[:3]]
        if rule is not None:
            parts.append(rule.text[lang])
        description[lang] = "; ".join(parts)
    segment_id = cluster_segment_id(dimension, cluster)
    return segment_id, {
        "id": segment_id,
        "name": _name(profile, cluster),
        "description": description,
        "color": PALETTE[cluster % len(PALETTE)],
        "dimension": dimension,
        "cluster": cluster,
    }


def _name(profile: list[TraitContrast], cluster: int) -> dict[str, str]:
    """ "3 · Loyal bargain hunters": the number keeps names apart when words repeat."""
    numbered = {"en": f"Cluster {cluster + 1}", "fr": f"Groupe {cluster + 1}"}
    words = generated_name(profile, numbered)
    if words == numbered:
        return numbered
    return {lang: f"{cluster + 1} · {words[lang]}" for lang in numbered}


def _check_dimension(store: Store, registry: FieldRegistry, dimension: str) -> None:
    if not _DIMENSION.match(dimension) or len(dimension) > 40:
        raise CibleError(
            f"Dimension {dimension!r}: use lower-case letters, digits and single hyphens or "
            "underscores, starting with a letter (at most 40 characters)."
        )
    if dimension in BUILTIN_DIMENSIONS:
        raise CibleError(f"{dimension!r} is a built-in dimension; choose another name.")
    used = {d.dimension for d in load_segments(store, registry)}
    if dimension in used:
        raise CibleError(f"Rule segments already use dimension {dimension!r}; choose another name.")
    builtin_ids = {s.id for d in BUILTIN_DIMENSIONS for s in load_builtin(d).segments}
    clashes = {s.id for s in load_segments(store, registry)} | builtin_ids
    if any(cluster_segment_id(dimension, c) in clashes for c in range(64)):
        raise CibleError(f"Segment ids of dimension {dimension!r} would clash with existing ones.")


def _plain(value: Any) -> Any:
    """JSON for numpy numbers in the card."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

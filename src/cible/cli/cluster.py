"""``cible cluster``: clusters found in the traits, saved as a segment dimension."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.cli.customers import as_served
from cible.cli.i18n import _, use_lang
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import NO_FIGURE, echo, number, print_json, print_table, progress_bars
from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError


def _k(value: str) -> str | int:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise CibleError(f"--k {value!r}: give 'auto' or a whole number such as 5.") from None


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _number(value: Any, digits: int = 3) -> str:
    return number(value, f".{digits}f") if isinstance(value, float) else NO_FIGURE


def cluster(
    k: Annotated[
        str, typer.Option("--k", help="Number of clusters, or 'auto' to choose it.")
    ] = "auto",
    method: Annotated[
        str, typer.Option(help="kmeans, minibatch, gmm, ward or hdbscan.")
    ] = "kmeans",
    k_min: Annotated[int, typer.Option(min=2, help="Smallest k tried by --k auto.")] = 2,
    k_max: Annotated[int, typer.Option(min=2, help="Largest k tried by --k auto.")] = 10,
    random_state: Annotated[
        int | None,
        typer.Option(min=0, max=2**32 - 1, help="Seed: the same seed gives the same clusters."),
    ] = None,
    sample_size: Annotated[
        int, typer.Option(min=100, help="Customers learned from; everyone is then assigned.")
    ] = 50_000,
    dimension: Annotated[
        str, typer.Option(help="Dimension id of the cluster segments (replaced if it exists).")
    ] = "clusters",
    include: Annotated[
        str | None, typer.Option(help="Traits to read besides the default ones, comma-separated.")
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Traits not to read, comma-separated.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for stability (0: skip).")
    ] = 20,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Find groups of similar customers in the latest run's traits; explain and save them."""
    lang = use_lang(lang)
    chosen_k = _k(k)
    remote = connect(workspace)
    if remote is not None:
        body = {
            "dimension": dimension,
            "method": method,
            "k": chosen_k,
            "k_min": k_min,
            "k_max": k_max,
            "random_state": random_state,
            "sample_size": sample_size,
            "include": _names(include) or None,
            "exclude": _names(exclude),
            "bootstrap": bootstrap,
        }
        with progress_bars(not as_json) as bars:
            summary = remote.job("/api/clusters", body, progress=bars.task("cluster"))
    else:
        with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
            result = ws.audit_log.change(
                LOCAL_USER.actor,
                "cluster.finish",
                f"dimension:{dimension}",
                lambda: ws.cluster(
                    dimension=dimension,
                    method=method,
                    k=chosen_k,
                    k_range=(k_min, k_max),
                    random_state=random_state,
                    sample_size=sample_size,
                    include=_names(include) or None,
                    exclude=tuple(_names(exclude)),
                    n_bootstrap=bootstrap,
                    progress=bars.task("cluster"),
                ),
                lambda done: {"result": counts(done.as_dict())},
            )
        summary = as_served(result.as_dict())
    if as_json:
        print_json(summary)
        return
    selection = summary.get("selection") or {}
    table = selection.get("table") or []
    if len(table) > 1:
        criteria = [
            c
            for c in ("silhouette", "calinski_harabasz", "davies_bouldin", "bic")
            if any(c in row for row in table)
        ]
        print_table(
            _("Choice of k"),
            ["k", *criteria, _("chosen")],
            [
                (
                    row["k"],
                    *(_number(row.get(c)) for c in criteria),
                    _("yes") if row.get("chosen") else "",
                )
                for row in table
            ],
        )
    echo((selection.get("reason") or {}).get(lang, ""))
    stability = summary.get("stability") or {}
    jaccard = stability.get("jaccard") or []
    trusted = stability.get("trusted") or []
    sizes = summary.get("sizes") or []
    rules = summary.get("rules") or {}
    rows = []
    for cluster_index, segment_id in enumerate(summary["segments"]):
        rule = rules.get(cluster_index) or rules.get(str(cluster_index)) or {}
        score = jaccard[cluster_index] if cluster_index < len(jaccard) else None
        trust = (
            ""
            if cluster_index >= len(trusted)
            else ("" if trusted[cluster_index] else _("  (do not trust)"))
        )
        rows.append(
            (
                segment_id,
                number(sizes[cluster_index]) if cluster_index < len(sizes) else "-",
                _number(score, 2) + trust,
                rule.get("text", {}).get(lang, ""),
            )
        )
    print_table(
        _("Clusters"),
        [_("segment"), _("customers"), _("stability (Jaccard)"), _("rule")],
        rows,
    )
    if stability.get("ari") is not None:
        echo(
            _("Bootstrap agreement (adjusted Rand index): {ari:.2f}.").format(ari=stability["ari"])
        )
    excluded = summary.get("excluded") or []
    if excluded:
        echo(
            _("Not used: {traits}").format(
                traits="; ".join(f"{e['trait']} ({e['reason'][lang]})" for e in excluded[:12])
                + ("; ..." if len(excluded) > 12 else "")
            )
        )
    echo(
        _("Saved as dimension {dimension!r} (model {model_id}). Next: {commands}").format(
            dimension=summary["dimension"],
            model_id=summary["model_id"],
            commands=f"cible segments list --workspace {workspace}; "
            f"cible segments from-cluster {summary['segments'][0]} --workspace {workspace}",
        )
    )

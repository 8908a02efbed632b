"""Demo workspaces: a synthetic French retailer, or the real CDNOW sample.

Both are written as files in the workspace's ``demo-files`` folder and loaded through
the ordinary importer, so a demo also exercises it and ``cible rejects`` points at
files the user can open. A demo that fails removes the workspace it started.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> summary = build_demo(Path(tempfile.mkdtemp()) / "cdnow", dataset="cdnow")
>>> summary["counts"]["customers"]
2357
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import WorkspaceError
from cible.importing.pipeline import Progress
from cible.workspace import CONFIG_FILE, DATABASE_FILE, Workspace

DATASETS = ("retailer", "cdnow")
#: Folder inside the workspace holding the planted truth, outside the tables.
TRUTH_FOLDER = "demo-truth"
#: Folder inside the workspace holding the generated files, messy rows included.
SOURCE_FOLDER = "demo-files"

#: The day after the last CDNOW transaction (1998-06-30).
CDNOW_AS_OF = datetime(1998, 7, 1)

_CDNOW_CONFIG = {"workspace": {"name": "CDNOW", "default_region": "US", "currency": "USD"}}

_RETAILER_CONFIG = {
    "workspace": {"name": "Demo retailer", "default_region": "FR", "currency": "EUR"},
    "attributes": {
        "interests": {
            "type": "string",
            "category": "psychographic",
            "description": "Declared interests, separated by '|'.",
        },
        "urban_rural": {
            "type": "enum",
            "values": ["urban", "periurban", "rural"],
            "category": "geographic",
            "description": "Urban, peri-urban or rural municipality.",
        },
    },
}


def build_demo(
    path: Path,
    *,
    dataset: str = "retailer",
    customers: int = 50_000,
    seed: int = 42,
    end_date: date | None = None,
    replace: bool = False,
    planted_change: str | None = None,
    campaign: bool = False,
    progress: Callable[[str], Progress] | None = None,
) -> dict[str, Any]:
    """Create a demo workspace at ``path`` and return a summary of what was loaded.

    Parameters
    ----------
    dataset : str
        ``retailer`` (synthetic, ``customers`` and ``seed`` apply) or ``cdnow``.
    end_date : date, optional
        Last day of the synthetic history (default: today).
    replace : bool
        Replace an existing workspace at ``path``.
    planted_change : str, optional
        Retailer only: a planted group whose customers buy half as often in the last
        quarter, for drift checks to find (:mod:`cible.demo.planted_change`).
    campaign : bool
        Retailer only: a past win-back campaign with a holdout and a planted effect,
        for ``cible experiments analyse winback`` (:mod:`cible.demo.campaign`).
    progress : callable, optional
        ``progress(label)`` returns a ``(step, done, total)`` callback per task.
    """
    if dataset not in DATASETS:
        raise WorkspaceError(f"Unknown demo dataset {dataset!r}: use one of {', '.join(DATASETS)}.")
    _check_target(path, replace)
    if planted_change is not None:
        from cible.demo.groups import PROFILES

        names = [p.name for p in PROFILES]
        if planted_change not in names:
            raise WorkspaceError(
                f"No planted group {planted_change!r}; use one of {', '.join(names)}."
            )
    started = time.perf_counter()
    bar = progress or (lambda label: lambda step, done, total: None)
    config = WorkspaceConfig.model_validate(
        _RETAILER_CONFIG if dataset == "retailer" else _CDNOW_CONFIG
    )
    try:
        with Workspace.create(path, config=config) as ws:
            source = path / SOURCE_FOLDER
            source.mkdir()
            files, options, truth = _write_files(
                source, dataset, customers, seed, end_date, planted_change, bar
            )
            results = [
                ws.imports.load(kind, file, progress=bar(f"import {kind}"), **options.get(kind, {}))
                for kind, file in files
            ]
            counts = ws.counts()
            # The retailer's history ends today; CDNOW's ended in mid-1998.
            as_of = None if dataset == "retailer" else CDNOW_AS_OF
            record = ws.run(as_of=as_of, progress=bar("run"))
            planted = None
            if campaign and dataset == "retailer":
                from cible.demo.campaign import plant_campaign

                # Stream 14 of the seed: the files above are what they were before it.
                planted = plant_campaign(
                    ws,
                    source,
                    np.random.default_rng(seed).spawn(14)[13],
                    end_date or utc_now().date(),
                )
                counts = ws.counts()
                # Traits and segments see the campaign's orders.
                record = ws.run(as_of=as_of, progress=bar("run"))
            reports = []
            for lang in ("en", "fr"):
                report = path / f"report-{lang}.html"
                report.write_text(ws.report(lang), encoding="utf-8")
                reports.append(str(report))
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    if truth:
        (path / TRUTH_FOLDER).mkdir()
        for file in truth:
            file.rename(path / TRUTH_FOLDER / file.name)
    return {
        "workspace": str(path),
        "dataset": dataset,
        "seed": seed,
        "imports": [r.as_dict() for r in results],
        "counts": counts,
        "truth": str(path / TRUTH_FOLDER) if truth else None,
        "run": {
            "run_id": record.run_id,
            "as_of": record.as_of,
            "segments": record.segments,
            "memberships": record.memberships,
        },
        "reports": reports,
        "campaign": planted,
        "seconds": time.perf_counter() - started,
    }


def _check_target(path: Path, replace: bool) -> None:
    if not path.exists():
        return
    if not (path / CONFIG_FILE).exists():
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            return
        raise WorkspaceError(f"{path} exists and is not a Cible workspace; choose another folder.")
    if not replace:
        raise WorkspaceError(f"{path} already holds a workspace; add --force to replace it.")
    if not (path / SOURCE_FOLDER).is_dir():
        raise WorkspaceError(
            f"{path} holds a workspace that is not a demo; --force only replaces demo "
            "workspaces, so choose another folder."
        )
    # Remove what a demo wrote, and only that: anything else in the folder stays.
    written = (DATABASE_FILE + ".wal", DATABASE_FILE + ".import", SOURCE_FOLDER, TRUTH_FOLDER)
    for name in (CONFIG_FILE, DATABASE_FILE, *written):
        entry = path / name
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


def _write_files(
    folder: Path,
    dataset: str,
    customers: int,
    seed: int,
    end_date: date | None,
    planted_change: str | None,
    bar: Callable[[str], Progress],
) -> tuple[list[tuple[str, Path]], dict[str, dict[str, Any]], list[Path]]:
    if dataset == "cdnow":
        if planted_change is not None:
            raise WorkspaceError("A planted change applies to the retailer demo only.")
        from cible.demo.cdnow import DATE_FORMAT, write_cdnow

        return write_cdnow(folder), {"orders": {"date_format": DATE_FORMAT}}, []
    from cible.demo.generator import generate_retailer

    files = generate_retailer(
        folder,
        customers=customers,
        seed=seed,
        end_date=end_date,
        planted_change=planted_change,
        progress=bar("generate"),
    )
    truth = [files.planted_groups, files.duplicate_pairs]
    if planted_change is not None:
        truth.append(folder / "planted_change.json")
    from cible.demo.service import write_service_files

    # Streams 11 to 13 of the seed: the files above are what they were before these.
    service = write_service_files(
        folder, np.random.default_rng(seed).spawn(13)[10:], end_date or utc_now().date()
    )
    return [*files.imports(), *service], {}, truth

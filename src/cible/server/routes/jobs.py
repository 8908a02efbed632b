"""Long work as jobs: runs, imports, clusterings and deduplications; ``GET /api/jobs/{id}``.

Each ``POST`` accepts the work at once (202, ``Location: /api/jobs/{id}``); the job waits
for the jobs before it, then runs on the database thread while ``GET /api/jobs/{id}``
reports its step and counts. Analysts run and cluster; imports (which change profiles
and consents) and deduplication (which merges profiles) need an editor. Each start, and
each end with its outcome, is in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from cible.access.audit_log import counts
from cible.access.roles import Principal
from cible.domain.clock import normalise_as_of
from cible.domain.errors import CibleError
from cible.domain.progress import Progress
from cible.importing.pipeline import StrictRefusalError
from cible.server.deps import Analyst, Editor, ServerState, State
from cible.server.errors import NotFoundError
from cible.server.jobs import Job, JobFailedError, Work
from cible.server.served import incoming_file
from cible.store.staging import MAX_NAME_CHARS
from cible.workspace import Workspace

router = APIRouter(tags=["jobs"])

#: Years an ``as_of`` may fall in (as on the command line).
YEARS = (1900, 2999)

#: Longest text option (a path, a column name...).
TEXT = 4096


class RunCreate(BaseModel):
    """A run to start: as of a moment (default: now, UTC)."""

    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(default=None, description="ISO 8601; naive means UTC.")
    snapshot: bool = Field(default=False, description="Also keep the run as a snapshot.")


def checked_moment(moment: datetime | None) -> datetime | None:
    """``moment`` as naive UTC; one sentence when its year is out of :data:`YEARS`."""
    as_of = None if moment is None else normalise_as_of(moment)
    if as_of is not None and not YEARS[0] <= as_of.year <= YEARS[1]:
        raise CibleError(
            f"as_of {as_of.isoformat()}: give a moment between {YEARS[0]} and {YEARS[1]}."
        )
    return as_of


class ImportCreate(BaseModel):
    """A file of the workspace's ``incoming/`` folder to import, with `cible import`'s options."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1, max_length=100, description="customers, orders, order-lines, ..."
    )
    path: str = Field(
        min_length=1,
        max_length=TEXT,
        description="Name of the file in the workspace's incoming/ folder.",
    )
    shown_as: str | None = Field(
        default=None,
        max_length=TEXT,
        description="The user's own name for the file, shown in messages and the import log.",
    )
    mapping: dict[
        Annotated[str, Field(min_length=1, max_length=200)],
        Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None,
    ] = Field(
        default_factory=dict,
        max_length=500,
        description=(
            'Field -> column of the file; a field mapped to null or "" is not imported, '
            "even from a column bearing its name."
        ),
    )
    date_format: str | None = Field(default=None, min_length=1, max_length=200)
    decimal: str | None = Field(default=None, min_length=1, max_length=10)
    delimiter: str | None = Field(default=None, min_length=1, max_length=10)
    encoding: str | None = Field(default=None, min_length=1, max_length=100)
    strict: bool = False


class ClusterCreate(BaseModel):
    """A clustering to fit, with `cible cluster`'s options."""

    model_config = ConfigDict(extra="forbid")

    dimension: str = Field(default="clusters", min_length=1, max_length=100)
    method: str = Field(default="kmeans", min_length=1, max_length=50)
    k: int | str = Field(default="auto", description="A number of clusters, or 'auto'.")
    k_min: int = Field(default=2, ge=2, le=1000)
    k_max: int = Field(default=10, ge=2, le=1000)
    random_state: int | None = Field(default=None, ge=0, le=2**32 - 1)
    sample_size: int = Field(default=50_000, ge=100, le=10_000_000)
    include: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=500
    )
    exclude: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=500
    )
    bootstrap: int = Field(default=20, ge=0, le=1000)


class DedupeCreate(BaseModel):
    """A deduplication: merge profiles of one person, or only propose the merges."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


def start_job(
    state: ServerState,
    principal: Principal,
    response: Response,
    kind: str,
    work: Work,
) -> Job:
    """Start ``work`` as a job whose end is recorded in the audit log as ``<kind>.finish``."""

    def finish(job: Job, ws: Workspace) -> None:
        outcome = "ok" if job.state == "succeeded" else "failed"
        ended = {"job_id": job.job_id, "result": counts(job.result), "error": job.error}
        ws.audit_log.record(principal.actor, f"{kind}.finish", f"job:{job.job_id}", outcome, ended)

    job = state.jobs.start(kind, work, on_finish=finish)
    response.headers["Location"] = f"/api/jobs/{job.job_id}"
    return job


async def accepted(
    state: ServerState, principal: Principal, job: Job, detail: dict[str, Any]
) -> dict[str, Any]:
    await state.audit(principal, f"{job.kind}.start", f"job:{job.job_id}", "ok", detail)
    return {"job": job.as_dict(), "url": f"/api/jobs/{job.job_id}"}


@router.post("/runs", status_code=202)
async def start_run(
    state: State,
    principal: Analyst,
    response: Response,
    run: Annotated[RunCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Start a run (traits, scores, every segment) as a job; follow it at the URL returned."""
    as_of = checked_moment(None if run is None else run.as_of)
    snapshot = run is not None and run.snapshot

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        return dict(ws.run(as_of=as_of, snapshot=snapshot, progress=progress).__dict__)

    detail = {"as_of": as_of, "snapshot": snapshot}
    job = start_job(state, principal, response, "run", work)
    return await accepted(state, principal, job, detail)


@router.post("/imports", status_code=202)
async def start_import(
    state: State, principal: Editor, response: Response, file: ImportCreate
) -> dict[str, Any]:
    """Import a file of the workspace's ``incoming/`` folder as a job (editors, admins).

    The CLI copies the file there and sends its name; the server reads no file outside
    that folder, and deletes the copy once the job has read it. The options are those
    of `cible import`; a refused file (a wrong kind, columns that cannot be mapped,
    `strict` with rejected rows) makes the job fail with the reason, and rejected rows
    are read with `cible rejects`. Imports change profiles and consents, hence editors.
    """
    path = incoming_file(state.db.path, file.path)

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        try:
            result = ws.imports.load(
                file.kind,
                path,
                mapping=dict(file.mapping),
                date_format=file.date_format,
                decimal=file.decimal,
                delimiter=file.delimiter,
                encoding=file.encoding,
                strict=file.strict,
                progress=progress,
                shown_as=file.shown_as,
            )
        except StrictRefusalError as refusal:  # failed, but with counts to show
            raise JobFailedError(str(refusal), refusal.result.as_dict()) from refusal
        finally:  # the copy handed over is read once
            path.unlink(missing_ok=True)
        return result.as_dict()

    detail = file.model_dump()
    job = start_job(state, principal, response, "import", work)
    return await accepted(state, principal, job, detail)


@router.post("/clusters", status_code=202)
async def start_clustering(
    state: State,
    principal: Analyst,
    response: Response,
    options: Annotated[ClusterCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Find clusters in the latest run's traits and save them as a dimension, as a job."""
    chosen = options or ClusterCreate()
    k: str | int = chosen.k
    if isinstance(k, str) and k != "auto":
        raise CibleError(f"k {k!r}: give 'auto' or a whole number such as 5.")

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        result = ws.cluster(
            dimension=chosen.dimension,
            method=chosen.method,
            k=k,
            k_range=(chosen.k_min, chosen.k_max),
            random_state=chosen.random_state,
            sample_size=chosen.sample_size,
            include=chosen.include,
            exclude=tuple(chosen.exclude),
            n_bootstrap=chosen.bootstrap,
            progress=progress,
        )
        return result.as_dict()

    detail = chosen.model_dump()
    job = start_job(state, principal, response, "cluster", work)
    return await accepted(state, principal, job, detail)


@router.post("/dedupe", status_code=202)
async def start_dedupe(
    state: State,
    principal: Editor,
    response: Response,
    options: Annotated[DedupeCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Merge the profiles of one person (editors and admins), or only propose merges."""
    dry_run = options is not None and options.dry_run

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        return ws.quality.dedupe(dry_run=dry_run, progress=progress).as_dict()

    detail = {"dry_run": dry_run}
    job = start_job(state, principal, response, "dedupe", work)
    return await accepted(state, principal, job, detail)


@router.get("/jobs/{job_id}")
async def get_job(
    state: State, principal: Analyst, job_id: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, Any]:
    """A job's state, step, done/total, and its result or error once it has ended."""
    job = state.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"No job {job_id} (jobs are kept until the server stops).")
    return job.as_dict()

"""Long work inside the server: one job at a time, progress readable from the API.

A job (a run, later an import or a clustering) is accepted at once with an id; it
waits for the jobs before it, then runs on the database thread
(:meth:`~cible.server.database.Database.call`) and reports through a
:class:`~cible.domain.progress.Progress` callback, which writes the step and counts
on the job: ``GET /api/jobs/{id}`` reads them without touching the database, so
progress stays readable while the job holds it. Jobs live in memory: a restarted
server has none (their effects, such as a stored run, are in the workspace).

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> def count(ws, progress):
...     customers = ws.counts()["customers"]
...     progress("counted", 1, 1)
...     return customers
>>> async def main():
...     async with Database.open(folder) as db:
...         jobs = Jobs(db)
...         job = jobs.start("count", count)
...         await jobs.drain()
...         return job.state, job.result, (job.step, job.done, job.total)
>>> asyncio.run(main())
('succeeded', 0, ('counted', 1, 1))
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.domain.progress import Progress
from cible.server.database import Database
from cible.workspace import Workspace

logger = logging.getLogger(__name__)

#: Work a job does: it gets the open workspace and a progress callback.
Work = Callable[[Workspace, Progress], Any]

#: Called on the database thread when a job ends: the job, the workspace.
Finish = Callable[["Job", Workspace], None]


class JobFailedError(CibleError):
    """A job that failed with a sentence and, still, a result to show (a refused import's
    counts); raised by a job's work."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Job:
    """One piece of long work and how far it has gone.

    ``state`` goes ``queued`` -> ``running`` -> ``succeeded`` or ``failed``; ``step``,
    ``done`` and ``total`` are the latest progress report; ``result`` (JSON-ready)
    or ``error`` (one sentence) once it ended; a failure may carry a result too
    (:class:`JobFailedError`).
    """

    job_id: int
    kind: str
    state: str = "queued"
    step: str = ""
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def progress(self, step: str, done: int, total: int) -> None:
        """The :class:`~cible.domain.progress.Progress` callback the work reports to."""
        # Called on the database thread; each field is one assignment, read whole.
        self.step, self.done, self.total = step, done, total

    @property
    def finished(self) -> bool:
        """Whether it has ended, well or not."""
        return self.state in ("succeeded", "failed")

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON."""
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "state": self.state,
            "step": self.step,
            "done": self.done,
            "total": self.total,
            "result": self.result,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class Jobs:
    """The jobs of one server, run one at a time in the order they were started.

    Parameters
    ----------
    db : Database
        The served workspace.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._one_at_a_time = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, kind: str, work: Work, *, on_finish: Finish | None = None) -> Job:
        """Accept ``work`` as a job and return it at once; it runs when its turn comes.

        ``on_finish(job, workspace)`` runs on the database thread when it has ended
        (to record the outcome in the audit log, say).
        """
        job = Job(next(self._ids), kind)
        self._jobs[job.job_id] = job
        task = asyncio.create_task(self._run(job, work, on_finish))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    @property
    def database(self) -> Database:
        """The served workspace the jobs run on."""
        return self._db

    def get(self, job_id: int) -> Job | None:
        """Job ``job_id``, or None."""
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job since the server started, the latest first."""
        return sorted(self._jobs.values(), key=lambda job: job.job_id, reverse=True)

    def active(self) -> list[Job]:
        """Jobs queued or running, oldest first."""
        return [job for job in self._jobs.values() if not job.finished]

    async def drain(self) -> None:
        """Wait until every accepted job has ended (the server's shutdown does)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, job: Job, work: Work, on_finish: Finish | None) -> None:
        async with self._one_at_a_time:
            job.state, job.started_at = "running", utc_now()

            def attempt(ws: Workspace) -> None:
                try:
                    job.result = work(ws, job.progress)
                    job.state = "succeeded"
                except CibleError as exc:
                    job.error, job.state = str(exc), "failed"
                    if isinstance(exc, JobFailedError):
                        job.result = exc.result
                except Exception as exc:
                    logger.exception("job %s (%s) failed", job.job_id, job.kind)
                    job.error = f"Internal error ({type(exc).__name__}); see the server's log."
                    job.state = "failed"
                job.finished_at = utc_now()
                if on_finish is not None:
                    on_finish(job, ws)

            try:
                await self._db.call(attempt)
            except Exception:  # on_finish itself failed; the job's own outcome stands
                logger.exception("job %s (%s): recording its end failed", job.job_id, job.kind)

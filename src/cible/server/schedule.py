"""Scheduled runs: the whole pipeline as of now, every day (or hour, or week), kept.

``[schedule]`` (:class:`~cible.domain.monitoring_settings.ScheduleSection`) says when,
in the workspace's time zone. Each scheduled run is a job like any other (one at a
time, visible at ``/api/jobs``) that runs, keeps the result as a snapshot, removes
run snapshots older than ``keep_days`` (each month's first stays), then checks drift
against the reference moment and raises alerts (:mod:`cible.segments.monitoring`).

A server that was down at the due time catches up when it starts: when the latest
snapshot of a run is older than the latest due moment, a run starts at once. A
workspace whose runs were never kept as snapshots has no schedule to catch up with:
its first scheduled run comes at the next due moment.

Examples
--------
>>> from datetime import datetime, time
>>> daily = ScheduleSection(runs="daily", at=time(3, 0))
>>> next_due(datetime(2026, 5, 4, 2, 0), daily), next_due(datetime(2026, 5, 4, 3, 0), daily)
(datetime.datetime(2026, 5, 4, 3, 0), datetime.datetime(2026, 5, 5, 3, 0))
>>> last_due(datetime(2026, 5, 4, 2, 0), daily)
datetime.datetime(2026, 5, 3, 3, 0)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cible.domain.clock import utc_now
from cible.domain.monitoring_settings import WEEKDAYS, ScheduleSection
from cible.domain.progress import Progress
from cible.server.jobs import Job, Jobs
from cible.workspace import Workspace

_log = logging.getLogger(__name__)

#: Who the audit log says started a scheduled run.
ACTOR = "scheduler"


def _period(settings: ScheduleSection) -> timedelta:
    return {"hourly": timedelta(hours=1), "weekly": timedelta(days=7)}.get(
        settings.runs, timedelta(days=1)
    )


def last_due(local_now: datetime, settings: ScheduleSection) -> datetime:
    """The latest due moment at or before ``local_now`` (naive, the workspace's local time)."""
    at = settings.at
    if settings.runs == "hourly":
        due = local_now.replace(minute=at.minute, second=0, microsecond=0)
    else:
        due = local_now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        if settings.runs == "weekly":
            due -= timedelta(days=(due.weekday() - WEEKDAYS.index(settings.weekday)) % 7)
    while due > local_now:
        due -= _period(settings)
    return due


def next_due(local_now: datetime, settings: ScheduleSection) -> datetime:
    """The first due moment after ``local_now`` (naive, the workspace's local time)."""
    return last_due(local_now, settings) + _period(settings)


def not_too_soon(
    due: datetime, fired: datetime | None, settings: ScheduleSection, zone: ZoneInfo
) -> datetime:
    """The first due moment from ``due`` (local) at least half a period after the run
    started at ``fired`` (UTC).

    Counted in UTC: when clocks go forward two local moments are one instant (an
    hourly run would start twice), and a run caught up at start should not be
    followed at once by the due one.

    Examples
    --------
    >>> from datetime import time
    >>> paris = ZoneInfo("Europe/Paris")
    >>> hourly = ScheduleSection(runs="hourly", at=time(0, 30))
    >>> gone = datetime(2026, 3, 29, 2, 30)  # clocks jump from 02:00 to 03:00
    >>> not_too_soon(next_due(gone, hourly), _utc(gone, paris), hourly, paris)
    datetime.datetime(2026, 3, 29, 4, 30)
    """
    while fired is not None and _utc(due, zone) < fired + _period(settings) / 2:
        due = next_due(due, settings)
    return due


def _local(moment_utc: datetime, zone: ZoneInfo) -> datetime:
    return moment_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def scheduled_run(ws: Workspace, progress: Progress) -> dict[str, Any]:
    """One scheduled run: run and keep, prune old run snapshots, check drift."""
    settings = ws.config.schedule
    record = ws.run(snapshot=True, progress=progress)
    removed = ws.snapshots.prune(keep_days=settings.keep_days)
    result: dict[str, Any] = {"run": dict(record.__dict__), "snapshots_removed": removed}
    if settings.check_drift:
        # This run's own snapshot, not the latest moment kept (a replay may be later).
        kept = [s.snapshot_id for s in ws.snapshots.list() if s.run_id == record.run_id]
        result["check"] = ws.monitoring.check_latest(actor=ACTOR, current=kept[-1])
    return result


def _missed(ws: Workspace, settings: ScheduleSection, zone: ZoneInfo) -> bool:
    kept = [s for s in ws.snapshots.list() if s.origin == "run"]
    if not kept:
        return False
    due = _utc(last_due(_local(utc_now(), zone), settings), zone)
    return max(s.as_of for s in kept) < due


@asynccontextmanager
async def scheduling(jobs: Jobs, *, now: Callable[[], datetime] = utc_now) -> AsyncIterator[None]:
    """Start scheduled runs as jobs during the block, per ``[schedule]``."""
    db = jobs.database
    settings, zone_name = await db.call(lambda ws: (ws.config.schedule, ws.config.workspace.zone))
    if settings.runs == "off":
        yield
        return
    zone = ZoneInfo(zone_name)

    def start() -> Job:
        def finish(job: Job, ws: Workspace) -> None:
            outcome = "ok" if job.state == "succeeded" else "failed"
            ws.audit_log.record(
                ACTOR, "run.scheduled", f"job:{job.job_id}", outcome, {"error": job.error}
            )

        return jobs.start("scheduled-run", scheduled_run, on_finish=finish)

    async def loop() -> None:
        fired: datetime | None = None
        if await db.call(lambda ws: _missed(ws, settings, zone)):
            start()
            fired = now()
        due = next_due(_local(now(), zone), settings)
        while True:
            due = not_too_soon(due, fired, settings, zone)
            await asyncio.sleep(max(0.0, (_utc(due, zone) - now()).total_seconds()))
            start()
            fired = _utc(due, zone)
            due = next_due(due, settings)

    task = asyncio.create_task(loop(), name="cible-schedule")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""Scheduled runs: when they are due, and a real `cible serve` catching up a missed one."""

from __future__ import annotations

import json
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import tomli_w

from cible import Workspace
from cible.access.roles import Role
from cible.domain.monitoring_settings import ScheduleSection
from cible.server.schedule import _local, _utc, last_due, next_due, not_too_soon
from tests.cli.test_serve import cible
from tests.server.conftest import make_workspace
from tests.server.processes import serving


@pytest.mark.parametrize(
    ("settings", "now", "due"),
    [
        ({"runs": "daily", "at": "03:00"}, datetime(2026, 5, 4, 2, 59), datetime(2026, 5, 4, 3)),
        ({"runs": "daily", "at": "03:00"}, datetime(2026, 5, 4, 3, 0), datetime(2026, 5, 5, 3)),
        (
            {"runs": "hourly", "at": "00:15"},
            datetime(2026, 5, 4, 7, 20),
            datetime(2026, 5, 4, 8, 15),
        ),
        (
            {"runs": "hourly", "at": "00:15"},
            datetime(2026, 5, 4, 7, 10),
            datetime(2026, 5, 4, 7, 15),
        ),
        # 2026-05-04 is a Monday: the next Friday is the 8th, the one after the 15th.
        (
            {"runs": "weekly", "weekday": "friday"},
            datetime(2026, 5, 4, 12),
            datetime(2026, 5, 8, 3),
        ),
        (
            {"runs": "weekly", "weekday": "friday"},
            datetime(2026, 5, 8, 4),
            datetime(2026, 5, 15, 3),
        ),
        ({"runs": "weekly", "weekday": "monday"}, datetime(2026, 5, 4, 2), datetime(2026, 5, 4, 3)),
    ],
)
def test_the_next_due_moment(settings: dict[str, str], now: datetime, due: datetime):
    schedule = ScheduleSection.model_validate(settings)
    assert next_due(now, schedule) == due
    assert last_due(now, schedule) <= now < due
    assert next_due(last_due(now, schedule), schedule) == due


def test_due_moments_follow_the_workspace_s_clock_across_daylight_saving():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    schedule = ScheduleSection(runs="daily")
    # 03:00 in Paris is 01:00 UTC in summer and 02:00 UTC in winter.
    summer = _utc(next_due(_local(datetime(2026, 7, 1, 12), paris), schedule), paris)
    winter = _utc(next_due(_local(datetime(2026, 12, 1, 12), paris), schedule), paris)
    assert (summer, winter) == (datetime(2026, 7, 2, 1), datetime(2026, 12, 2, 2))


@pytest.mark.slow
def test_a_served_workspace_catches_up_a_missed_run_and_keeps_it(tmp_path: Path):
    secrets = make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    with Workspace.open(shop) as ws:
        # Kept by a scheduled run three days ago; the server was down since.
        ws.run(as_of=datetime.now() - timedelta(days=3), snapshot=True)
    settings = tomllib.loads((shop / "cible.toml").read_text())
    settings["schedule"] = {"runs": "daily", "at": "03:00", "check_drift": True}
    (shop / "cible.toml").write_text(tomli_w.dumps(settings))
    headers = {"Authorization": f"Bearer {secrets[Role.ADMIN]}"}
    with serving(shop, tmp_path / "serve.log") as url:
        deadline = time.monotonic() + 60
        while True:
            kept = httpx.get(f"{url}/api/snapshots", headers=headers).json()
            if len(kept) == 2:
                break
            assert time.monotonic() < deadline, kept
            time.sleep(0.2)
        assert [s["origin"] for s in kept] == ["run", "run"]
        latest = datetime.fromisoformat(kept[-1]["as_of"])
        assert abs((latest - datetime.now()).total_seconds()) < 120
        # The command line goes through the server: a backfill job, then the list.
        done = cible(
            "snapshots",
            "backfill",
            "--from",
            "2024-12-01",
            "--to",
            "2025-03-01",
            "--json",
            folder=shop,
        )
        assert done.returncode == 0, done.stderr
        assert [s["as_of"][:10] for s in json.loads(done.stdout)] == [
            "2024-12-01",
            "2025-01-01",
            "2025-02-01",
            "2025-03-01",
        ]
        listed = cible("snapshots", "list", folder=shop)
        assert listed.returncode == 0 and "backfill" in listed.stdout
        # Today has no snapshot 90 days before it: the check says so, through the server.
        refused = cible("drift", "check", folder=shop)
        assert refused.returncode == 1 and "No snapshot about 90 days before" in refused.stderr
        march = next(s for s in json.loads(done.stdout) if s["as_of"].startswith("2025-03"))
        checked = cible("drift", "check", "--snapshot", str(march["snapshot_id"]), folder=shop)
        assert checked.returncode == 0, checked.stderr
        assert "2024-12-01 -> 2025-03-01" in checked.stdout
        kept = cible("drift", "history", "--json", folder=shop)
        assert [c["as_of"][:10] for c in json.loads(kept.stdout)] == ["2025-03-01"]
        entries = httpx.get(f"{url}/api/audit", headers=headers).json()["entries"]
    actions = [e["action"] for e in entries]
    assert {"run.scheduled", "backfill.start", "drift.start", "drift.finish"} <= set(actions)


def test_no_run_twice_when_clocks_go_forward_nor_just_after_a_catch_up():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    hourly = ScheduleSection(runs="hourly", at="00:30")
    # 02:30 does not exist on 2026-03-29 in Paris: it and 03:30 are both 01:30 UTC.
    gone = datetime(2026, 3, 29, 2, 30)
    assert _utc(gone, paris) == _utc(datetime(2026, 3, 29, 3, 30), paris)
    following = not_too_soon(next_due(gone, hourly), _utc(gone, paris), hourly, paris)
    assert following == datetime(2026, 3, 29, 4, 30)
    # A run caught up at 02:59 is not followed by the 03:00 one, but by tomorrow's.
    daily = ScheduleSection(runs="daily", at="03:00")
    caught = _utc(datetime(2026, 5, 4, 2, 59), paris)
    assert not_too_soon(datetime(2026, 5, 4, 3, 0), caught, daily, paris) == datetime(
        2026, 5, 5, 3, 0
    )
    assert not_too_soon(datetime(2026, 5, 4, 3, 0), None, daily, paris) == datetime(2026, 5, 4, 3)

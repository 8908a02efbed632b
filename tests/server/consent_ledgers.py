"""Random consent ledgers and the served workspace's jobs, for the property tests.

A drawn ledger is a list of :class:`Record` (customer index, channel, purpose, status,
days ago); :func:`latest` is the reference the properties are checked against: the
latest record decides, the strictest on a tie, as the consents model says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from cible.access.roles import Role
from cible.domain.schema import CONSENT_STATUSES, CONSENT_STRICTNESS
from cible.server.served import hand_over
from tests.server.conftest import Served

CHANNELS = ("email", "sms")
PURPOSES = ("marketing", "profiling")


@dataclass(frozen=True)
class Record:
    who: int
    channel: str
    purpose: str
    status: str
    days_ago: int


def ledgers(who: st.SearchStrategy[int], max_size: int) -> st.SearchStrategy[list[Record]]:
    """Consent records about the customers ``who`` draws, on two channels and purposes."""
    return st.lists(
        st.builds(
            Record,
            who,
            st.sampled_from(CHANNELS),
            st.sampled_from(PURPOSES),
            st.sampled_from(CONSENT_STATUSES),
            st.integers(1, 5),
        ),
        max_size=max_size,
        # An exact repeat in one file is a duplicate key, rejected by the import.
        unique=True,
    )


def latest(ledger: list[Record], who: int, purpose: str, channel: str | None) -> str | None:
    """The latest status (strictest on a tie) of ``who`` for a purpose (and channel)."""
    own = [
        r for r in ledger if r.who == who and r.purpose == purpose and channel in (None, r.channel)
    ]
    if not own:
        return None
    newest = min(r.days_ago for r in own)
    return max((r.status for r in own if r.days_ago == newest), key=CONSENT_STRICTNESS.index)


def follow(served: Served, started: Any) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = served.client.get(
            started.json()["url"], headers=served.as_(Role.ANALYST)
        ).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def import_file(served: Served, kind: str, text: str, name: str) -> dict[str, Any]:
    path = served.folder.parent / name
    path.write_text(text)
    body = {"kind": kind, "path": hand_over(served.folder, path)}
    started = served.client.post("/api/imports", json=body, headers=served.as_(Role.EDITOR))
    return follow(served, started)


def run(served: Served) -> None:
    started = served.client.post("/api/runs", headers=served.as_(Role.ANALYST))
    assert follow(served, started)["state"] == "succeeded"

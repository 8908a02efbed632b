"""The served workspace: commands that go through the server's API, and those that stop.

While ``cible serve`` owns a workspace (:mod:`cible.server.served`), DuckDB lets no
other process write it. ``status``, ``segments list``, ``segments preview``,
``customers show`` and ``tokens ...`` then ask the server over HTTP and print the same
thing; ``import``, ``run``, ``cluster``, ``dedupe`` and ``privacy retention --delete``
become jobs in the server (:meth:`Remote.job`), followed with a progress bar; every
other command refuses in one sentence naming the server (:func:`open_workspace`).
The token comes from ``CIBLE_TOKEN``, else from the admin token the server wrote for
the local user in ``cible.serve.token`` (readable by the owner only).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from cible.domain.errors import CibleError
from cible.domain.progress import Progress, reporter
from cible.server.served import Served, find_server, read_local_token
from cible.workspace import Workspace

#: Seconds to wait for the server's answer.
TIMEOUT = 120.0

#: Seconds between two readings of a job's progress.
POLL = 0.2


class Remote:
    """The API of the server that owns a workspace.

    Parameters
    ----------
    served : Served
        Where the server listens.
    token : str
        The API token sent as ``Authorization: Bearer``.
    """

    def __init__(self, served: Served, token: str) -> None:
        self.served = served
        self._token = token

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request; return the JSON answer, or raise its ``detail`` as a CibleError."""
        url = self.served.url + path
        try:
            answer = httpx.request(
                method,
                url,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise CibleError(
                f"The server of this workspace at {self.served.url} (pid {self.served.pid}) "
                f"does not answer ({exc or type(exc).__name__})."
            ) from None
        if answer.status_code >= 400:
            raise CibleError(f"The server answered {answer.status_code}: {_detail(answer)}")
        return answer.json()

    def job(self, path: str, body: Any = None, *, progress: Progress | None = None) -> Any:
        """Start a job with ``POST path`` and follow it until it ends; return its result.

        ``progress`` gets the job's step and counts each time they change (the CLI
        draws them as a bar).

        Raises
        ------
        CibleError
            When the server refuses the job, or with the job's own sentence when it fails.
        """
        report = reporter(progress)
        url = self.request("POST", path, json=body)["url"]
        seen: tuple[str, int, int] | None = None
        try:
            while True:
                job = self.request("GET", url)
                state = (job["step"], job["done"], job["total"])
                if job["step"] and state != seen:
                    report(*state)
                    seen = state
                if job["state"] == "succeeded":
                    return job["result"]
                if job["state"] == "failed":
                    raise RemoteJobError(job["error"] or f"Job {job['job_id']} failed.", job)
                time.sleep(POLL)
        except KeyboardInterrupt:
            # Ctrl+C stops the watching, not the work: say where to follow it.
            raise CibleError(
                f"Stopped following the job; it goes on in the server: {self.served.url}{url}."
            ) from None


class RemoteJobError(CibleError):
    """A job that failed in the server; ``result`` is what it left (a refused import's
    counts), or None."""

    def __init__(self, message: str, job: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = job.get("result")


def _detail(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return answer.text[:200]
    return detail if isinstance(detail, str) else str(detail)


def connect(workspace: Path) -> Remote | None:
    """The API of the server owning ``workspace``, or None when it is not served.

    Raises
    ------
    CibleError
        When it is served but no token is at hand.
    """
    served = find_server(workspace)
    if served is None:
        return None
    token = os.environ.get("CIBLE_TOKEN") or read_local_token(workspace)
    if not token:
        raise CibleError(
            f"The workspace {workspace} is served at {served.url}, and no token was found: "
            "set CIBLE_TOKEN to an API token."
        )
    return Remote(served, token)


def refuse_if_served(workspace: Path) -> None:
    """Raise, in one sentence, when a server owns ``workspace``."""
    served = find_server(workspace)
    if served is not None:
        raise CibleError(
            f"The workspace {workspace} is served by `cible serve` at {served.url} "
            f"(pid {served.pid}); use its API there, or stop the server first."
        )


def open_workspace(workspace: Path, *, read_only: bool = False) -> Workspace:
    """Open ``workspace`` for a command that cannot go through the server.

    Raises
    ------
    CibleError
        When a server owns it (see :func:`refuse_if_served`).
    """
    refuse_if_served(workspace)
    return Workspace.open(workspace, read_only=read_only)

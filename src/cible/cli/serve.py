"""``cible serve``: the workspace's HTTP API on uvicorn, until Ctrl+C or SIGTERM.

Once listening it writes ``cible.serve.json`` (url, pid, started_at) in the
workspace, so that the CLI finds it; on SIGINT or SIGTERM uvicorn stops accepting
connections, finishes the requests under way, the app's lifespan waits for the
accepted jobs and closes the workspace, and the file is removed. A file left by a
server that no longer runs (killed) is stale: it is replaced.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from cible.cli.i18n import _, use_lang
from cible.cli.options import LangOption, WorkspaceOption
from cible.cli.output import echo
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.server.app import create_app
from cible.server.served import (
    Served,
    pid_alive,
    read_served,
    remove_local_token,
    remove_served,
    write_served,
)
from cible.workspace import Workspace


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_listening`` its URL once its sockets are bound."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            bound = self.servers[0].sockets[0].getsockname()
            self._on_listening(url_of(str(bound[0]), int(bound[1])))


def url_of(host: str, port: int) -> str:
    """The URL a local client reaches a server bound to ``host:port`` at.

    Examples
    --------
    >>> url_of("0.0.0.0", 8750), url_of("::1", 8750)
    ('http://127.0.0.1:8750', 'http://[::1]:8750')
    """
    if host in ("0.0.0.0", ""):  # every interface: loopback reaches it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A stop signal that arrives once uvicorn has shut down: the stop is done."""


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8750,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
) -> None:
    """Serve the workspace's HTTP API (described at /openapi.json) until Ctrl+C or SIGTERM.

    While it runs, `status`, `segments list` and `tokens` go through it; other
    commands say the workspace is served and where.
    """
    use_lang(lang)
    folder = workspace
    existing = read_served(folder)
    if existing is not None and pid_alive(existing.pid) and existing.pid != os.getpid():
        raise CibleError(
            f"The workspace {folder} is already served at {existing.url} (pid {existing.pid})."
        )
    # Open once here so that a missing, locked or newer workspace is one sentence,
    # not a failed start-up inside uvicorn.
    Workspace.open(folder).close()
    if existing is not None:
        remove_served(folder, existing.pid)
        remove_local_token(folder)
        echo(
            _("Replaced a stale {file} (pid {pid} is not running).").format(
                file="cible.serve.json", pid=existing.pid
            )
        )
    pid = os.getpid()

    def listening(url: str) -> None:
        write_served(folder, Served(url, pid, utc_now().isoformat(timespec="seconds")))
        echo(
            _(
                "Serving {path} at {url} (API description: {url}/openapi.json). Stop with Ctrl+C."
            ).format(path=folder, url=url)
        )

    config = uvicorn.Config(
        create_app(folder), host=host, port=port, log_level="warning", access_log=False
    )
    server = _Server(config, listening)
    # uvicorn catches SIGINT and SIGTERM, shuts down gracefully, then raises the signal
    # again for the handler it found: with these, a stop is a clean exit (status 0).
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {stop: signal.signal(stop, _ignore) for stop in stops}
    try:
        server.run()
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)
        remove_served(folder, pid)
    if not server.started:
        raise CibleError(f"Could not serve on {host}:{port}; see the message above.")
    echo(_("Stopped serving {path}.").format(path=folder))

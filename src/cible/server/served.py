"""How the command line finds the server that owns a workspace.

While ``cible serve`` runs it keeps two files in the workspace folder:

- ``cible.serve.json`` — ``url``, ``pid`` and ``started_at``, written once the server
  listens and removed when it stops. A file whose ``pid`` is no longer running (the
  server was killed) is stale: it is ignored, and replaced by the next ``cible serve``.
- ``cible.serve.token`` — an admin token for the local user, readable by the owner
  only (mode 0600), created at start and valid for that server process only (it is
  kept in memory, never in the database). Whoever can read the workspace folder can
  open its database file directly, so this file grants nothing they do not already
  have; the audit log names its user ``cli``.

Examples
--------
>>> import os, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> write_served(folder, Served("http://127.0.0.1:8750", os.getpid(), "2025-01-02T03:04:05"))
>>> find_server(folder).url
'http://127.0.0.1:8750'
>>> remove_served(folder, os.getpid()); find_server(folder) is None
True
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cible.domain.errors import CibleError
from cible.store.files import atomic_file

SERVED_FILE = "cible.serve.json"
TOKEN_FILE = "cible.serve.token"


@dataclass(frozen=True)
class Served:
    """What ``cible.serve.json`` says: where the server listens, its process, since when."""

    url: str
    pid: int
    started_at: str


def write_served(folder: Path, served: Served) -> None:
    """Write ``cible.serve.json`` whole (a reader never sees half of it)."""
    with atomic_file(folder / SERVED_FILE) as handle:
        handle.write(json.dumps(asdict(served), indent=2).encode("utf-8") + b"\n")


def read_served(folder: Path) -> Served | None:
    """What ``cible.serve.json`` says, or None when it is missing or unreadable."""
    try:
        data = json.loads((folder / SERVED_FILE).read_text(encoding="utf-8"))
        return Served(str(data["url"]), int(data["pid"]), str(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` is running."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: checks the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def find_server(folder: Path) -> Served | None:
    """The live server of ``folder``, or None (no file, or a stale one)."""
    served = read_served(folder)
    return served if served is not None and pid_alive(served.pid) else None


def remove_served(folder: Path, pid: int) -> None:
    """Remove ``cible.serve.json`` if it names process ``pid`` (or is unreadable)."""
    served = read_served(folder)
    if served is None or served.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (folder / SERVED_FILE).unlink()


def write_local_token(folder: Path, secret: str) -> None:
    """Write the local user's token, readable and writable by the owner only."""
    path = folder / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a file left by a killed server may have other permissions
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")


def read_local_token(folder: Path) -> str | None:
    """The local user's token, or None when there is none (or it cannot be read)."""
    try:
        return (folder / TOKEN_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def remove_local_token(folder: Path) -> None:
    """Remove the local user's token file, if any."""
    with contextlib.suppress(FileNotFoundError):
        (folder / TOKEN_FILE).unlink()


#: Files handed to a served workspace for import: the only ones the server reads.
INCOMING = "incoming"
#: Seconds a file may wait in ``incoming/`` unread (an upload never imported nor
#: cancelled) before it is removed: it may hold personal data (docs/privacy.md).
INCOMING_MAX_AGE_S = 24 * 3600


def hand_over(folder: Path, file: Path) -> str:
    """Copy ``file`` into the workspace's incoming folder; return the name to import.

    The server imports only files of that folder, which the workspace's owner can write
    and an API caller cannot choose outside of; the server deletes the copy once read.
    """
    incoming = folder / INCOMING
    incoming.mkdir(mode=0o700, exist_ok=True)
    name = f"{secrets.token_hex(8)}-{file.name}"
    try:
        shutil.copyfile(file, incoming / name)
    except OSError as exc:
        raise CibleError(f"{file}: cannot be read ({exc.strerror or exc}).") from None
    return name


def remove_stale_incoming(
    folder: Path, *, max_age_s: float = INCOMING_MAX_AGE_S, now: float | None = None
) -> list[str]:
    """Delete the files of the workspace's incoming folder last written over
    ``max_age_s`` seconds before ``now`` (default: the current time); their names.

    Called when the server starts and when a page uploads a file: a copy handed over is
    read within seconds, so one a day old was forgotten (an upload left on its preview).
    Links and folders are left alone: the server never writes them there.
    """
    incoming = folder / INCOMING
    oldest = (time.time() if now is None else now) - max_age_s
    removed = []
    with contextlib.suppress(FileNotFoundError), os.scandir(incoming) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):  # imported or cancelled meanwhile
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < oldest:
                    Path(entry.path).unlink()
                    removed.append(entry.name)
    return sorted(removed)


def incoming_file(folder: Path, name: str) -> Path:
    """The regular file ``name`` of the workspace's incoming folder.

    Raises
    ------
    CibleError
        When ``name`` leads outside that folder (``..``, an absolute path, a link), is
        missing, or is not a regular file (a FIFO or a device would block the server).
    """
    incoming = (folder / INCOMING).resolve()
    try:
        found = (incoming / name).resolve(strict=True)
        regular = stat.S_ISREG(found.stat().st_mode)
    except (OSError, RuntimeError, ValueError):
        raise CibleError(
            f"{name!r}: no such file in the workspace's {INCOMING}/ folder; the CLI puts "
            "the files it imports there."
        ) from None
    if found.parent != incoming or not regular:
        raise CibleError(
            f"{name!r}: give the name of a regular file in the workspace's {INCOMING}/ folder."
        )
    return found

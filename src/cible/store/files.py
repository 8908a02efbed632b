"""Files written whole or not at all.

A report or an export is written to a temporary file beside its target, flushed to
disk, then renamed over the target, so a crash, a full disk or an interrupt never
leaves a half-written or empty file where the user expects one. A symbolic link is
followed (the file it names is replaced); a device or pipe (``/dev/stdout``) is
written directly. Failures become one sentence naming the path and the reason.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "out.txt"
>>> with atomic_file(target) as handle:
...     _ = handle.write(b"done")
>>> target.read_bytes()
b'done'
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from cible.domain.errors import CibleError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


class OutputError(CibleError):
    """A file could not be written; nothing was left behind."""


def describe(exc: OSError) -> str:
    """A few words saying why an operating-system call failed (``permission denied``)."""
    return _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` only if the block succeeds.

    Raises
    ------
    OutputError
        When the file cannot be created or written (the reason is named).
    """
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if path.exists() and not path.is_file():
            with path.open("wb") as handle:
                yield handle
            return
        with _replacing(Path(os.path.realpath(path))) as handle:
            yield handle
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {describe(exc)}; nothing was written.") from None


@contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    descriptor, name = tempfile.mkstemp(
        prefix=f".{path.name[:100]}.", suffix=".partial", dir=path.parent
    )
    temporary = Path(name)
    try:
        # mkstemp makes the file private; give it the mode a plain open() would.
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise


def write_file(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, whole or not at all.

    Raises
    ------
    OutputError
        One sentence naming ``path`` and the reason (disk full, permission denied...).
    """
    with atomic_file(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

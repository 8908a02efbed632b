"""A file uploaded from a page, streamed into the workspace's ``incoming/`` folder.

The web UI hands files to imports the way the command line does
(:func:`cible.server.served.hand_over`): a copy in ``incoming/`` under a random name,
the only folder the server imports from, deleted once the import has read it (or the
upload is cancelled). The request body is parsed as it arrives and written straight
to that copy, never held whole in memory nor spooled elsewhere; a body larger than
:data:`MAX_UPLOAD_BYTES` is refused before it is read, from its declared length, and
one cut off before its closing boundary is refused. Each upload first removes the
copies left in ``incoming/`` over a day (:func:`cible.server.served.remove_stale_incoming`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from cible.domain.errors import CibleError
from cible.server.served import INCOMING, remove_stale_incoming

if TYPE_CHECKING:  # a type only: defined for type checkers
    from python_multipart.multipart import MultipartCallbacks

#: Largest file a page uploads (256 MiB); larger ones go through ``cible import``.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: What a form's other fields and the multipart framing may add to the file.
_FRAMING_BYTES = 64 * 1024
#: Fields besides the file, and the longest value of one.
_MAX_FIELDS, _MAX_FIELD_BYTES = 20, 4096
#: An upload's name in ``incoming/``: a random prefix, then the user's name made safe.
UPLOAD_NAME = r"[0-9a-f]{16}-[A-Za-z0-9._-]{1,100}"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class UploadError(CibleError):
    """An upload refused, with the HTTP status to answer and a sentence for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """A file received into ``incoming/``, and the form's other fields.

    Attributes
    ----------
    name : str
        Its name in ``incoming/`` (random prefix, then :attr:`filename` made safe).
    filename : str
        The user's name of the file, as the browser sent it (its last part).
    size : int
        Bytes received.
    fields : dict
        The form's other fields (text).
    """

    name: str = ""
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


def shown_name(name: str) -> str:
    """The user's file name kept in an upload's name (its random prefix removed)."""
    return name.split("-", 1)[1] if "-" in name else name


def discard(folder: Path, name: str) -> None:
    """Delete upload ``name`` of ``folder``'s incoming folder, if it is still there."""
    if re.fullmatch(UPLOAD_NAME, name):
        with contextlib.suppress(FileNotFoundError):
            (folder / INCOMING / name).unlink()


async def receive_upload(request: Request, folder: Path, *, limit: int | None = None) -> Upload:
    """Stream the one file of ``request``'s multipart form into ``folder/incoming/``.

    ``limit`` is the most bytes the file may hold (default :data:`MAX_UPLOAD_BYTES`).

    Raises
    ------
    UploadError
        411 without a declared length, 413 over ``limit``, 400 for a form that is not
        multipart or is cut off, 422 without a file; nothing is left in ``incoming/``.
    """
    limit = MAX_UPLOAD_BYTES if limit is None else limit
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise UploadError(411, "The upload gave no length; send it again from the form.")
    if int(declared) > limit + _FRAMING_BYTES:
        raise UploadError(413, _too_large(limit))
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(400, "Send the file from the upload form (multipart/form-data).")
    await run_in_threadpool(remove_stale_incoming, folder)
    receiver = _Receiver(folder / INCOMING, limit)
    try:
        parser = MultipartParser(boundary, receiver.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
            await receiver.flush()
        parser.finalize()
        if not receiver.ended:  # the parser takes a body without its closing boundary
            raise FormParserError("no closing boundary")
        await receiver.flush()
    except FormParserError as exc:
        receiver.abandon()
        raise UploadError(400, "The upload was cut off or malformed; send it again.") from exc
    except BaseException:
        receiver.abandon()
        raise
    receiver.close()
    if not receiver.upload.name or receiver.upload.size == 0:
        receiver.abandon()
        raise UploadError(422, "Choose a file that is not empty.")
    return receiver.upload


def _too_large(limit: int) -> str:
    return (
        f"The file is larger than {limit // (1024 * 1024):,} MiB: import it with "
        "`cible import` on the server's machine."
    )


class _Receiver:
    """The parser's callbacks: fields kept in memory, the file's bytes written out."""

    def __init__(self, incoming: Path, limit: int) -> None:
        self.upload = Upload()
        self._incoming = incoming
        self._limit = limit
        self._handle: IO[bytes] | None = None
        self._in_file = False
        self._pending: list[bytes] = []
        self._header = [b"", b""]
        self._disposition = b""
        self._value = bytearray()
        #: Whether the closing boundary was read: the body came whole.
        self.ended = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_end": self._end,
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": lambda data, start, end: self._add_header(0, data[start:end]),
            "on_header_value": lambda data, start, end: self._add_header(1, data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _end(self) -> None:
        self.ended = True

    def _part_begin(self) -> None:
        self._disposition, self._in_file, self._value = b"", False, bytearray()

    def _add_header(self, which: int, data: bytes) -> None:
        self._header[which] += data
        if len(self._header[which]) > _MAX_FIELD_BYTES:
            raise FormParserError("header too long")

    def _header_end(self) -> None:
        if self._header[0].lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            if len(self.upload.fields) >= _MAX_FIELDS:
                raise FormParserError("too many fields")
            return
        if self._handle is not None or self.upload.name:
            raise FormParserError("more than one file")
        given = options[b"filename"].decode("utf-8", "replace").replace("\\", "/")
        self.upload.filename = given.rsplit("/", 1)[-1].strip()
        if not self.upload.filename:
            return  # no file chosen: the form sends an empty part
        safe = _UNSAFE.sub("_", self.upload.filename)[-100:]
        self.upload.name = f"{secrets.token_hex(8)}-{safe}"
        self._incoming.mkdir(mode=0o700, exist_ok=True)
        descriptor = os.open(
            self._incoming / self.upload.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
        self._handle = os.fdopen(descriptor, "wb")
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._in_file:
            self.upload.size += len(piece)
            if self.upload.size > self._limit:
                raise UploadError(413, _too_large(self._limit))
            self._pending.append(piece)
            return
        self._value += piece
        if len(self._value) > _MAX_FIELD_BYTES:
            raise FormParserError("field too long")

    def _part_end(self) -> None:
        if self._in_file:
            return
        _, options = parse_options_header(self._disposition)
        if b"filename" not in options and b"name" in options:
            key = options[b"name"].decode("utf-8", "replace")
            self.upload.fields[key] = self._value.decode("utf-8", "replace")

    async def flush(self) -> None:
        """Write the file's bytes received so far (off the event loop)."""
        if self._pending and self._handle is not None:
            data, self._pending = b"".join(self._pending), []
            await run_in_threadpool(self._handle.write, data)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def abandon(self) -> None:
        """Close and delete the partial file."""
        self.close()
        if self.upload.name:
            with contextlib.suppress(FileNotFoundError):
                (self._incoming / self.upload.name).unlink()

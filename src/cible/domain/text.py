r"""Text files that people write by hand (settings, segment definitions) read as UTF-8.

Examples
--------
>>> utf8_text("name = 'Société'\n".encode(), "cible.toml")
"name = 'Société'\n"
>>> try:
...     utf8_text("a\nname = 'Société'\n".encode("cp1252"), "cible.toml")
... except CibleError as error:
...     print(error)
cible.toml: line 2 is not UTF-8 text (byte 0xe9); save the file as UTF-8.
"""

from __future__ import annotations

from cible.domain.errors import CibleError


def utf8_text(data: bytes, name: object, error: type[CibleError] = CibleError) -> str:
    """``data`` decoded as UTF-8, or ``error`` naming ``name``, the line and the byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"{name}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8."
        ) from None

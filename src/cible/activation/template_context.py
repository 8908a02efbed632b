"""What a template sees of one customer, their language, and HTML made plain text.

The context of a message holds ``customer`` (the profile: canonical fields and
custom attributes, **never** a field whose sensitivity is ``special``, even one with a
recorded legal basis: health, religion or opinions have no place in a marketing
message), ``traits`` (the latest run's), ``segments`` (the ids of the customer's open
memberships) and ``lang``. Missing values are left out rather than set to None, so
that ``{{ customer.first_name | default('there') }}`` works as a reader expects.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> registry = FieldRegistry(WorkspaceConfig.model_validate({"attributes": {
...     "religion": {"sensitivity": "special", "category": "demographic",
...                  "legal_basis": "explicit consent"},
...     "language": {"category": "demographic"}}}))
>>> "religion" in profile_fields(registry), "language" in profile_fields(registry)
(False, True)
>>> customer_language({"language": "fr-CA"}, registry, "en")
'fr'
>>> print(html_to_text("<h1>Hello</h1><p>Read <a href='https://x.test/p'>our guide</a>.</p>"))
Hello
<BLANKLINE>
Read our guide (https://x.test/p).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any

from cible.domain.registry import FieldRegistry
from cible.domain.schema import Sensitivity
from cible.locale import LANGUAGES

#: Custom attributes read, in this order, for a customer's language.
LANGUAGE_ATTRIBUTES = ("language", "locale")


def profile_fields(registry: FieldRegistry) -> tuple[str, ...]:
    """The customer fields a template may read: every one but the special categories."""
    return tuple(
        f.name
        for f in registry.table("customers").fields
        if f.sensitivity is not Sensitivity.SPECIAL and f.name != "customer_id"
    )


def special_fields(registry: FieldRegistry) -> frozenset[str]:
    """The customer fields of a special category, kept out of every template."""
    return frozenset(
        f.name for f in registry.table("customers").fields if f.sensitivity is Sensitivity.SPECIAL
    )


def customer_language(profile: Mapping[str, Any], registry: FieldRegistry, default: str) -> str:
    """The customer's language: a declared ``language`` (or ``locale``) attribute holding
    one Cible speaks (``fr``, ``fr-FR``, ``FR_ca``...), else ``default``."""
    declared = {f.name for f in registry.custom_fields if f.sensitivity is not Sensitivity.SPECIAL}
    for name in LANGUAGE_ATTRIBUTES:
        value = profile.get(name) if name in declared else None
        if isinstance(value, str):
            lang = re.split(r"[-_.@]", value.strip(), maxsplit=1)[0].lower()
            if lang in LANGUAGES:
                return lang
    return default


def present(row: Mapping[str, Any], leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """``row`` without missing values (None, NaN) and without the names ``leave_out``."""
    out = set(leave_out)
    return {
        key: value
        for key, value in row.items()
        if key not in out
        and value is not None
        and not (isinstance(value, float) and not math.isfinite(value))
    }


_BREAKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "hr"}
)
_LINES = frozenset({"br", "li", "tr"})
_HIDDEN = frozenset({"script", "style", "head", "title"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str | None] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BREAKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n- " if tag == "li" else "\n")
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith(("#", "javascript:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A plain-text version of an HTML message: paragraphs, list items, link targets."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

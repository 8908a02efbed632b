"""``ws.drafts``: segments kept half-built, to finish and publish later.

A draft keeps the builder's state as it was, valid or not: its form fields (the
condition tree written flat, docs/web.md), the id, names and dimension it gives, who
saved it and when. A draft is not a segment: no run computes it, no export or
automation sees it. Publishing it (``ws.segments.add`` of what it defines) is the
caller's step, which then removes the draft.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     draft = ws.drafts.save({"n.type": "group"}, author="ana", segment_id="vip")
...     again = ws.drafts.save({"n.type": "group", "n.mode": "any"}, author="bob",
...                            segment_id="vip", draft_id=draft.draft_id)
...     listed = [(d.draft_id, d.author, d.form["n.mode"]) for d in ws.drafts.list()]
...     removed = ws.drafts.remove(draft.draft_id), ws.drafts.list()
>>> listed, removed
([(1, 'bob', 'any')], (True, []))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.store.drafts import DraftRow, NewDraft
from cible.store.store import Store

#: Most form fields a draft keeps (a tree of a few hundred conditions).
MAX_FIELDS = 2000
#: Longest name of a field, and longest value.
MAX_KEY, MAX_VALUE = 200, 2000


@dataclass(frozen=True)
class Draft:
    """A saved draft: the builder's form fields and what they name."""

    draft_id: int
    segment_id: str
    name: dict[str, str]
    dimension: str
    form: dict[str, str]
    author: str
    saved_at: datetime

    def label(self, lang: str = "en") -> str:
        """Its name in ``lang``, else in the other language, else its id."""
        return self.name.get(lang) or next(iter(self.name.values()), "") or self.segment_id

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON."""
        return dict(self.__dict__)

    @classmethod
    def of(cls, row: DraftRow) -> Draft:
        """The draft a stored row holds."""
        names = {"en": row.name_en, "fr": row.name_fr}
        return cls(
            row.draft_id,
            row.segment_id,
            {lang: text for lang, text in names.items() if text},
            row.dimension,
            dict(row.form),
            row.author,
            row.saved_at,
        )


class DraftNotFoundError(CibleError):
    """No draft has the id given."""


class Drafts:
    """The segment drafts of one workspace (``ws.drafts``).

    Parameters
    ----------
    store : Store
        The workspace database.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def save(
        self,
        form: Mapping[str, str],
        *,
        author: str,
        segment_id: str = "",
        name: Mapping[str, str] | None = None,
        dimension: str = "",
        draft_id: int | None = None,
        saved_at: datetime | None = None,
    ) -> Draft:
        """Keep ``form`` (field -> text) as draft ``draft_id``, or as a new draft (also
        when draft ``draft_id`` is gone: ids are never reused).

        Nothing in it is checked against the segment language: a draft may be
        unfinished. Only its size is bounded.

        Parameters
        ----------
        saved_at : datetime, optional
            When the draft replaced was saved, as its editor read it: the draft is
            replaced only if nobody saved it since.

        Raises
        ------
        DraftChangedError
            When ``saved_at`` is given and draft ``draft_id`` was saved since.
        CibleError
            When the form has more than :data:`MAX_FIELDS` fields, or a field name or
            value is too long or not text.
        """
        kept = _checked(form)
        names = dict(name or {})
        row = NewDraft(
            segment_id=_text("id", segment_id),
            name_en=_text("name", names.get("en", "")),
            name_fr=_text("name", names.get("fr", "")),
            dimension=_text("dimension", dimension),
            form=kept,
            author=author,
            saved_at=utc_now(),
        )
        saved = self._store.save_draft(row, draft_id=draft_id, saved_at=saved_at)
        return self.get(saved)

    def get(self, draft_id: int) -> Draft:
        """Draft ``draft_id``.

        Raises
        ------
        DraftNotFoundError
            When there is none (published or deleted since, say).
        """
        row = self._store.draft(draft_id)
        if row is None:
            raise DraftNotFoundError(f"No draft {draft_id}: it was published or deleted.")
        return Draft.of(row)

    def list(self) -> list[Draft]:
        """Every draft, the latest saved first."""
        return [Draft.of(row) for row in self._store.list_drafts()]

    def remove(self, draft_id: int, *, saved_at: datetime | None = None) -> bool:
        """Delete draft ``draft_id``; whether it existed.

        Raises
        ------
        DraftChangedError
            When ``saved_at`` is given and the draft was saved at another moment.
        """
        return self._store.delete_draft(draft_id, saved_at=saved_at)


def _checked(form: Mapping[str, str]) -> dict[str, str]:
    if len(form) > MAX_FIELDS:
        raise CibleError(
            f"A draft keeps at most {MAX_FIELDS} fields; this one has {len(form)}: "
            "remove some conditions."
        )
    kept: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
            raise CibleError(f"A draft's field names have 1 to {MAX_KEY} characters.")
        kept[key] = _text(key, value)
    return kept


def _text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise CibleError(f"Draft field {what!r}: give text.")
    if len(value) > MAX_VALUE:
        raise CibleError(f"Draft field {what!r}: at most {MAX_VALUE} characters.")
    return value

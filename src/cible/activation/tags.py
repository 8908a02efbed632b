r"""Tags: labels people and automations put on customers, which segments can read.

A tag is defined once (name, colour, description saying when to use it, category),
checked against the naming convention of ``[tags]`` in ``cible.toml``, then set on
and removed from customers by imports (a ``tags`` column), the API, the CLI and
automations. Every change is kept in the ``customer_tags`` ledger with who made it,
how and when (:mod:`cible.store.tags`) and written to the outbox, so an automation
can start when a tag is added. The segment language reads tags with
``{tag: NAME, within_days: N}``.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = (Path(ws.path) / "c.csv").write_text("customer_id\nc1\nc2\n")
...     _ = ws.imports.load("customers", Path(ws.path) / "c.csv")
...     _ = ws.tags.define("hot-lead", colour="#d9480f", description="Visited pricing")
...     ws.tags.apply("hot-lead", ["c1", "c2"], actor="cli")
...     ws.tags.apply("hot-lead", ["c1"], actor="cli")   # already carried: no change
...     ws.tags.withdraw("hot-lead", ["c2"], actor="cli")
...     [(t.name, t.customers) for t in ws.tags.list()]
2
0
1
[('hot-lead', 1)]
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cible.domain.activation_settings import COLOUR, TagsSection, check_name
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.store.store import Store
from cible.store.tags import TagChange, TagRow

#: Sources of tag changes, kept in the ledger.
SOURCES = ("import", "api", "cli", "automation")
#: Separators of several tags in one cell of an imported ``tags`` column.
SEPARATORS = (";", ",", "|")


class TagError(CibleError):
    """A tag that cannot be created, renamed or set (unknown, badly named...)."""


@dataclass(frozen=True)
class TagInfo:
    """A tag with how many customers carry it now."""

    name: str
    colour: str | None
    description: str | None
    category: str | None
    created_by: str | None
    created_at: datetime | None
    customers: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return dict(self.__dict__)


class Tags:
    """Tag definitions and the tags customers carry.

    ``on_change`` (given by the workspace) is called with the customers whose tags
    changed, so that a served workspace re-evaluates their segments at once.
    """

    def __init__(
        self,
        store: Store,
        settings: TagsSection,
        on_change: Callable[[builtins.list[str]], object] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._on_change = on_change

    # -- definitions ----------------------------------------------------------------

    def define(
        self,
        name: str,
        *,
        colour: str | None = None,
        description: str = "",
        category: str | None = None,
        actor: str = "cli",
    ) -> TagRow:
        """Create the tag ``name``, or update its colour, description and category.

        Raises
        ------
        TagError
            When the name, colour or category breaks the naming convention.
        """
        try:
            check_name(name, "tag")
        except ValueError as exc:
            raise TagError(f"{exc}.") from None
        if colour is not None and not COLOUR.match(colour):
            raise TagError(f"Colour {colour!r} is not of the form #rrggbb.")
        self._check_convention(name, category)
        existing = self._find(name)
        row = TagRow(
            name=name,
            colour=colour if colour is not None else (existing.colour if existing else None),
            description=description or (existing.description if existing else "") or "",
            category=category
            if category is not None
            else (existing.category if existing else None),
            created_by=existing.created_by if existing else actor,
            created_at=existing.created_at if existing else utc_now(),
        )
        self._store.save_tag(row)
        return row

    def _check_convention(self, name: str, category: str | None) -> None:
        categories = self._settings.categories
        if category is None:
            if self._settings.require_category:
                raise TagError(
                    f"Tag {name!r} needs a category ({', '.join(categories) or 'any'}): "
                    "[tags] require_category is on in cible.toml."
                )
            return
        if not categories:
            return
        if category not in categories:
            raise TagError(
                f"Unknown tag category {category!r}: cible.toml declares {', '.join(categories)}."
            )
        prefix = categories[category].prefix
        if prefix and not name.startswith(prefix):
            raise TagError(
                f"Tag {name!r} must start with {prefix!r}, the prefix of category "
                f"{category!r} in cible.toml."
            )

    def _find(self, name: str) -> TagRow | None:
        return next((t for t in self._store.list_tags() if t.name == name), None)

    def get(self, name: str) -> TagInfo:
        """One tag with its count of customers.

        Raises
        ------
        TagError
            When there is no such tag.
        """
        found = next((t for t in self.list() if t.name == name), None)
        if found is None:
            raise TagError(self._unknown(name))
        return found

    def list(self) -> builtins.list[TagInfo]:
        """Every tag, by name, with how many customers carry it now."""
        counts = self._store.tag_carrier_counts()
        return [
            TagInfo(**t.__dict__, customers=counts.get(t.name, 0)) for t in self._store.list_tags()
        ]

    def history(self, name: str, *, limit: int = 20) -> builtins.list[dict[str, Any]]:
        """The latest changes of tag ``name`` (customer, action, when, who, how)."""
        ledger = self._store.table("customer_tags")
        rows: list[dict[str, Any]] = (
            ledger.filter(ledger.tag == name)
            .order_by(ledger.change_id.desc())
            .limit(limit)
            .select("customer_id", "action", "changed_at", "actor", "source")
            .to_pyarrow()
            .to_pylist()
        )
        return rows

    def rename(self, old: str, new: str) -> int:
        """Rename tag ``old`` to ``new`` in its definition and history; returns the changes moved.

        Segments that read ``old`` must be edited: they then match nobody.
        """
        existing = self._find(old)
        if existing is None:
            raise TagError(self._unknown(old))
        if self._find(new) is not None:
            raise TagError(f"Tag {new!r} already exists; choose another name.")
        ledger = self._store.table("customer_tags")
        if int(ledger.filter(ledger.tag == new).count().execute()):
            # A deleted tag's history would merge with this one's.
            raise TagError(f"Tag {new!r} was used before and has a history; choose another name.")
        try:
            check_name(new, "tag")
        except ValueError as exc:
            raise TagError(f"{exc}.") from None
        self._check_convention(new, existing.category)
        return self._store.rename_tag(old, new)

    def delete(self, name: str, *, actor: str = "cli", source: str = "cli") -> int:
        """Remove tag ``name`` from every customer, then its definition; returns the removals."""
        if self._find(name) is None:
            raise TagError(self._unknown(name))
        carriers = self.customers(name)
        removed = self.withdraw(name, carriers, actor=actor, source=source)
        self._store.delete_tag(name)
        return removed

    def _unknown(self, name: str) -> str:
        names = [t.name for t in self._store.list_tags()]
        return f"Unknown tag {name!r}" + (
            f"; the tags are {', '.join(names)}." if names else "; create it with `cible tags add`."
        )

    # -- customers ------------------------------------------------------------------

    def apply(
        self, name: str, customer_ids: Iterable[str], *, actor: str, source: str = "cli"
    ) -> int:
        """Set tag ``name`` on customers; returns how many did not carry it yet."""
        return self.change([TagChange(c, name, "added") for c in customer_ids], actor, source)

    def withdraw(
        self, name: str, customer_ids: Iterable[str], *, actor: str, source: str = "cli"
    ) -> int:
        """Remove tag ``name`` from customers; returns how many carried it."""
        return self.change([TagChange(c, name, "removed") for c in customer_ids], actor, source)

    def change(
        self, changes: Sequence[TagChange], actor: str, source: str, *, at: datetime | None = None
    ) -> int:
        """Record ``changes`` of known tags (those that change something); returns how many.

        Raises
        ------
        TagError
            When a tag is not defined, or a customer id is empty.
        """
        if source not in SOURCES:
            raise TagError(f"Unknown source {source!r} (one of {', '.join(SOURCES)}).")
        known = {t.name for t in self._store.list_tags()}
        for change in changes:
            if change.tag not in known:
                raise TagError(self._unknown(change.tag))
            if not change.customer_id:
                raise TagError("A customer id is empty; give the ids of existing customers.")
        unknown = self._store.unknown_customers(sorted({c.customer_id for c in changes}))
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise TagError(f"No customer {shown}{more} in this workspace; nothing was tagged.")
        done = self._store.record_tag_changes(
            changes, at=at or utc_now(), actor=actor, source=source
        )
        if done and self._on_change is not None:
            self._on_change(sorted({c.customer_id for c in changes}))
        return done

    def import_cells(self, cells: builtins.list[tuple[str, str]], *, actor: str = "cli") -> int:
        """Set the tags of imported ``tags`` cells (``a;b``), creating unknown tags.

        Tags are only added: a cell lists tags a customer has, not all they may carry.
        Names are lower-cased with hyphens for spaces; names the naming convention
        refuses and customers the import rejected are left out. Returns the tags set.
        """
        pairs = [(customer, name) for customer, cell in cells for name in split_cell(cell)]
        if not pairs:
            return 0
        known = {t.name for t in self._store.list_tags()}
        refused = set()
        for name in sorted({name for _, name in pairs} - known):
            try:
                self.define(name, description="Created by an import.", actor=actor)
            except TagError:  # against the naming convention: left out, rows stay
                refused.add(name)
        pairs = [(customer, name) for customer, name in pairs if name not in refused]
        missing = set(self._store.unknown_customers(sorted({c for c, _ in pairs})))
        changes = [TagChange(c, name, "added") for c, name in pairs if c not in missing]
        return self.change(changes, actor, "import") if changes else 0

    def customers(self, name: str) -> builtins.list[str]:
        """Ids of the customers carrying tag ``name`` now, sorted."""
        return self._store.tag_carriers(name)

    def of(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[str]]:
        """The tags each customer carries now."""
        return self._store.current_tags(customer_ids)


def split_cell(cell: str | None) -> builtins.list[str]:
    """The tag names of one ``tags`` cell of an import (``a;b``, ``a, b`` or ``a|b``).

    Examples
    --------
    >>> split_cell(" VIP; hot-lead ,Gold  member|vip")
    ['vip', 'hot-lead', 'gold-member']
    """
    if not cell:
        return []
    for separator in SEPARATORS[1:]:
        cell = cell.replace(separator, SEPARATORS[0])
    # Names as tags are written: lower case, words joined by hyphens.
    names = ("-".join(p.lower().split()) for p in cell.split(SEPARATORS[0]))
    return list(dict.fromkeys(name for name in names if name))

"""``identify`` traits into customer profiles, through the importer.

Segment's reserved traits (``email``, ``firstName``, ``address.postalCode``...) and
traits named like a customer field or a declared custom attribute become a
``customers`` row keyed by the ``userId``; ``updated_at`` is the message's timestamp,
so an identify older than the stored profile changes nothing (the importer's stale
rule). The rows are written as a JSON lines file and loaded by ``ws.imports.load``:
one code path, so a live profile is parsed, normalised (e-mail, E.164 phone, country,
postal code, name case), flagged or rejected exactly as an imported one, and its
problems are in the import's rejects. Traits with no customer field (``plan``,
``logins``) stay in the event's ``properties`` only.

Examples
--------
>>> segment_traits({"firstName": "anne", "address": {"postalCode": "75011"}, "plan": "pro"})
{'postal_code': '75011', 'first_name': 'anne'}
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.importing.imports import Imports
from cible.store.store import Store

#: Segment's reserved traits -> customer field (the spec's camelCase names).
RESERVED_TRAITS = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "lastName": "last_name",
    "birthday": "birth_date",
    "gender": "gender",
    "createdAt": "created_at",
}
#: Segment's ``address`` object -> customer field.
ADDRESS_TRAITS = {
    "postalCode": "postal_code",
    "city": "city",
    "state": "region",
    "country": "country",
}
#: Written by Cible, never taken from traits.
_OWN_FIELDS = frozenset({"customer_id", "updated_at"})
_FILE_NAME = "identify-traits.jsonl"


@dataclass(frozen=True)
class ProfileUpdate:
    """What identify traits did to the profiles.

    Attributes
    ----------
    import_ids : tuple of int
        The imports that loaded them (``ws.imports.rejects(import_id)`` lists problems).
    inserted, updated, unchanged, rejected, flagged : int
        Profile rows, as the importer counts them.
    """

    import_ids: tuple[int, ...] = ()
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    flagged: int = 0


def segment_traits(
    traits: Mapping[str, Any], custom: Iterable[str] = (), *, fields: Iterable[str] = ()
) -> dict[str, Any]:
    """Customer fields found in Segment ``traits``; other traits are left out.

    Reserved traits and ``address`` map to canonical fields; a trait spelt like a
    customer field (``postal_code``) or a custom attribute is taken as it is. A null
    trait is no value (it does not erase the stored one).
    """
    known = set(fields) | set(custom) | set(RESERVED_TRAITS.values())
    known |= set(ADDRESS_TRAITS.values())
    found: dict[str, Any] = {}
    address = traits.get("address")
    if isinstance(address, Mapping):
        for key, name in ADDRESS_TRAITS.items():
            found[name] = address.get(key)
    for key, value in traits.items():
        name = RESERVED_TRAITS.get(key, key)
        if name in known and name not in _OWN_FIELDS:
            found[name] = value
    return {name: value for name, value in found.items() if value is not None}


def update_profiles(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    identifies: list[tuple[str, Mapping[str, Any], datetime]],
) -> ProfileUpdate:
    """Load the customer fields of ``(user_id, traits, timestamp)`` through the importer.

    Several identifies of one customer merge in time order (later traits win). The
    importer rejects a file's repeated keys and reads a missing value as empty, so
    rows go in one import per set of fields given, each customer once.
    """
    customers = registry.table("customers")
    custom = [f.name for f in registry.custom_fields]
    merged: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for user_id, traits, timestamp in sorted(identifies, key=lambda item: item[2]):
        values = segment_traits(traits, custom, fields=customers.names)
        earlier = merged.get(user_id, (timestamp, {}))[1]
        merged[user_id] = (timestamp, {**earlier, **values})
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for user_id, (timestamp, values) in merged.items():
        row = {"customer_id": user_id, **values, "updated_at": timestamp.isoformat()}
        groups.setdefault(tuple(sorted(values)), []).append(row)
    update = ProfileUpdate()
    imports = Imports(store, registry, config)
    for rows in groups.values():
        with tempfile.TemporaryDirectory(prefix="cible-identify-") as folder:
            path = Path(folder) / _FILE_NAME
            path.write_text(
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                encoding="utf-8",
            )
            result = imports.load("customers", path)
        update = ProfileUpdate(
            import_ids=(*update.import_ids, result.import_id),
            inserted=update.inserted + result.inserted,
            updated=update.updated + result.updated,
            unchanged=update.unchanged + result.unchanged,
            rejected=update.rejected + result.rejected,
            flagged=update.flagged + result.flagged,
        )
    return update

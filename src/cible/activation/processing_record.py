"""The record of processing activities (GDPR art. 30), generated from the workspace.

Nothing in it is typed by hand: the data held comes from the field registry (each
field's category, sensitivity and legal basis) and the tables' row counts; purposes
from the consent ledger; the processing from the stored segments (the fields, traits,
events and consents each rule reads, found by walking its conditions), clusterings
(the features their model was fitted on), automations and campaigns (the segments,
templates and webhooks they name); recipients from ``[webhooks]`` and ``[email]``;
retention from ``[privacy]``. Generating it again after a change keeps it true.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     record = ws.privacy_access.record()
>>> record["retention"]
{'prospect_days': 1095, 'customer_inactive_days': 1825}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CONSENT_STATUSES, Sensitivity
from cible.features.consent import current_consents
from cible.store.store import Store

#: Keys of a rule segment's conditions, and the heading each lands under.
_RULE_KEYS = {
    "trait": "traits",
    "attribute": "attributes",
    "consent": "consents",
    "event": "events",
    "tag": "tags",
    "in_segment": "segments",
}
#: Keys naming a segment, a template or a webhook in automations and campaigns.
_ACTIVATION_KEYS = {
    "segment": "segments",
    "segment_id": "segments",
    "segments": "segments",
    "in_segment": "segments",
    "template": "templates",
    "webhook": "webhooks",
}


def build_record(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    catalog: Callable[[], dict[str, dict[str, Any]]],
    rules: Callable[[], list[dict[str, Any]]],
) -> dict[str, Any]:
    """The record of processing of one workspace, as JSON-ready data.

    Returns
    -------
    dict
        ``generated_at``, ``workspace``; ``data`` (per table: ``rows`` and ``fields``
        with category, sensitivity, legal basis); ``purposes`` (per channel and
        purpose, customers whose current consent is granted, denied, withdrawn, and
        the ledger's records); ``segments`` (each with what it reads); ``clusterings``;
        ``automations``; ``campaigns``; ``recipients`` (webhooks, SMTP);
        ``retention``; ``special_fields`` (with their legal basis or None).
    """
    return {
        "generated_at": utc_now(),
        "workspace": config.workspace.name,
        "data": _data(store, registry),
        "purposes": _purposes(store),
        "segments": _segments(catalog(), rules()),
        "clusterings": _clusterings(store),
        "automations": [
            {"id": row.automation_id, "status": row.status, **_named(row.definition)}
            for row in store.list_automations()
        ],
        "campaigns": [
            {"id": row.campaign_id, "status": row.status, **_named(row.definition)}
            for row in store.list_campaigns()
        ],
        "recipients": {
            "webhooks": [
                {
                    "name": name,
                    "url": hook.url,
                    "personal_data": hook.personal_data,
                    "channel": hook.channel,
                    "purpose": hook.purpose,
                }
                for name, hook in sorted(config.webhooks.items())
            ],
            "smtp": {
                "host": config.email.host,
                "port": config.email.port,
                "sender": config.email.sender,
                "security": config.email.security,
            },
        },
        "retention": config.privacy.model_dump(include={"prospect_days", "customer_inactive_days"}),
        "special_fields": [
            {"table": table.name, "field": field.name, "legal_basis": field.legal_basis}
            for table, field in registry.fields()
            if field.sensitivity is Sensitivity.SPECIAL
        ]
        # Product categories that reveal art. 9 data by deduction (a pharmacy: health).
        + [
            {
                "table": "products",
                "field": f"category = {name} ({flagged.reveals})",
                "legal_basis": flagged.legal_basis or None,
            }
            for name, flagged in sorted(config.privacy.special_categories.items())
        ],
    }


def _data(store: Store, registry: FieldRegistry) -> list[dict[str, Any]]:
    found = []
    for table in registry.tables():
        fields = [
            {
                "name": f.name,
                "category": f.category.value,
                "sensitivity": f.sensitivity.value,
                "legal_basis": f.legal_basis,
                "description": f.description,
            }
            for f in table.fields
        ]
        rows = int(store.table(table.name).count().execute())
        found.append({"table": table.name, "rows": rows, "fields": fields})
    return found


def _purposes(store: Store) -> list[dict[str, Any]]:
    ledger = store.table("consents")
    records = {
        (r["channel"], r["purpose"]): int(r["records"])
        for r in ledger.group_by(["channel", "purpose"])
        .aggregate(records=ledger.count())
        .to_pyarrow()
        .to_pylist()
    }
    current = current_consents(ledger)
    counts = (
        current.group_by(["channel", "purpose", "status"])
        .aggregate(customers=current.customer_id.nunique())
        .to_pyarrow()
        .to_pylist()
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in counts:
        key = (row["channel"], row["purpose"])
        entry = found.setdefault(
            key,
            {
                "channel": key[0],
                "purpose": key[1],
                **dict.fromkeys(CONSENT_STATUSES, 0),
                "records": records.get(key, 0),
            },
        )
        entry[row["status"]] = int(row["customers"])
    return [found[key] for key in sorted(found)]


def _segments(
    catalog: dict[str, dict[str, Any]], rules: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    reads = {rule["id"]: _rule_reads(rule.get("where", {})) for rule in rules}
    return [
        {
            "id": segment_id,
            "kind": about.get("kind"),
            "dimension": about.get("dimension"),
            "name": about.get("name", {}),
            "reads": reads.get(segment_id, {}),
        }
        for segment_id, about in catalog.items()
    ]


def _rule_reads(where: Any) -> dict[str, list[str]]:
    """What a rule's conditions read: traits, attributes, consents, events, tags, segments."""
    found: dict[str, set[str]] = {}
    for key, value in _pairs(where):
        if key in _RULE_KEYS and isinstance(value, str):
            found.setdefault(_RULE_KEYS[key], set()).add(value)
    return {heading: sorted(names) for heading, names in sorted(found.items())}


def _named(definition: str) -> dict[str, list[str]]:
    """The segments, templates and webhooks an automation or campaign definition names."""
    found: dict[str, set[str]] = {heading: set() for heading in _ACTIVATION_KEYS.values()}
    for key, value in _pairs(json.loads(definition)):
        if key not in _ACTIVATION_KEYS:
            continue
        names = value if isinstance(value, list) else [value]
        found[_ACTIVATION_KEYS[key]].update(n for n in names if isinstance(n, str))
    return {heading: sorted(names) for heading, names in found.items()}


def _pairs(data: Any) -> Iterator[tuple[str, Any]]:
    """Every ``(key, value)`` of nested mappings and lists, depth first."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key), value
            yield from _pairs(value)
    elif isinstance(data, list):
        for item in data:
            yield from _pairs(item)


def _clusterings(store: Store) -> list[dict[str, Any]]:
    models = store.table("models")
    rows = (
        models.filter(models.kind == "cluster")
        .select("model_id", "created_at", "card")
        .order_by("model_id")
        .to_pyarrow()
        .to_pylist()
    )
    found = []
    for row in rows:
        raw = row["card"] or "{}"
        card = raw if isinstance(raw, dict) else json.loads(raw)
        features = card.get("traits", [])  # what the model was fitted on
        found.append(
            {
                "model_id": row["model_id"],
                "dimension": card.get("dimension"),
                "created_at": row["created_at"],
                "features": list(features) if isinstance(features, list) else [],
            }
        )
    return found

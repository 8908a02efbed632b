"""The automation editor's form, to and from the automation language.

The trigger is a set of plain fields (its kind, then the segment, tag, event or
date it names); the steps and the goal are written in the language itself (YAML, as
in docs/activation.md), since branches nest. :func:`definition` builds the mapping
that ``ws.automations.validate`` checks, so the language's rules are written once,
there; :func:`field_of` says which field a message's path (``trigger.segment:
unknown segment``) names, so the page shows it next to that field.

Examples
--------
>>> definition({"id": "greet", "trigger_kind": "tag", "trigger_tag": "vip",
...             "trigger_tag_on": "added", "steps": "- add_tag: greeted"})
({'id': 'greet', 'trigger': {'tag': 'vip', 'on': 'added'}, 'steps': [{'add_tag': 'greeted'}], 'reentry': 'always'}, {})
>>> field_of("trigger.segment: unknown segment 'vp' (known: vip)")
'trigger_segment'
>>> field_of("steps[2].branch.if: expected a condition"), field_of("a mapping")
('steps', None)
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

#: Kinds of trigger, in the order the form offers them.
TRIGGER_KINDS = ("segment", "tag", "event", "date")
#: Where a message about a path of the definition is shown: the longest prefix wins.
_FIELDS = {
    "id": "id",
    "name": "name_en",
    "name.fr": "name_fr",
    "description": "description",
    "trigger": "trigger_kind",
    "trigger.segment": "trigger_segment",
    "trigger.tag": "trigger_tag",
    "trigger.event": "trigger_event_where",
    "trigger.event.type": "trigger_event_type",
    "trigger.event.name": "trigger_event_name",
    "trigger.date": "trigger_date",
    "trigger.offset_days": "trigger_offset_days",
    "trigger.yearly": "trigger_date",
    "steps": "steps",
    "goal": "goal",
    "reentry": "reentry",
    "reentry_days": "reentry_days",
}
_PATH = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): ")


def definition(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The automation the form describes, and the messages of fields that are not
    even YAML (keyed by field name); the language checks the rest."""
    problems: dict[str, str] = {}

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    def parsed(name: str) -> Any:
        source = text(name)
        if not source:
            return None
        try:
            return yaml.safe_load(source)
        except yaml.YAMLError as exc:
            problems[name] = f"not valid YAML: {str(exc).splitlines()[0]}"
            return None

    found: dict[str, Any] = {"id": text("id")}
    names = {lang: text(f"name_{lang}") for lang in ("en", "fr") if text(f"name_{lang}")}
    if names:
        found["name"] = names
    if text("description"):
        found["description"] = text("description")
    found["trigger"] = _trigger(form, text, parsed)
    found["steps"] = parsed("steps")
    goal = parsed("goal")
    if goal is not None:
        found["goal"] = goal
    found["reentry"] = text("reentry") or "always"
    if text("reentry_days"):
        found["reentry_days"] = text("reentry_days")
    return found, problems


def _trigger(form: Mapping[str, Any], text: Any, parsed: Any) -> dict[str, Any]:
    kind = text("trigger_kind")
    if kind == "segment":
        return {"segment": text("trigger_segment"), "on": text("trigger_segment_on") or "entered"}
    if kind == "tag":
        return {"tag": text("trigger_tag"), "on": text("trigger_tag_on") or "added"}
    if kind == "event":
        event: dict[str, Any] = {}
        if text("trigger_event_type"):
            event["type"] = text("trigger_event_type")
        if text("trigger_event_name"):
            event["name"] = text("trigger_event_name")
        where = parsed("trigger_event_where")
        if where is not None:
            event["where"] = where
        return {"event": event}
    if kind == "date":
        dated: dict[str, Any] = {"date": text("trigger_date")}
        if text("trigger_offset_days"):
            dated["offset_days"] = text("trigger_offset_days")
        dated["yearly"] = bool(form.get("trigger_yearly"))
        return dated
    return {}


def form_of(stored: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields for a stored definition (to edit it)."""
    trigger = dict(stored.get("trigger") or {})
    name = stored.get("name") or {}
    form = {
        "id": str(stored.get("id", "")),
        "name_en": str(name.get("en") or ""),
        "name_fr": str(name.get("fr") or ""),
        "description": str(stored.get("description") or ""),
        "steps": _yaml(stored.get("steps")),
        "goal": _yaml(stored.get("goal")),
        "reentry": str(stored.get("reentry") or "always"),
        "reentry_days": str(stored.get("reentry_days") or ""),
    }
    kind = next((k for k in TRIGGER_KINDS if k in trigger), "segment")
    form["trigger_kind"] = kind
    if kind == "segment":
        form.update(
            trigger_segment=trigger["segment"], trigger_segment_on=trigger.get("on", "entered")
        )
    elif kind == "tag":
        form.update(trigger_tag=trigger["tag"], trigger_tag_on=trigger.get("on", "added"))
    elif kind == "event":
        event = trigger["event"]
        form.update(
            trigger_event_type=str(event.get("type") or ""),
            trigger_event_name=str(event.get("name") or ""),
            trigger_event_where=_yaml(event.get("where")),
        )
    else:
        form.update(
            trigger_date=trigger["date"],
            trigger_offset_days=str(trigger.get("offset_days", "")),
            trigger_yearly="on" if trigger.get("yearly") else "",
        )
    return form


def _yaml(value: Any) -> str:
    if value is None:
        return ""
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=88)


def field_of(message: str, kind: str = "") -> str | None:
    """The form field a message of the language names by its path, if any (``kind``:
    the trigger's, whose ``on`` field it is)."""
    found = _PATH.match(message)
    if found is None:
        return None
    path = re.sub(r"\[\d+\]", "", found.group(1))
    if path == "trigger.on" and kind in TRIGGER_KINDS:
        return f"trigger_{kind}_on"
    parts = path.split(".")
    for size in range(len(parts), 0, -1):
        field = _FIELDS.get(".".join(parts[:size]))
        if field is not None:
            return field
    return None

"""The segment builder's form: a condition tree written as flat form fields, and back.

A browser posts the whole tree on every change (htmx), the server turns it into a
definition of the segment language (docs/segments.md), previews it, and renders the
form again: no client-side state, and the definition a person builds is exactly the
one ``cible segments add`` would take.

Each node of the tree has a path (``n``, ``n.0``, ``n.0.1``...); its fields are
``<path>.<name>``: ``type`` (``group``, ``trait``, ``attribute``, ``event``, ``tag``,
``consent``), ``not`` (negated), and per type ``mode`` (``all``/``any``), ``field``,
``op``, ``value``, ``event``, ``count_op``, ``count``, ``within_days``, ``tag``,
``channel``, ``purpose``, ``status``. An ``action`` button adds or removes a node.

Examples
--------
>>> form = {"n.type": "group", "n.mode": "all",
...         "n.0.type": "trait", "n.0.field": "frequency", "n.0.op": ">=", "n.0.value": "2",
...         "n.1.type": "event", "n.1.event": "product_viewed", "n.1.count_op": ">=",
...         "n.1.count": "3", "n.1.within_days": "30", "n.1.not": "on"}
>>> tree = parse_tree(form)
>>> where(tree, {"frequency": "int64"})
{'all': [{'trait': 'frequency', 'op': '>=', 'value': 2}, {'not': {'event': 'product_viewed', 'count': {'op': '>=', 'value': 3}, 'within_days': 30}}]}
>>> [child["path"] for child in apply_action(tree, "add:n")["children"]]
['n.0', 'n.1', 'n.2']
"""  # noqa: E501

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

#: Kinds of node a person may add.
KINDS = ("trait", "attribute", "event", "tag", "consent", "group")
_INDEX = re.compile(r"^(?P<parent>.+)\.(?P<index>\d+)\.type$")
_NUMERIC = ("int", "float", "decimal")
#: The form's fields beside the tree: what the segment is called and where it goes.
IDENTITY = ("id", "name_en", "name_fr", "dimension")
_FIELD = re.compile(r"^n(?:\.\d{1,4})*\.[a-z_]{1,20}$")


def parse_tree(form: Mapping[str, Any], path: str = "n") -> dict[str, Any]:
    """The node at ``path`` of the posted form (a fresh ``all`` group when absent)."""
    kind = str(form.get(f"{path}.type") or "group")
    node: dict[str, Any] = {"path": path, "type": kind, "not": bool(form.get(f"{path}.not"))}
    fields = (
        "mode",
        "field",
        "op",
        "value",
        "event",
        "count_op",
        "count",
        "within_days",
        "tag",
        "channel",
        "purpose",
        "status",
    )
    for name in fields:
        node[name] = str(form.get(f"{path}.{name}", "") or "").strip()
    if kind == "group":
        node["mode"] = node["mode"] if node["mode"] in ("all", "any") else "all"
        indexes = sorted(
            int(m.group("index"))
            for key in form
            if (m := _INDEX.match(key)) and m.group("parent") == path
        )
        node["children"] = [parse_tree(form, f"{path}.{i}") for i in indexes]
    return _renumbered(node) if path == "n" else node


def draft_fields(form: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a posted form that hold the builder's state: the segment's id,
    names and dimension, and the tree's ``n...`` fields (no token, no button).

    Examples
    --------
    >>> draft_fields({"csrf_token": "t", "action": "draft", "id": "vip", "n.0.op": ">="})
    {'id': 'vip', 'n.0.op': '>='}
    """
    return {key: str(value) for key, value in form.items() if key in IDENTITY or _FIELD.match(key)}


def apply_action(tree: dict[str, Any], action: str) -> dict[str, Any]:
    """The tree after ``add:<path>`` (a condition in that group), ``group:<path>`` (a
    nested group) or ``remove:<path>``; anything else leaves it as it is."""
    verb, _, path = action.partition(":")
    changed = copy.deepcopy(tree)
    if verb in ("add", "group"):
        parent = _find(changed, path)
        if parent is not None and parent["type"] == "group":
            fresh = parse_tree({}, f"{path}.{len(parent['children'])}")
            if verb == "add":
                fresh = {**fresh, "type": "trait", "op": ">="}
                fresh.pop("children", None)
            parent["children"].append(fresh)
    elif verb == "remove" and path != "n":
        parent = _find(changed, path.rpartition(".")[0])
        if parent is not None:
            parent["children"] = [c for c in parent["children"] if c["path"] != path]
    return _renumbered(changed)


def where(node: dict[str, Any], traits: Mapping[str, str]) -> dict[str, Any]:
    """The segment language's condition for ``node`` (``traits``: name -> dtype)."""
    kind = node["type"]
    built: dict[str, Any]
    if kind == "group":
        built = {node["mode"]: [where(child, traits) for child in node["children"]]}
    elif kind in ("trait", "attribute"):
        built = {kind: node["field"], "op": node["op"] or "="}
        if built["op"] not in ("is_null", "not_null"):
            numeric = kind == "trait" and traits.get(node["field"], "").startswith(_NUMERIC)
            built["value"] = _value(node["value"], built["op"], numeric)
    elif kind == "event":
        built = {"event": node["event"]}
        if node["count"]:
            built["count"] = {"op": node["count_op"] or ">=", "value": _number(node["count"])}
        if node["within_days"]:
            built["within_days"] = _number(node["within_days"])
    elif kind == "tag":
        built = {"tag": node["tag"]}
        if node["within_days"]:
            built["within_days"] = _number(node["within_days"])
    else:
        built = {
            "consent": node["channel"] or "email",
            "purpose": node["purpose"] or "marketing",
            "status": node["status"] or "granted",
        }
    return {"not": built} if node["not"] else built


def _value(text: str, op: str, numeric: bool) -> Any:
    if op in ("in", "not_in", "between"):
        # Semicolons separate: a comma is the French decimal mark (99,5).
        parts = [p.strip() for p in text.split(";") if p.strip()]
        return [_number(p) if numeric else p for p in parts]
    return _number(text) if numeric else text


def _number(text: str) -> Any:
    """A whole or decimal number written with ``.`` or ``,``; the text when it is none
    (the definition's validation then says why, next to the condition)."""
    cleaned = text.replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in cleaned else value


def _find(node: dict[str, Any], path: str) -> dict[str, Any] | None:
    if node["path"] == path:
        return node
    for child in node.get("children", []):
        found = _find(child, path)
        if found is not None:
            return found
    return None


def _renumbered(node: dict[str, Any], path: str = "n") -> dict[str, Any]:
    node["path"] = path
    for i, child in enumerate(node.get("children", [])):
        _renumbered(child, f"{path}.{i}")
    return node


def error_path(message: str, tree: dict[str, Any]) -> str | None:
    """The node path a validation message names (``where.all[1].value: ...`` -> ``n.1``)."""
    found = re.match(r"^where((?:\.(?:all|any)\[\d+\]|\.not)*)", message)
    if not found:
        return None
    path = "n"
    node: dict[str, Any] | None = tree
    for step in re.findall(r"\.(all|any)\[(\d+)\]|\.(not)", found.group(1)):
        if step[2] or node is None:
            continue  # a `not` wraps the node itself: same path
        path = f"{path}.{step[1]}"
        node = _find(tree, path)
    return path if node is not None else None

"""Size limits of a segment definition, checked before anything else reads it.

Definitions come from users, files and HTTP requests. Capping nesting and size
before validation keeps a hostile or accidental definition (a YAML alias bomb, ten
thousand nested ``not``) from costing more than a glance, and keeps the compiled
query a size every backend plans quickly.

Examples
--------
>>> check_shape({"not": {"not": {"in_segment": "vip"}}}) is None
True
>>> deep = {"in_segment": "vip"}
>>> for _ in range(8):
...     deep = {"not": deep}
>>> check_shape(deep)
('where.not.not.not.not.not.not.not.not', 'too deep: conditions nest at most 8 levels')
"""

from __future__ import annotations

from collections.abc import Mapping

#: Levels of nested conditions; ``where`` itself is level 1.
MAX_DEPTH = 8
#: Conditions and event property filters in one definition.
MAX_NODES = 200
#: Values in one list (``in``, ``not_in``).
MAX_LIST = 1000
#: Characters in any one string.
MAX_STRING = 500


def check_shape(where: object, path: str = "where") -> tuple[str, str] | None:
    """Return ``(path, reason)`` for the first limit ``where`` exceeds, else None.

    Only the nesting keys (``all``, ``any``, ``not`` and an event's ``where``) are
    followed; whatever else is malformed is left to validation, which runs once the
    shape is known to be small.
    """
    nodes = 0
    # Iterative walk: the input may be nested deeper than Python's recursion limit.
    stack: list[tuple[object, str, int]] = [(where, path, 1)]
    while stack:
        node, at, depth = stack.pop()
        if not isinstance(node, Mapping):
            continue
        nodes += 1 + _property_filters(node)
        if nodes > MAX_NODES:
            return at, f"too many conditions: a definition holds at most {MAX_NODES}"
        if depth > MAX_DEPTH:
            return at, f"too deep: conditions nest at most {MAX_DEPTH} levels"
        for key in ("all", "any"):
            children = node.get(key)
            if isinstance(children, list | tuple):
                if len(children) > MAX_NODES:
                    return (
                        f"{at}.{key}",
                        f"too many conditions: a definition holds at most {MAX_NODES}",
                    )
                # Reversed so that the first child is reported first.
                for index in reversed(range(len(children))):
                    stack.append((children[index], f"{at}.{key}[{index}]", depth + 1))
        if "not" in node:
            stack.append((node["not"], f"{at}.not", depth + 1))
    return None


def _property_filters(node: Mapping[object, object]) -> int:
    """How many property filters an event condition holds (they count as nodes)."""
    where = node.get("where") if "event" in node else None
    if not isinstance(where, Mapping):
        return 0
    group = where.get("all")
    return len(group) if isinstance(group, list | tuple) else 1

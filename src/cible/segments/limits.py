"""Size limits of a segment definition, checked before anything else reads it.

Definitions come from users, files and HTTP requests. Capping nesting and size
before validation keeps a hostile or accidental definition (a YAML alias bomb, ten
thousand nested ``not``) from costing more than a glance, and keeps the compiled
query a size every backend plans quickly: a definition is evaluated at every run, so
its cost is paid again and again, whatever the size of the data.

Examples
--------
>>> check_shape({"not": {"not": {"in_segment": "vip"}}}) is None
True
>>> deep = {"in_segment": "vip"}
>>> for _ in range(8):
...     deep = {"not": deep}
>>> check_shape(deep)
('where.not.not.not.not.not.not.not.not', 'too deep: conditions nest at most 8 levels')
>>> check_shape({"any": [{"trait": "t", "op": "in", "value": list(range(1000))}] * 11})
('where.any[10].value', 'too many values: the lists of a definition hold at most 10000 values in all, this one holds 11000')
"""  # noqa: E501

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
#: Values of all the lists of one definition together (``in``, ``not_in``, ``between``).
MAX_LIST_VALUES = 10_000
#: Bytes of a definition's YAML or JSON text (UTF-8).
MAX_SOURCE_BYTES = 256_000
#: Conditions counted, at most, to say how many a refused definition holds: a YAML
#: alias bomb expands to far more, and counting stops there.
_COUNT_BUDGET = 10_000


def check_shape(where: object, path: str = "where") -> tuple[str, str] | None:
    """Return ``(path, reason)`` for the first limit ``where`` exceeds, else None.

    Only the nesting keys (``all``, ``any``, ``not`` and an event's ``where``) are
    followed; whatever else is malformed is left to validation, which runs once the
    shape is known to be small. Reasons name the limit and how much the definition
    holds.
    """
    nodes = values = 0
    too_many: str | None = None
    # Iterative walk: the input may be nested deeper than Python's recursion limit.
    stack: list[tuple[object, str, int]] = [(where, path, 1)]
    while stack:
        node, at, depth = stack.pop()
        if not isinstance(node, Mapping):
            continue
        nodes += 1 + _property_filters(node)
        if too_many is None and nodes > MAX_NODES:
            too_many = at
        if too_many is not None:
            if nodes > _COUNT_BUDGET:
                return too_many, _too_many_conditions(f"more than {_COUNT_BUDGET}")
        elif depth > MAX_DEPTH:
            return at, f"too deep: conditions nest at most {MAX_DEPTH} levels"
        else:
            values += _list_values(node)
            if values > MAX_LIST_VALUES:
                return f"{at}.value", _too_many_values(values, stack)
        for key in ("all", "any"):
            children = node.get(key)
            if isinstance(children, list | tuple):
                if len(children) > MAX_NODES:
                    return (
                        f"{at}.{key}",
                        _too_many_conditions(f"{len(children)} in this list alone"),
                    )
                # Reversed so that the first child is reported first.
                for index in reversed(range(len(children))):
                    stack.append((children[index], f"{at}.{key}[{index}]", depth + 1))
        if "not" in node:
            stack.append((node["not"], f"{at}.not", depth + 1))
    if too_many is not None:
        return too_many, _too_many_conditions(str(nodes))
    return None


def _too_many_conditions(held: str) -> str:
    return f"too many conditions: a definition holds at most {MAX_NODES}, this one holds {held}"


def _too_many_values(counted: int, rest: list[tuple[object, str, int]]) -> str:
    """The reason for too many list values, counting those of the nodes not yet walked."""
    pending = [node for node, _, _ in rest]
    visited = 0
    while pending and visited < _COUNT_BUDGET:
        node = pending.pop()
        visited += 1
        if isinstance(node, Mapping):
            counted += _list_values(node)
            pending.extend(c for key in ("all", "any") for c in _items(node.get(key)))
            if "not" in node:
                pending.append(node["not"])
    held = f"more than {counted}" if pending else str(counted)
    return (
        f"too many values: the lists of a definition hold at most {MAX_LIST_VALUES} values "
        f"in all, this one holds {held}"
    )


def _items(value: object) -> list[object] | tuple[object, ...]:
    return value if isinstance(value, list | tuple) else ()


def _list_values(node: Mapping[object, object]) -> int:
    """How many values the lists of a condition and of its property filters hold."""
    count = len(_items(node.get("value")))
    where = node.get("where") if "event" in node else None
    if isinstance(where, Mapping):
        group = where.get("all")
        filters = group if isinstance(group, list | tuple) else (where,)
        count += sum(len(_items(f.get("value"))) for f in filters if isinstance(f, Mapping))
    return count


def _property_filters(node: Mapping[object, object]) -> int:
    """How many property filters an event condition holds (they count as nodes)."""
    where = node.get("where") if "event" in node else None
    if not isinstance(where, Mapping):
        return 0
    group = where.get("all")
    return len(group) if isinstance(group, list | tuple) else 1

"""Which segments a definition reads, and an order that evaluates each after those.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> from cible.segments.definition import Vocabulary, parse_definition
>>> v = Vocabulary({}, FieldRegistry(WorkspaceConfig()), segments={"a", "b"})
>>> a = parse_definition({"id": "a", "name": "A", "where": {"consent": "email"}}, v)
>>> b = parse_definition({"id": "b", "name": "B", "where": {"in_segment": "a"}}, v)
>>> dependencies(b)
{'a'}
>>> evaluation_order([b, a])
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Iterable
from graphlib import CycleError, TopologicalSorter

from cible.segments.conditions import InSegmentCondition, walk
from cible.segments.definition import SegmentDefinition, SegmentDefinitionError


def dependencies(definition: SegmentDefinition) -> set[str]:
    """Ids of the segments ``definition`` refers to with ``in_segment``."""
    return {
        node.in_segment for node in walk(definition.where) if isinstance(node, InSegmentCondition)
    }


def evaluation_order(definitions: Iterable[SegmentDefinition]) -> list[str]:
    """Ids of ``definitions``, each after the segments it refers to.

    Segments referred to but not among ``definitions`` (static lists, segments
    evaluated elsewhere) are taken as already known and left out. Ties keep the
    order given.

    Raises
    ------
    SegmentDefinitionError
        When an id appears twice, or when segments refer to each other in a cycle
        (the message names it: ``a -> b -> a``).
    """
    graph: dict[str, set[str]] = {}
    for definition in definitions:
        if definition.id in graph:
            raise SegmentDefinitionError(f"id: segment {definition.id!r} is defined twice")
        graph[definition.id] = dependencies(definition)
    sorter = TopologicalSorter({key: deps & graph.keys() for key, deps in graph.items()})
    try:
        return list(sorter.static_order())
    except CycleError as exc:
        # graphlib lists the cycle backwards (each node before the one it needs).
        cycle = list(reversed(exc.args[1]))
        raise SegmentDefinitionError(
            f"segments refer to each other in a cycle: {' -> '.join(cycle)}"
        ) from None

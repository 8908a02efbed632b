"""Segments: the definition language, its validation and its compilation to Ibis.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> from cible.segments import Vocabulary, parse_definition
>>> vocabulary = Vocabulary({"recency_days": "float64"}, FieldRegistry(WorkspaceConfig()))
>>> parse_definition("id: lapsed\\nname: Lapsed\\nwhere: {trait: recency_days, op: '>', "
...                  "value: 90}", vocabulary).where.value
90
"""

from cible.segments.compiler import compile_members, compile_predicate
from cible.segments.definition import (
    LocalizedText,
    Problem,
    SegmentDefinition,
    SegmentDefinitionError,
    parse_definition,
)
from cible.segments.dependencies import dependencies, evaluation_order
from cible.segments.vocabulary import Vocabulary

__all__ = [
    "LocalizedText",
    "Problem",
    "SegmentDefinition",
    "SegmentDefinitionError",
    "Vocabulary",
    "compile_members",
    "compile_predicate",
    "dependencies",
    "evaluation_order",
    "parse_definition",
]

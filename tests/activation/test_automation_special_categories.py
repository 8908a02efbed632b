"""Automation event triggers may not target a product category flagged as
special-category data, by its name or by a fragment of it (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.activation.automation_definition import AutomationError
from cible.domain.config import WorkspaceConfig

FLAGGED = {
    "pharmacy": {"reveals": "health"},
    "Halal food": {"reveals": "religion", "legal_basis": "explicit consent (art. 9(2)(a))"},
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    config = WorkspaceConfig.model_validate(
        {"workspace": {"name": "shop"}, "privacy": {"special_categories": FLAGGED}}
    )
    with Workspace.create(tmp_path / "shop", config=config) as opened:
        yield opened


def _viewed(*where: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "viewers",
        "trigger": {"event": {"name": "product_viewed", "where": list(where)}},
        "steps": [{"end": True}],
    }


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        ({"property": "category", "op": "=", "value": " Pharmacy"}, "'Pharmacy' is a product"),
        ({"property": "category", "op": "in", "value": ["toys", "PHARMACY"]}, "'PHARMACY' is"),
        ({"property": "category", "op": "!=", "value": "pharmacy"}, "'pharmacy' is"),
        ({"property": "category", "op": "contains", "value": "pharm"}, "'pharm' (contains)"),
        ({"property": "category", "op": "contains", "value": "RMAC"}, "'RMAC' (contains)"),
        ({"property": "category", "op": "not_contains", "value": "harm"}, "(not_contains)"),
        ({"property": "category", "op": "starts_with", "value": "Phar"}, "(starts_with)"),
        ({"property": "category", "op": "ends_with", "value": "acy"}, "(ends_with)"),
    ],
)
def test_a_flagged_category_or_a_fragment_of_it_is_refused(
    ws: Workspace, test: dict[str, Any], reason: str
) -> None:
    source = _viewed({"property": "url", "op": "contains", "value": "/shop"}, test)
    with pytest.raises(AutomationError) as refused:
        ws.automations.add(source)
    message = str(refused.value)
    assert message.startswith("trigger.event.where[1].value: ")
    assert reason in message and "special-category data (health)" in message
    assert "[privacy.special_categories]" in message
    assert ws.automations.list() == []


@pytest.mark.parametrize(
    "test",
    [
        # Not where the operator looks: "macy" does not start "pharmacy".
        {"property": "category", "op": "starts_with", "value": "macy"},
        {"property": "category", "op": "ends_with", "value": "pharm"},
        # Longer than the flagged name: these match other categories, not pharmacy.
        {"property": "category", "op": "contains", "value": "pharmacy-free toys"},
        {"property": "category", "op": "=", "value": "toys"},
        # A flagged category with a recorded legal basis may be targeted.
        {"property": "category", "op": "=", "value": "halal food"},
        {"property": "category", "op": "contains", "value": "halal"},
        # Numbers and empty fragments single out no category.
        {"property": "price", "op": ">", "value": 10},
        {"property": "category", "op": "contains", "value": "  "},
    ],
)
def test_other_values_are_accepted(ws: Workspace, test: dict[str, Any]) -> None:
    definition = ws.automations.validate(_viewed(test))
    assert definition.trigger.event.where[0].value == test["value"]  # type: ignore[union-attr]

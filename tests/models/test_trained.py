"""``Models``: the workspace's models, reached through its Store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.models.trained import Models

ORDERS = (
    "order_id,customer_id,ordered_at,amount,status\n"
    "1,A,2024-01-05,60,completed\n2,A,2024-03-01,40,\n3,B,2024-01-10,50,cancelled\n"
)


def test_clv_evaluation_needs_purchases_and_a_calibration_before_the_last(
    workspace: Workspace, tmp_path: Path
):
    models = Models(workspace.store)
    assert models.churn_card() is None
    with pytest.raises(CibleError, match="No purchase in this workspace"):
        models.clv_evaluation(datetime(2024, 1, 1))
    (tmp_path / "orders.csv").write_text(ORDERS)
    workspace.imports.load("orders", tmp_path / "orders.csv")
    # The cancelled order is no purchase: the last purchase is A's, on 1 March.
    with pytest.raises(CibleError, match=r"before the last purchase \(2024-03-01\)"):
        models.clv_evaluation(datetime(2024, 3, 1))


def test_training_without_orders_says_so(workspace: Workspace):
    with pytest.raises(CibleError, match="No order in this workspace"):
        Models(workspace.store).train_churn()

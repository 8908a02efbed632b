"""Churn risk end to end: train on the demo's history, store the card, score in runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cible import Workspace
from cible.demo import build_demo
from cible.domain.errors import CibleError


def test_train_store_and_score(tmp_path: Path):
    folder = tmp_path / "demo"
    build_demo(folder, customers=800, seed=5, end_date=date(2026, 10, 31))
    with Workspace.open(folder) as ws:
        assert ws.models.churn_card() is None
        model_id, card = ws.models.train_churn(horizon_days=90)
        metrics = card.as_dict()["metrics"]
        assert set(metrics["baselines"]) >= {"bgnbd_dead", "recency_days"}
        assert 0.5 < metrics["model"]["roc_auc"] <= 1
        assert ws.models.churn_card()[0] == model_id
        ws.run()
        traits = ws.traits().to_pandas()
        objecting = traits.customer_id.isin(ws.objection.objecting())
    # Customers who object to profiling (the demo has some) get no churn risk.
    assert objecting.any() and traits.loc[objecting, "churn_risk"].isna().all()
    traits = traits[~objecting]
    buyers = traits[traits["frequency"] > 0]
    assert buyers["churn_risk"].between(0, 1).all()
    assert traits.loc[traits["frequency"] == 0, "churn_risk"].isna().all()
    assert set(buyers["churn_risk_band"]) <= {"low", "medium", "high"}


def test_too_short_history_is_refused(tmp_path: Path):
    with Workspace.create(tmp_path / "short") as ws:
        (tmp_path / "o.csv").write_text(
            "order_id,customer_id,ordered_at,amount\n1,A,2024-01-01,5\n2,A,2024-02-01,5\n"
        )
        ws.imports.load("orders", tmp_path / "o.csv")
        with pytest.raises(CibleError, match="too short"):
            ws.models.train_churn()

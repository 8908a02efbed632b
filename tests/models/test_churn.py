"""Churn risk: snapshots, the model against its baselines, metrics, card and bands.

The main data set is simulated from the BG/NBD story (Fader, Hardie & Lee 2005) with
customers acquired all along three years: each buys at a Poisson rate drawn from a
Gamma distribution and, after each repeat purchase, leaves for good with a
probability drawn from a Beta distribution. Who left, and when, is known; the
labels are what a retailer would observe.
"""

from __future__ import annotations

import ast
import pickle
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from cible.features import TRAITS, compute_traits
from cible.models import (
    BASELINES,
    DEFAULT_FEATURES,
    ChurnModel,
    ModelCard,
    ModelDataError,
    build_snapshots,
    check_features,
    churn_metrics,
    out_of_time_split,
    risk_band,
    risk_bands,
    top_decile_lift,
)
from cible.models.churn import TRUSTED_TYPES
from cible.models.errors import StoredModelError
from cible.models.model_files import dump_model
from cible.models.snapshots import CLV_COLUMNS

START = datetime(2022, 1, 1)
DAYS = 1000
HORIZON = 90

SCHEMAS: dict[str, dict[str, str]] = {
    "customers": {"customer_id": "string", "created_at": "timestamp"},
    "orders": {
        "order_id": "string",
        "customer_id": "string",
        "ordered_at": "timestamp",
        "amount": "float64",
        "discount_amount": "float64",
        "channel": "string",
        "status": "string",
    },
    "order_lines": {
        "order_id": "string",
        "product_id": "string",
        "quantity": "int64",
        "unit_price": "float64",
    },
    "products": {"product_id": "string", "category": "string"},
    "events": {
        "customer_id": "string",
        "type": "string",
        "event": "string",
        "timestamp": "timestamp",
    },
}


def as_tables(frames: dict[str, pd.DataFrame]) -> Any:
    """``tables(name)`` over in-memory frames, typed like the canonical tables."""
    tables = {
        name: ibis.memtable(frames.get(name, pd.DataFrame(columns=list(schema))), schema=schema)
        for name, schema in SCHEMAS.items()
    }
    return tables.__getitem__


def simulate_shop(n_customers: int = 2500, seed: int = 0) -> dict[str, pd.DataFrame]:
    """BG/NBD customers acquired uniformly over ``DAYS`` days; one line per order."""
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0, DAYS - 120, n_customers)
    rate = rng.gamma(1.0, 1 / 40, n_customers)  # purchases per day, mean 1 / 40
    dropout = rng.beta(1.0, 6.0, n_customers)
    customer, when = [], []
    for i in range(n_customers):
        moment = birth[i]
        while moment < DAYS:
            customer.append(i)
            when.append(moment)
            moment += rng.exponential(1 / rate[i])
            # BG/NBD: a customer may leave only right after a repeat purchase.
            if len(customer) > 1 and customer[-2] == i and rng.random() < dropout[i]:
                break
    n = len(when)
    status = rng.choice(["completed", None, "cancelled"], n, p=[0.92, 0.05, 0.03])
    orders = pd.DataFrame(
        {
            "order_id": [f"o{k}" for k in range(n)],
            "customer_id": [f"c{i}" for i in customer],
            "ordered_at": [START + timedelta(days=float(d)) for d in when],
            "amount": rng.gamma(4.0, 15.0, n).round(2),
            "discount_amount": np.where(rng.random(n) < 0.2, 5.0, 0.0),
            "channel": rng.choice(["web", "store", "app"], n),
            "status": status,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n_customers)],
            "created_at": [START + timedelta(days=float(d)) for d in birth],
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "product_id": rng.choice(["p1", "p2", "p3"], n),
            "quantity": 1,
            "unit_price": orders["amount"],
        }
    )
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "category": ["a", "b", "c"]})
    return {"customers": customers, "orders": orders, "order_lines": lines, "products": products}


@pytest.fixture(scope="module", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    # The boosting's OpenMP threads slow down tenfold when pytest-xdist workers
    # already share the cores; one thread each keeps this module to seconds.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    frames = simulate_shop()
    last = frames["orders"]["ordered_at"].max()
    dates = pd.date_range(START + timedelta(days=270), last - timedelta(days=HORIZON), freq="30D")
    return build_snapshots(as_tables(frames), list(dates.to_pydatetime()), HORIZON)


@pytest.fixture(scope="module")
def split(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return out_of_time_split(snapshots)


@pytest.fixture(scope="module")
def fitted(split: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[ChurnModel, dict[str, Any]]:
    train, test = split
    model = ChurnModel(horizon_days=HORIZON, random_state=0).fit(train)
    return model, model.evaluate(test)


# --- snapshots --------------------------------------------------------------------

AS_OF = datetime(2024, 4, 1)


def small_shop() -> dict[str, pd.DataFrame]:
    """One customer per labelling rule; the comment says what each one checks."""
    rows = [
        # (customer, days after AS_OF, status)
        ("stays", -30, "completed"),
        ("stays", 10, "completed"),  # bought again: label 0
        ("leaves", -5, "completed"),  # nothing after: label 1
        ("null_status", -40, None),  # no status is a purchase, before and after
        ("null_status", 20, None),
        ("pending_only", -10, "completed"),
        ("pending_only", 5, "pending"),  # pending and cancelled do not count
        ("pending_only", 6, "cancelled"),
        ("at_as_of", -3, "completed"),
        ("at_as_of", 0, "completed"),  # at as_of exactly: inside the window
        ("at_end", -3, "completed"),
        ("at_end", HORIZON, "completed"),  # at as_of + horizon: outside
        ("cancelled_only", -10, "cancelled"),  # never bought: not in the snapshot
        ("later", 10, "completed"),  # first purchase after as_of: not a buyer yet
        ("same_day", -20, "completed"),
        ("same_day", -20, "completed"),  # two orders one day: one BG/NBD occasion
        ("same_day", -2, "completed"),
        ("tail", HORIZON + 30, "completed"),  # the data runs past the horizon
    ]
    orders = pd.DataFrame(
        {
            "order_id": [f"o{k}" for k in range(len(rows))],
            "customer_id": [c for c, _, _ in rows],
            "ordered_at": [
                AS_OF + timedelta(days=d, hours=1 if k == 15 else 0)
                for k, (c, d, _) in enumerate(rows)
            ],
            "amount": 10.0,
            "discount_amount": 0.0,
            "channel": "web",
            "status": [s for _, _, s in rows],
        }
    )
    ids = sorted({c for c, _, _ in rows} | {"prospect"})
    customers = pd.DataFrame({"customer_id": ids, "created_at": AS_OF - timedelta(days=100)})
    return {"customers": customers, "orders": orders}


def test_snapshot_labels_and_buyers_follow_the_definition():
    frame = build_snapshots(as_tables(small_shop()), [AS_OF], HORIZON).set_index("customer_id")
    assert sorted(frame.index) == [
        "at_as_of",
        "at_end",
        "leaves",
        "null_status",
        "pending_only",
        "same_day",
        "stays",
    ]
    assert frame["label"].to_dict() == {
        "at_as_of": 0,
        "at_end": 1,
        "leaves": 1,
        "null_status": 0,
        "pending_only": 1,
        "same_day": 1,
        "stays": 0,
    }
    assert (frame["as_of"] == pd.Timestamp(AS_OF)).all()
    assert (frame["horizon_days"] == HORIZON).all()


def test_snapshot_columns_and_clv_summary():
    frame = build_snapshots(as_tables(small_shop()), [AS_OF], HORIZON)
    traits = [t.name for t in TRAITS]
    assert list(frame.columns) == [
        "customer_id",
        "as_of",
        *traits,
        *CLV_COLUMNS,
        "label",
        "horizon_days",
    ]
    same_day = frame.set_index("customer_id").loc["same_day"]
    # Three orders on two days: frequency 3 as a trait, 1 repeat occasion for BG/NBD.
    assert same_day["frequency"] == 3
    assert same_day["clv_repeat_purchases"] == 1
    assert same_day["clv_recency"] == 18
    assert same_day["clv_T"] == 20


def test_snapshot_traits_are_compute_traits_at_as_of():
    frames = small_shop()
    snapshot = build_snapshots(as_tables(frames), [AS_OF], HORIZON).set_index("customer_id")
    tables = as_tables(frames)
    expected = (
        compute_traits(
            tables("customers"),
            tables("orders"),
            tables("events"),
            as_of=AS_OF,
            order_lines=tables("order_lines"),
            products=tables("products"),
        )
        .to_pandas()
        .set_index("customer_id")
        .loc[snapshot.index]
    )
    numeric = list(DEFAULT_FEATURES)
    pd.testing.assert_frame_equal(snapshot[numeric], expected[numeric], check_dtype=False)


def test_snapshots_refuse_a_horizon_that_runs_past_the_data():
    late = AS_OF + timedelta(days=60)
    with pytest.raises(ModelDataError, match=r"as_of 2024-05-31.*horizon ends after"):
        build_snapshots(as_tables(small_shop()), [AS_OF, late], HORIZON)


@pytest.mark.parametrize("horizon", [0, -5, 1.5, "90", True])
def test_snapshots_refuse_a_bad_horizon(horizon: Any):
    with pytest.raises(ModelDataError, match="horizon_days must be a positive whole number"):
        build_snapshots(as_tables(small_shop()), [AS_OF], horizon)


def test_snapshots_report_progress():
    calls: list[tuple[str, int, int]] = []
    dates = [AS_OF - timedelta(days=10), AS_OF]
    build_snapshots(
        as_tables(small_shop()), dates, HORIZON, progress=lambda s, d, t: calls.append((s, d, t))
    )
    assert calls == [("snapshots", 0, 2), ("snapshots", 1, 2), ("snapshots", 2, 2)]


@pytest.mark.slow
def test_out_of_time_split_leaves_a_full_horizon_between(snapshots: pd.DataFrame):
    train, test = out_of_time_split(snapshots)
    assert test["as_of"].nunique() == 1
    assert test["as_of"].iloc[0] == snapshots["as_of"].max()
    assert train["as_of"].max() + pd.Timedelta(days=HORIZON) <= test["as_of"].min()


# --- the model against its baselines ----------------------------------------------


@pytest.mark.slow
def test_model_ranks_churners_out_of_time_and_beats_the_baselines(
    fitted: tuple[ChurnModel, dict[str, Any]],
):
    _, result = fitted
    model_auc = result["model"]["roc_auc"]
    assert model_auc > 0.7
    assert set(result["baselines"]) == set(BASELINES)
    for name, metrics in result["baselines"].items():
        assert model_auc >= metrics["roc_auc"] - 0.02, name


@pytest.mark.slow
def test_metrics_are_in_range(fitted: tuple[ChurnModel, dict[str, Any]]):
    _, result = fitted
    rate = result["data"]["churn_rate"]
    for metrics in [result["model"], *result["baselines"].values()]:
        for name in ("roc_auc", "pr_auc", "brier", "mean_risk"):
            value = metrics[name]
            assert value is None or 0.0 <= value <= 1.0, name
        assert 0.0 <= metrics["top_decile_lift"] <= 1.0 / rate + 1e-9
    assert result["baselines"]["recency_days"]["brier"] is None


@pytest.mark.slow
def test_probabilities_are_calibrated(fitted: tuple[ChurnModel, dict[str, Any]]):
    _, result = fitted
    assert result["model"]["mean_risk"] == pytest.approx(result["data"]["churn_rate"], abs=0.03)


@pytest.mark.slow
def test_bgnbd_baseline_is_calibrated_on_bgnbd_data(fitted: tuple[ChurnModel, dict[str, Any]]):
    # Known truth: the data follow BG/NBD, so its probability of no purchase over the
    # horizon must match the observed churn rate.
    _, result = fitted
    observed = result["data"]["churn_rate"]
    assert result["baselines"]["bgnbd_no_purchase"]["mean_risk"] == pytest.approx(
        observed, abs=0.04
    )


@pytest.mark.slow
def test_predict_proba_is_keyed_by_customer_and_leaves_prospects_out(
    fitted: tuple[ChurnModel, dict[str, Any]],
):
    model, _ = fitted
    frames = small_shop()
    tables = as_tables(frames)
    traits = compute_traits(
        tables("customers"),
        tables("orders"),
        tables("events"),
        as_of=AS_OF,
        order_lines=tables("order_lines"),
        products=tables("products"),
    ).to_pandas()
    risk = model.predict_proba(traits)
    assert risk.name == "churn_risk"
    assert risk.index.name == "customer_id"
    assert list(risk.index) == list(traits["customer_id"])
    never_bought = ["prospect", "later", "cancelled_only", "tail"]
    assert risk[never_bought].isna().all()
    assert risk.drop(never_bought).between(0, 1).all()


@pytest.mark.slow
def test_fit_is_deterministic_and_survives_dumps_loads(
    split: tuple[pd.DataFrame, pd.DataFrame], fitted: tuple[ChurnModel, dict[str, Any]]
):
    train, test = split
    model, _ = fitted
    again = ChurnModel(horizon_days=HORIZON, random_state=0).fit(train)
    first, second = model.predict_proba(test), again.predict_proba(test)
    pd.testing.assert_series_equal(first, second)
    loaded = ChurnModel.loads(model.dumps())
    pd.testing.assert_series_equal(loaded.predict_proba(test), first)
    assert loaded.model_card_ == model.model_card_


@pytest.mark.slow
def test_evaluate_refuses_dates_that_overlap_training(
    split: tuple[pd.DataFrame, pd.DataFrame], fitted: tuple[ChurnModel, dict[str, Any]]
):
    train, _ = split
    model, _ = fitted
    with pytest.raises(ModelDataError, match="not out of time"):
        model.evaluate(train)


@pytest.mark.slow
def test_fit_needs_dates_a_horizon_apart(snapshots: pd.DataFrame):
    latest = snapshots[snapshots["as_of"] == snapshots["as_of"].max()]
    with pytest.raises(ModelDataError, match="90 days or more before the latest"):
        ChurnModel().fit(latest)


@pytest.mark.slow
def test_fit_refuses_snapshots_of_another_horizon(snapshots: pd.DataFrame):
    with pytest.raises(ModelDataError, match="horizon_days=60"):
        ChurnModel(horizon_days=60).fit(snapshots)


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError):
        ChurnModel().predict_proba(pd.DataFrame({"customer_id": ["a"], "frequency": [1]}))


def test_loads_refuses_other_objects():
    with pytest.raises(StoredModelError, match="holds a dict, not a ChurnModel"):
        ChurnModel.loads(dump_model({"not": "a model"}))


def test_a_model_pickled_by_an_older_cible_is_refused_unopened():
    blob = pickle.dumps(ChurnModel(horizon_days=60), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(StoredModelError, match=r"older Cible.*`cible churn train`"):
        ChurnModel.loads(blob)


def test_an_unfitted_model_survives_dumps_loads():
    model = ChurnModel(horizon_days=60, features=("frequency",))
    assert ChurnModel.loads(model.dumps()).get_params() == model.get_params()


@pytest.mark.slow
def test_stored_model_needs_no_type_beyond_the_trusted_list(
    fitted: tuple[ChurnModel, dict[str, Any]],
):
    """The list in churn.py is complete for this scikit-learn (else stored models cannot load)."""
    model, _ = fitted
    needed = set(skops.io.get_untrusted_types(data=model.dumps()))
    assert needed <= set(TRUSTED_TYPES)


# --- features: traits only -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("religion", r"'religion' is not a trait"),
        ("gender", r"'gender' is a customer profile field \(sensitivity personal\)"),
        ("birth_date", r"'birth_date' is a customer profile field"),
        ("clv_repeat_purchases", r"'clv_repeat_purchases' is not a trait"),
        ("label", r"'label' is not a trait"),
        ("top_channel", r"trait 'top_channel' is a string, not a number"),
        ("last_order_at", r"trait 'last_order_at' is a timestamp"),
    ],
)
def test_a_feature_that_is_not_a_numeric_trait_is_refused(name: str, reason: str):
    with pytest.raises(ModelDataError, match=reason):
        check_features(["recency_days", name])
    with pytest.raises(ModelDataError, match=reason):
        ChurnModel(features=["recency_days", name]).fit(pd.DataFrame())


def test_feature_lists_are_checked():
    with pytest.raises(ModelDataError, match="single string"):
        check_features("recency_days")
    with pytest.raises(ModelDataError, match="empty"):
        check_features([])
    with pytest.raises(ModelDataError, match="listed twice"):
        check_features(["frequency", "frequency"])
    numeric = {t.name for t in TRAITS if t.dtype in ("float64", "int64")}
    assert set(DEFAULT_FEATURES) == numeric


@pytest.mark.slow
def test_a_chosen_feature_subset_is_what_the_model_reads(split: tuple[pd.DataFrame, pd.DataFrame]):
    train, test = split
    model = ChurnModel(features=["recency_days", "frequency"], max_iter=50).fit(train)
    assert model.features_ == ["recency_days", "frequency"]
    assert model.model_card_.parameters["features"] == ["recency_days", "frequency"]
    # Other columns are not read: scrambling them changes nothing.
    scrambled = test.assign(monetary_value=-1.0, sessions_90d=999)
    pd.testing.assert_series_equal(model.predict_proba(test), model.predict_proba(scrambled))


# --- model card --------------------------------------------------------------------


@pytest.mark.slow
def test_model_card_records_data_features_metrics_and_versions(
    fitted: tuple[ChurnModel, dict[str, Any]], split: tuple[pd.DataFrame, pd.DataFrame]
):
    model, result = fitted
    train, test = split
    card = model.model_card_
    assert card.model == "churn"
    assert card.data["horizon_days"] == HORIZON
    assert card.data["calibration"]["as_of"] == [train["as_of"].max().isoformat()]
    assert card.data["evaluation"]["as_of"] == [test["as_of"].max().isoformat()]
    assert card.data["evaluation"]["rows"] == len(test)
    assert card.data["training"]["rows"] + card.data["calibration"]["rows"] <= len(train)
    assert card.metrics == {"model": result["model"], "baselines": result["baselines"]}
    assert 0 < len(card.feature_importance) <= 15
    importances = [entry["importance"] for entry in card.feature_importance]
    assert importances == sorted(importances, reverse=True)
    assert card.feature_importance[0]["feature"] in DEFAULT_FEATURES
    # The simulated shop sends no email: those rates are left out, not fed as NaN
    # columns (scikit-learn's binning fails on a column without any value).
    assert {"email_open_rate", "email_click_rate"} <= set(model.empty_features_)
    assert not set(model.empty_features_) & set(card.features)
    assert card.data["features_without_values"] == model.empty_features_
    assert card.parameters["horizon_days"] == HORIZON
    assert {"scikit-learn", "numpy", "pandas", "python"} <= set(card.library_versions)
    assert datetime.fromisoformat(card.created_at).tzinfo is not None
    assert ModelCard.from_json(card.to_json()) == card


def test_model_card_json_errors_are_clear():
    with pytest.raises(ModelDataError, match="not valid JSON"):
        ModelCard.from_json("{")
    with pytest.raises(ModelDataError, match="format 99"):
        ModelCard.from_json('{"card_format": 99}')
    with pytest.raises(ModelDataError, match="no 'model' field"):
        ModelCard.from_json('{"card_format": 1}')


# --- metrics -----------------------------------------------------------------------


def reference_lift(label: np.ndarray, risk: np.ndarray, top: int, draws: int, seed: int) -> float:
    """Mean top-``top`` churn rate over random tie-breaks, over the base rate."""
    rng = np.random.default_rng(seed)
    caught = 0.0
    for _ in range(draws):
        order = np.lexsort((rng.random(label.size), -risk))
        caught += label[order[:top]].mean()
    return caught / draws / label.mean()


def test_top_decile_lift_matches_random_tie_breaking():
    rng = np.random.default_rng(3)
    label = (rng.random(200) < 0.3).astype(int)
    risk = np.round(rng.random(200) + 0.3 * label, 1)  # coarse: many ties at the cut
    assert top_decile_lift(label, risk) == pytest.approx(
        reference_lift(label, risk, top=20, draws=4000, seed=0), rel=0.02
    )
    distinct = rng.random(200)
    top = np.argsort(-distinct)[:20]
    assert top_decile_lift(label, distinct) == pytest.approx(label[top].mean() / label.mean())


def test_perfect_and_constant_scores():
    label = np.array([1] * 20 + [0] * 80)
    perfect = churn_metrics(label, label.astype(float))
    assert perfect["roc_auc"] == 1.0 and perfect["pr_auc"] == 1.0 and perfect["brier"] == 0.0
    assert perfect["top_decile_lift"] == pytest.approx(5.0)
    flat = churn_metrics(label, np.full(100, 0.2))
    assert flat["roc_auc"] == 0.5 and flat["top_decile_lift"] == pytest.approx(1.0)
    assert flat["mean_risk"] == pytest.approx(0.2)


def test_metrics_need_both_classes():
    with pytest.raises(ModelDataError, match="one class only"):
        churn_metrics([1, 1, 1], [0.2, 0.5, 0.9])


# --- bands -------------------------------------------------------------------------


def test_risk_bands_cut_offs_are_inclusive_and_configurable():
    assert [risk_band(p) for p in (0.0, 0.299, 0.3, 0.599, 0.6, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert risk_band(0.25, medium=0.2, high=0.5) == "medium"
    assert risk_band(0.5, medium=0.2, high=0.5) == "high"
    series = risk_bands(pd.Series([0.1, np.nan, 0.45, 0.9], index=list("abcd")), high=0.4)
    assert series.tolist()[0] == "low" and pd.isna(series["b"])
    assert series[["c", "d"]].tolist() == ["high", "high"]
    assert list(series.cat.categories) == ["low", "medium", "high"]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_risk_band_refuses_non_probabilities(bad: float):
    with pytest.raises(ModelDataError, match=r"probability in \[0, 1\]"):
        risk_band(bad)


def test_risk_band_refuses_cut_offs_out_of_order():
    with pytest.raises(ModelDataError, match="medium <= high"):
        risk_band(0.5, medium=0.7, high=0.4)


# --- layering: what tests/test_layers.py does not check for models/ ----------------

MODELS = Path(__file__).parents[2] / "src" / "cible" / "models"
# models/ is a use case (DESIGN.md section 3): it reads and writes through the Store.
ALLOWED = {"domain", "features", "clv", "models", "store"}
FORBIDDEN = {"typer", "rich", "fastapi", "starlette", "uvicorn", "click"}


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.py")), ids=lambda p: p.name)
def test_models_import_only_lower_layers_and_hold_no_sql(path: Path):
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            assert parts[0] not in FORBIDDEN, name
            if parts[0] == "cible":
                assert len(parts) > 1 and parts[1] in ALLOWED, name
    assert not re.search(
        r"\b(SELECT|INSERT INTO|CREATE TABLE|DELETE FROM)\b.*\b(FROM|VALUES|AS)\b", source
    )
    assert len(source.splitlines()) < 500

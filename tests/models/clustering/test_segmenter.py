"""ClusterSegmenter on data with known truth: blobs, planted groups, bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from cible.domain.schema import Category, Sensitivity
from cible.features import Trait, get_trait
from cible.models.clustering import METHODS, ClusterSegmenter
from cible.models.clustering.segmenter import TRUSTED_TYPES
from cible.models.errors import ModelDataError, StoredModelError
from cible.models.model_files import dump_model

NAMES = [f"x{i}" for i in range(5)]
BLOB_TRAITS = [Trait(name, "float64", "", Category.BEHAVIOURAL, name, name) for name in NAMES]


def _blobs(n: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    x, truth = make_blobs(
        n, n_features=5, centers=4, cluster_std=1.0, center_box=(-12, 12), random_state=seed
    )
    frame = pd.DataFrame(x, columns=NAMES)
    frame.insert(0, "customer_id", [f"c{i:05d}" for i in range(n)])
    return frame, truth


def _segmenter(method: str, **settings: object) -> ClusterSegmenter:
    defaults: dict[str, object] = {
        "method": method,
        "k_range": (2, 6),
        "random_state": 0,
        "include": NAMES,
        "n_bootstrap": 3,
        "silhouette_size": 1_000,
        "linkage_size": 1_000,
        "n_init": 3,
        "k_bootstrap_size": 1_000,
    }
    return ClusterSegmenter(**{**defaults, **settings})


@pytest.mark.parametrize("method", METHODS)
def test_each_method_finds_the_blobs_and_their_number(method: str) -> None:
    frame, truth = _blobs()
    model = _segmenter(method).fit(frame, BLOB_TRAITS)
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_) >= 0.95
    assert model.selection_.k == 4
    assert model.selection_.table["chosen"].sum() == 1
    assert model.stability_ is not None and model.stability_.trusted.all()
    assert model.summary()["noise"] < (0.2 if method == "hdbscan" else 1e-12)


def test_clusters_are_numbered_by_size_and_reproducible() -> None:
    frame, _ = _blobs()
    first = _segmenter("kmeans").fit(frame, BLOB_TRAITS)
    second = _segmenter("kmeans").fit(frame, BLOB_TRAITS)
    assert np.array_equal(first.labels_, second.labels_)
    assert list(first.sizes_) == sorted(first.sizes_, reverse=True)
    pd.testing.assert_frame_equal(first.selection_.table, second.selection_.table)
    assert np.array_equal(first.stability_.jaccard, second.stability_.jaccard)


def test_a_large_base_is_learned_from_a_sample_and_predicted_in_batches() -> None:
    frame, truth = _blobs(3_000)
    model = _segmenter("kmeans", sample_size=800, batch_size=256).fit(frame, BLOB_TRAITS)
    whole = ClusterSegmenter.loads(model.dumps()).set_params(batch_size=10_000).predict(frame)
    batched = model.predict(frame)
    pd.testing.assert_frame_equal(batched, whole)
    assert list(batched.columns) == ["customer_id", "cluster"]
    assert batched["customer_id"].tolist() == frame["customer_id"].tolist()
    assert np.array_equal(batched["cluster"].to_numpy(), model.labels_)
    assert adjusted_rand_score(truth, model.labels_) >= 0.95
    assert model.sizes_.sum() == 3_000


@pytest.mark.parametrize("method", METHODS)
def test_dumps_loads_round_trip_gives_the_same_segmenter(method: str) -> None:
    frame, _ = _blobs(600)
    model = _segmenter(method, k="auto" if method == "hdbscan" else 4).fit(frame, BLOB_TRAITS)
    blob = model.dumps()
    # The list in segmenter.py is complete (else stored segmenters could not load).
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    loaded = ClusterSegmenter.loads(blob)
    pd.testing.assert_frame_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.summary() == model.summary()
    pd.testing.assert_frame_equal(loaded.selection_.table, model.selection_.table)
    assert loaded.rules_ == model.rules_ and loaded.profiles_ == model.profiles_
    assert loaded.get_params() == model.get_params()
    # Enum members, not their strings: choose_features compares sensitivities with `is`.
    assert [f.sensitivity for f in loaded.fields] == [f.sensitivity for f in model.fields]
    assert all(type(f.sensitivity) is Sensitivity for f in loaded.fields)
    assert all(type(t.category) is Category for t in loaded.preprocessor_.numeric)
    # An in-memory copy (pickle, deepcopy) goes through the same state.
    again = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(again.selection_.table, model.selection_.table)


def test_loads_refuses_pickles_and_other_objects() -> None:
    with pytest.raises(StoredModelError, match="holds a dict, not a ClusterSegmenter"):
        ClusterSegmenter.loads(dump_model({"k": 4}))
    with pytest.raises(StoredModelError, match=r"older Cible.*`cible cluster`"):
        ClusterSegmenter.loads(pickle.dumps(ClusterSegmenter(), protocol=pickle.HIGHEST_PROTOCOL))


def test_explanations_profiles_and_summary() -> None:
    rng = np.random.default_rng(1)
    n = 900
    regular = np.arange(n) < 300
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": np.where(regular, rng.poisson(12, n), rng.poisson(1.5, n)),
            "discount_share": np.where(regular, rng.uniform(0, 0.15, n), rng.uniform(0.4, 1, n)),
            "top_channel": np.where(regular, "store", rng.choice(["web", "app"], n)),
            "gender": rng.choice(["female", "male"], n),
        }
    )
    traits = [get_trait(name) for name in ("frequency", "discount_share", "top_channel")]
    model = ClusterSegmenter(k=2, random_state=0, n_bootstrap=2).fit(frame, traits)
    small = int(np.argmin(model.sizes_))
    assert model.sizes_[small] == 300
    assert model.profiles_[small][0].trait in ("frequency", "discount_share", "top_channel")
    assert model.profiles_[small][0].z > 5
    rule = model.rules_[small]
    assert rule.precision > 0.95 and rule.coverage > 0.95
    summary = json.loads(json.dumps(model.summary()))  # plain JSON, for the model card
    assert summary["k"] == 2 and summary["sizes"] == model.sizes_.tolist()
    assert set(summary["rules"][str(small)]["text"]) == {"en", "fr"}
    assert "top_channel" in model.traits_
    assert "gender" not in model.traits_


def test_k_fixed_is_one_candidate() -> None:
    frame, _ = _blobs(500)
    model = _segmenter("kmeans", k=3).fit(frame, BLOB_TRAITS)
    assert model.k_ == 3
    assert model.selection_.table["k"].tolist() == [3]
    assert model.selection_.reason["en"] == "k = 3: the only candidate."


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "spectral"}, "method 'spectral' is not one of"),
        ({"k": 1}, "k must be 'auto' or a whole number of at least 2"),
        ({"k": "six"}, "k must be 'auto'"),
        ({"k_range": (1, 5)}, "k_range"),
        ({"k_range": (6, 3)}, "k_range"),
        ({"method": "hdbscan", "k": 3}, "finds the number of clusters itself"),
    ],
)
def test_bad_settings_are_named(settings: dict[str, object], message: str) -> None:
    frame, _ = _blobs(200)
    with pytest.raises(ModelDataError, match=message):
        _segmenter("kmeans").set_params(**settings).fit(frame, BLOB_TRAITS)


def test_bad_tables_are_named() -> None:
    frame, _ = _blobs(200)
    model = _segmenter("kmeans", k=2)
    with pytest.raises(ModelDataError, match="no 'customer_id' column"):
        model.fit(frame.drop(columns="customer_id"), BLOB_TRAITS)
    twice = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(ModelDataError, match="customer_id 'c00000' appears more than once"):
        model.fit(twice, BLOB_TRAITS)
    with pytest.raises(ModelDataError, match="too few to form 6 clusters"):
        _segmenter("kmeans").fit(frame.iloc[:5], BLOB_TRAITS)
    fitted = model.fit(frame, BLOB_TRAITS)
    with pytest.raises(ModelDataError, match="no 'x3' column"):
        fitted.predict(frame.drop(columns="x3"))


def test_traits_that_never_vary_leave_nothing_to_cluster() -> None:
    # Found by the hostile-data property test: a handful of customers with one order each
    # made KMeans raise on an array of zero columns.
    frame, _ = _blobs(50)
    frame[NAMES] = 1.0
    with pytest.raises(ModelDataError, match="no trait varies among these customers"):
        _segmenter("kmeans", k=2).fit(frame, BLOB_TRAITS)


def test_fewer_distinct_profiles_than_clusters_are_refused() -> None:
    # Also from the property test: two distinct profiles made KMeans warn and return
    # an empty cluster for k = 3.
    frame, _ = _blobs(60)
    frame.loc[:29, NAMES] = 1.0
    frame.loc[30:, NAMES] = 2.0
    with pytest.raises(ModelDataError, match="only 2 distinct profile"):
        _segmenter("kmeans", k=3).fit(frame, BLOB_TRAITS)
    fitted = _segmenter("kmeans", k_range=(2, 4), n_bootstrap=2).fit(frame, BLOB_TRAITS)
    assert fitted.k_ == 2


def _shop(n: int = 4_000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers of four planted groups, with the skew and the gaps of real traits."""
    rng = np.random.default_rng(seed)
    group = rng.choice(4, n, p=[0.35, 0.3, 0.15, 0.2])
    rate = np.array([12.0, 4.0, 2.0, 0.0])[group]  # orders a year; group 3 never buys
    basket = np.array([50.0, 30.0, 400.0, 0.0])[group]
    frequency = rng.poisson(rate * rng.lognormal(0, 0.3, n))
    buyer = frequency > 0
    aov = basket * rng.lognormal(0, 0.3, n)
    discount = np.array([0.05, 0.85, 0.05, 0.0])[group]
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": frequency,
            "monetary_value": np.where(buyer, frequency * aov, 0.0),
            "avg_order_value": np.where(buyer, aov, np.nan),
            "discount_share": np.where(
                buyer, rng.beta(1 + 20 * discount, 1 + 20 * (1 - discount)), np.nan
            ),
            "product_views_90d": rng.poisson(np.array([3, 2, 2, 15])[group]),
            "returns": rng.poisson(0.1, n),
        }
    )
    return frame, group


def test_planted_customer_groups_are_recovered_with_k_auto() -> None:
    frame, truth = _shop()
    traits = [get_trait(c) for c in frame.columns if c != "customer_id"]
    model = ClusterSegmenter(
        random_state=0, k_range=(2, 7), n_init=3, n_bootstrap=3, k_bootstrap_size=2_000
    ).fit(frame, traits)
    assert model.k_ == 4, model.selection_.table
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert "avg_order_value" in model.preprocessor_.log_
    # Prospects lack every purchase trait at once: frequency 0 already says so.
    codes = {e.trait: e.code for e in model.excluded_}
    assert codes["avg_order_value:missing"] == "redundant"
    assert model.selection_.table.set_index("k").loc[5, "min_jaccard"] < 0.85


def test_a_resample_where_hdbscan_finds_nothing_counts_as_lost(monkeypatch) -> None:
    frame, _ = _blobs(600)
    model = _segmenter("hdbscan").fit(frame, BLOB_TRAITS)
    from cible.models.clustering import segmenter

    def no_structure(*args: object) -> dict:
        raise ModelDataError("HDBSCAN found 1 cluster(s)")

    monkeypatch.setattr(segmenter, "partitions", no_structure)
    x = np.zeros((10, 2))
    recluster = model._recluster(x, np.random.default_rng(0))
    assert recluster(np.arange(10)).tolist() == [0] * 10

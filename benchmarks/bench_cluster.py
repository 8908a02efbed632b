"""Clustering 1,000,000 customers x 15 traits, k = auto: Cible against scikit-learn defaults.

Customers are drawn from six planted groups (regulars, bargain hunters, big spenders,
lapsed, browsers who never bought, social sharers) with the marginals real traits
have: log-normal amounts, gamma durations, beta shares, zero-inflated counts, and
missing purchase traits for the 15 % who never bought. Both sides start from the same
table and must label every customer:

- **Cible**: ``ClusterSegmenter(k="auto", k_range=(2, 10))``: trait choice,
  preprocessing, k-means on a 50,000 sample for every k (10 starts), the choice of k
  (criteria and a 5-resample stability check per k, with as many starts), 20
  bootstrap refits for the stability of the chosen clusters, profiles and rules over
  everyone, and the assignment of all customers in batches;
- **scikit-learn defaults, the obvious way**: median imputation and
  ``StandardScaler`` on all rows, then ``KMeans(n_init="auto")`` on all 1,000,000
  rows for every k in 2..10 and ``silhouette_score`` on a 10,000 sample per k (the
  full silhouette needs 10^12 distances), keeping the k of the best silhouette.

The script prints the timings, the ratio, the chosen k and the adjusted Rand index of
each side against the planted groups.

Run: ``nice .venv/bin/python benchmarks/bench_cluster.py [--customers N]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from cible.features import TRAITS
from cible.models.clustering import ClusterSegmenter

# Group -> share, orders per year, basket, discount share, web share, open rate,
# sessions in 90 days, shares, days since last order.
GROUPS = {
    "regular": (0.25, 10.0, 60.0, 0.05, 0.4, 0.6, 3.0, 0.2, 20.0),
    "bargain": (0.20, 4.0, 30.0, 0.85, 0.7, 0.3, 1.0, 0.1, 60.0),
    "big_spender": (0.12, 2.0, 400.0, 0.05, 0.5, 0.2, 1.0, 0.1, 120.0),
    "lapsed": (0.18, 1.5, 60.0, 0.2, 0.5, 0.05, 0.1, 0.05, 600.0),
    "browser": (0.15, 0.0, 0.0, 0.0, 1.0, 0.3, 8.0, 0.1, 0.0),
    "sharer": (0.10, 3.0, 60.0, 0.25, 0.3, 0.4, 2.0, 15.0, 90.0),
}
COLUMNS = (
    "recency_days",
    "frequency",
    "monetary_value",
    "avg_order_value",
    "tenure_days",
    "mean_days_between_orders",
    "discount_share",
    "return_rate",
    "channel_share_web",
    "channel_share_store",
    "email_open_rate",
    "email_click_rate",
    "sessions_90d",
    "product_views_90d",
    "social_shares",
)


def make_customers(n: int, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` customers with the 15 traits of :data:`COLUMNS` and their planted group."""
    rng = np.random.default_rng(seed)
    shares = np.array([g[0] for g in GROUPS.values()])
    group = rng.choice(len(GROUPS), n, p=shares / shares.sum())
    p = np.array([g[1:] for g in GROUPS.values()])[group].T
    rate, basket, discount, web, opened, sessions, shared, recency = p
    tenure = rng.gamma(4.0, 250.0, n)
    frequency = rng.poisson(rate * tenure / 365 * rng.lognormal(0, 0.3, n))
    buyer = frequency > 0
    aov = basket * rng.lognormal(0, 0.35, n)
    emails = rng.poisson(20, n)
    opens = rng.binomial(emails, np.clip(opened * rng.lognormal(0, 0.2, n), 0, 1))
    frame = pd.DataFrame(
        {
            "customer_id": np.char.add("c", np.arange(n).astype(str)),
            "recency_days": np.minimum(rng.gamma(2.0, recency / 2 + 1, n), tenure),
            "frequency": frequency,
            "monetary_value": np.where(buyer, frequency * aov, 0.0),
            "avg_order_value": aov,
            "tenure_days": tenure,
            "mean_days_between_orders": tenure / np.maximum(frequency, 1),
            "discount_share": rng.beta(1 + 20 * discount, 1 + 20 * (1 - discount)),
            "return_rate": rng.beta(0.3, 6.0, n),
            "channel_share_web": rng.beta(1 + 10 * web, 1 + 10 * (1 - web)),
            "channel_share_store": rng.beta(1 + 10 * (1 - web), 1 + 10 * web) / 2,
            "email_open_rate": np.where(emails > 0, opens / np.maximum(emails, 1), np.nan),
            "email_click_rate": np.where(
                emails > 0, rng.binomial(opens, 0.2) / np.maximum(emails, 1), np.nan
            ),
            "sessions_90d": rng.poisson(sessions * rng.lognormal(0, 0.4, n)),
            "product_views_90d": rng.poisson(3 * sessions * rng.lognormal(0, 0.4, n)),
            "social_shares": rng.poisson(shared * rng.lognormal(0, 0.5, n)),
        }
    )
    purchase_traits = [
        "recency_days",
        "avg_order_value",
        "mean_days_between_orders",
        "discount_share",
        "return_rate",
        "channel_share_web",
        "channel_share_store",
    ]
    frame.loc[~buyer, purchase_traits] = np.nan
    return frame, group


def fit_cible(frame: pd.DataFrame) -> tuple[dict[str, float], ClusterSegmenter]:
    start = time.perf_counter()
    model = ClusterSegmenter(k="auto", k_range=(2, 10), random_state=0).fit(frame, TRAITS)
    fitted = time.perf_counter()
    model.predict(frame)
    end = time.perf_counter()
    return {"fit_and_assign_s": fitted - start, "predict_again_s": end - fitted}, model


def fit_sklearn(frame: pd.DataFrame) -> tuple[float, int, np.ndarray, dict[int, float]]:
    start = time.perf_counter()
    values = frame[list(COLUMNS)]
    x = StandardScaler().fit_transform(values.fillna(values.median()).to_numpy())
    rng = np.random.default_rng(0)
    rows = rng.choice(len(x), min(10_000, len(x)), replace=False)  # small runs too
    silhouettes, labels = {}, {}
    for k in range(2, 11):
        labels[k] = KMeans(k, n_init="auto", random_state=0).fit_predict(x)
        silhouettes[k] = float(silhouette_score(x[rows], labels[k][rows]))
    best = max(silhouettes, key=lambda k: silhouettes[k])
    return time.perf_counter() - start, best, labels[best], silhouettes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    frame, truth = make_customers(args.customers)
    cible, model = fit_cible(frame)
    sklearn_s, sklearn_k, sklearn_labels, silhouettes = fit_sklearn(frame)
    stability = model.stability_
    result = {
        "customers": len(frame),
        "traits": len(COLUMNS),
        "cible_s": round(cible["fit_and_assign_s"], 1),
        "cible_predict_all_s": round(cible["predict_again_s"], 1),
        "cible_k": model.k_,
        "cible_ari": round(adjusted_rand_score(truth, model.labels_), 3),
        "cible_min_jaccard": None if stability is None else round(stability.jaccard.min(), 2),
        "cible_reason": model.selection_.reason["en"],
        "sklearn_s": round(sklearn_s, 1),
        "sklearn_k": sklearn_k,
        "sklearn_ari": round(adjusted_rand_score(truth, sklearn_labels), 3),
        "sklearn_silhouettes": {k: round(v, 3) for k, v in silhouettes.items()},
        "speedup": round(sklearn_s / cible["fit_and_assign_s"], 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Fitting BG/NBD and Gamma-Gamma on 1,000,000 customers: `cible.clv` against lifetimes.

Customers are drawn from the BG/NBD and Gamma-Gamma models with the CDNOW estimates
(Fader, Hardie & Lee 2005; Fader & Hardie 2013) and observed the way real data are:
first purchases spread over 12 weeks, 39 weeks of calibration, purchase days rounded
to whole days, time measured in weeks, spend rounded to cents. Both libraries fit
the same table; the script checks that their parameters agree, then prints the
timings and the ratio.

lifetimes takes minutes on a million customers; ``--lifetimes-customers N`` fits it
on the first N customers only and extrapolates its time linearly (its cost is one
pass over every row per iteration), which the output then says.

Run: ``.venv/bin/python benchmarks/bench_clv.py [--customers N] [--lifetimes-customers N]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from cible.clv import BetaGeoModel, GammaGammaModel, simulate_beta_geo, simulate_gamma_gamma

CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def make_customers(n: int, seed: int = 7) -> pd.DataFrame:
    """Weekly summary of ``n`` customers observed for 39 weeks after a 12-week cohort."""
    rng = np.random.default_rng(seed)
    age_days = 273 - rng.integers(0, 84, n)
    days = simulate_beta_geo(
        n,
        r=CDNOW_BG["r"],
        alpha=CDNOW_BG["alpha"] * 7,
        a=CDNOW_BG["a"],
        b=CDNOW_BG["b"],
        T=age_days.astype(float),
        seed=rng,
    )
    buyers = days["repeat_purchases"] > 0
    # Purchases happen on a day: round up, so that a repeat buyer's recency is >= 1 day.
    recency_days = np.where(buyers, np.clip(np.ceil(days["recency"]), 1, age_days), 0)
    spend = simulate_gamma_gamma(days["repeat_purchases"], **CDNOW_GG, seed=rng)
    return pd.DataFrame(
        {
            "repeat_purchases": days["repeat_purchases"],
            "recency": recency_days / 7,
            "T": age_days / 7,
            "mean_repeat_value": np.round(spend, 2),
        }
    )


def fit_cible(data: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    start = time.perf_counter()
    bg = BetaGeoModel().fit(data)
    middle = time.perf_counter()
    gg = GammaGammaModel().fit(data)
    end = time.perf_counter()
    return {"bgnbd": middle - start, "gamma_gamma": end - middle}, {**bg.params_, **gg.params_}


def fit_lifetimes(data: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    buyers = data[data["repeat_purchases"] > 0]
    start = time.perf_counter()
    # lifetimes' frequency and monetary_value are our repeat_purchases and mean_repeat_value.
    bg = BetaGeoFitter().fit(
        frequency=data["repeat_purchases"], recency=data["recency"], T=data["T"]
    )
    middle = time.perf_counter()
    gg = GammaGammaFitter().fit(
        frequency=buyers["repeat_purchases"], monetary_value=buyers["mean_repeat_value"]
    )
    end = time.perf_counter()
    params = {**bg.params_.to_dict(), **gg.params_.to_dict()}
    return {"bgnbd": middle - start, "gamma_gamma": end - middle}, params


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-customers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_customers(args.customers)
    subset = data.iloc[: args.lifetimes_customers] if args.lifetimes_customers else data
    warnings.simplefilter("ignore")  # lifetimes' deprecation noise
    runs = [fit_cible(data) for _ in range(args.repeat)]
    cible_params = runs[0][1]
    cible = {part: min(run[0][part] for run in runs) for part in ("bgnbd", "gamma_gamma")}
    lifetimes, lifetimes_params = fit_lifetimes(subset)
    result: dict[str, object] = {
        "customers": len(data),
        "repeat_buyers": int((data["repeat_purchases"] > 0).sum()),
        "distinct_histories": len(data.groupby(["repeat_purchases", "recency", "T"]).size()),
        "cible_runs_s": [round(sum(run[0].values()), 3) for run in runs],
        "cible_bgnbd_s": round(cible["bgnbd"], 3),
        "cible_gamma_gamma_s": round(cible["gamma_gamma"], 3),
        "lifetimes_customers": len(subset),
        "lifetimes_bgnbd_s": round(lifetimes["bgnbd"], 3),
        "lifetimes_gamma_gamma_s": round(lifetimes["gamma_gamma"], 3),
    }
    lifetimes_s = sum(lifetimes.values())
    if len(subset) < len(data):
        lifetimes_s *= len(data) / len(subset)
        result["lifetimes_s_extrapolated"] = round(lifetimes_s, 3)
    else:
        gap = {
            name: abs(cible_params[name] / lifetimes_params[name] - 1) for name in lifetimes_params
        }
        result["max_relative_parameter_gap"] = float(f"{max(gap.values()):.2e}")
        assert max(gap.values()) < 1e-3, f"parameters differ: {gap}"
    result["speedup"] = round(lifetimes_s / sum(cible.values()), 1)
    result["params"] = {name: round(value, 4) for name, value in cible_params.items()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

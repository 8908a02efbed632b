"""The demo's surveys, tickets and acquisition costs: valid, reproducible, consistent."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible.demo.generator import generate_retailer
from cible.demo.service import CHANNEL_CAC, write_service_files

END = dt.date(2025, 6, 1)


def _files(folder: Path, seed: int) -> dict[str, Path]:
    generate_retailer(folder, customers=400, seed=seed, end_date=END)
    streams = np.random.default_rng(seed).spawn(13)[10:]
    return dict(write_service_files(folder, streams, END))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _files(tmp_path_factory.mktemp("service"), 5)


def test_the_same_seed_writes_the_same_files(files: dict[str, Path], tmp_path: Path) -> None:
    again = _files(tmp_path, 5)
    for kind, path in files.items():
        assert hashlib.sha256(path.read_bytes()).digest() == (
            hashlib.sha256(again[kind].read_bytes()).digest()
        ), kind


def test_answers_and_tickets_belong_to_customers_and_stay_on_scale(
    files: dict[str, Path],
) -> None:
    folder = files["surveys"].parent
    customers = pd.read_csv(folder / "customers.csv", sep=";", dtype=str, encoding="cp1252")
    surveys = pd.read_csv(files["surveys"])
    tickets = pd.read_csv(files["tickets"], keep_default_na=False)
    assert surveys["customer_id"].isin(customers["customer_id"]).all()
    assert tickets["customer_id"].isin(customers["customer_id"]).all()
    nps = surveys[surveys["kind"] == "nps"]["score"]
    csat = surveys[surveys["kind"] == "csat"]["score"]
    assert len(nps) > 20 and nps.between(0, 10).all()
    assert len(csat) > 5 and csat.between(1, 5).all()
    assert (pd.to_datetime(surveys["answered_at"]) < pd.Timestamp(END, tz="UTC")).all()
    closed = tickets[tickets["status"] == "closed"]
    assert (closed["closed_at"] > closed["opened_at"]).all()
    assert (tickets.loc[tickets["status"] == "open", "closed_at"] == "").all()


def test_costs_cover_each_paid_channel_every_month(files: dict[str, Path]) -> None:
    folder = files["surveys"].parent
    customers = pd.read_csv(
        folder / "customers.csv", sep=";", dtype=str, encoding="cp1252", keep_default_na=False
    )
    costs = pd.read_csv(files["acquisition-costs"])
    paid = {name for name, cac in CHANNEL_CAC.items() if cac > 0}
    assert set(costs["channel"]) == paid
    per_channel = costs.groupby("channel").size()
    assert per_channel.nunique() == 1 and per_channel.iloc[0] >= 36
    assert (costs["cost"] > 0).all()
    assert set(customers["acquisition_channel"]) - {""} == set(CHANNEL_CAC)

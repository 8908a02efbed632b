"""Objection to profiling read from the ledger, against a pandas reference."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cible.domain.schema import CHANNELS, CONSENT_STATUSES, CONSENT_STRICTNESS, PURPOSES
from cible.features.objection import objecting_customers, unprofiled, without_objectors

START = datetime(2024, 1, 1)


def reference(ledger: pd.DataFrame, as_of: datetime | None) -> set[str]:
    """The latest profiling record per customer on any channel, strictest on ties."""
    rows = ledger[ledger.purpose == "profiling"]
    if as_of is not None:
        rows = rows[rows.recorded_at.isna() | (rows.recorded_at < as_of)]
    objecting = set()
    for customer, own in rows.groupby("customer_id"):
        dated = own[own.recorded_at.notna()]
        latest = dated[dated.recorded_at == dated.recorded_at.max()] if len(dated) else own
        status = max(latest.status, key=CONSENT_STRICTNESS.index)
        if status in ("denied", "withdrawn"):
            objecting.add(str(customer))
    return objecting


records = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(CHANNELS),
        st.sampled_from(PURPOSES),
        st.sampled_from(CONSENT_STATUSES),
        st.one_of(st.none(), st.integers(0, 10)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(records, st.one_of(st.none(), st.integers(0, 11)))
def test_objecting_customers_agrees_with_pandas(rows: list, day: int | None) -> None:
    ledger = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="string"),
            "channel": pd.Series([r[1] for r in rows], dtype="string"),
            "purpose": pd.Series([r[2] for r in rows], dtype="string"),
            "status": pd.Series([r[3] for r in rows], dtype="string"),
            "recorded_at": pd.Series(
                [None if r[4] is None else START + timedelta(days=r[4]) for r in rows],
                dtype="datetime64[us]",
            ),
        }
    )
    as_of = None if day is None else START + timedelta(days=day)
    found = objecting_customers(ibis.memtable(ledger), as_of).to_pyarrow()
    ids = found.column("customer_id").to_pylist()
    assert len(ids) == len(set(ids))
    assert set(ids) == reference(ledger, as_of)


def test_a_later_grant_on_another_channel_lifts_the_objection() -> None:
    ledger = ibis.memtable(
        {
            "customer_id": ["a", "a", "b"],
            "channel": ["email", "post", "sms"],
            "purpose": ["profiling", "profiling", "marketing"],
            "status": ["withdrawn", "granted", "withdrawn"],
            "recorded_at": [START, START + timedelta(days=2), START],
        }
    )
    assert objecting_customers(ledger, START + timedelta(days=1)).to_pyarrow().num_rows == 1
    # Marketing withdrawn is not an objection to profiling; no record is none either.
    assert objecting_customers(ledger).to_pyarrow().num_rows == 0


def test_same_moment_keeps_the_strictest() -> None:
    ledger = ibis.memtable(
        {
            "customer_id": ["a", "a"],
            "channel": ["email", "sms"],
            "purpose": ["profiling"] * 2,
            "status": ["granted", "denied"],
            "recorded_at": [START, START],
        }
    )
    assert objecting_customers(ledger).to_pyarrow().column(0).to_pylist() == ["a"]


def test_unprofiled_masks_only_the_named_columns_of_objectors() -> None:
    traits = ibis.memtable(
        {"customer_id": ["a", "b", "c"], "frequency": [1, 2, 3], "clv_12m": [1.0, 2.0, 3.0]}
    )
    objectors = ibis.memtable({"customer_id": ["b", "z"]})
    masked = unprofiled(traits, objectors, ["clv_12m"]).order_by("customer_id").to_pandas()
    assert list(masked.columns) == ["customer_id", "frequency", "clv_12m"]
    assert masked.frequency.tolist() == [1, 2, 3]
    assert masked.clv_12m.isna().tolist() == [False, True, False]
    kept = without_objectors(traits, objectors).to_pyarrow().column("customer_id").to_pylist()
    assert sorted(kept) == ["a", "c"]

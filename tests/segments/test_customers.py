"""``ws.customers.search`` and ``timeline`` against plain pandas on a small shop."""

from __future__ import annotations

import pandas as pd
import pytest

from cible import Workspace
from tests.activation.privacy_shop import build_shop


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.open(build_shop(tmp_path_factory.mktemp("customers")), read_only=True)


@pytest.mark.parametrize("text", ["a", "ANN", "example.com", "le", "x", "nobody"])
def test_search_finds_what_pandas_finds(ws: Workspace, text: str) -> None:
    people = ws.table("customers").to_pandas()
    needle = text.lower()
    names = (people.first_name.fillna("") + " " + people.last_name.fillna("")).str.lower()
    hit = (
        (people.customer_id == text)
        | people.email.fillna("").str.lower().str.contains(needle, regex=False)
        | names.str.contains(needle, regex=False)
    )
    want = people.assign(first=people.customer_id == text)[hit]
    want = want.sort_values(["first", "customer_id"], ascending=[False, True]).customer_id
    got = [c["customer_id"] for c in ws.customers.search(text)]
    assert got == list(want)


def test_without_partial_contacts_an_email_matches_whole_only(ws: Workspace) -> None:
    assert ws.customers.search("ann@", partial_contacts=False) == []
    whole = ws.customers.search("ANN@example.com", partial_contacts=False)
    assert [c["customer_id"] for c in whole] == ["a"]
    assert ws.customers.search("   ") == []


def test_the_timeline_is_orders_and_events_newest_first(ws: Workspace) -> None:
    orders = ws.table("orders").to_pandas()
    events = ws.table("events").to_pandas()
    for customer in ("a", "x", "lapsed"):
        mine = [
            *orders.loc[orders.customer_id == customer, "ordered_at"].tolist(),
            *events.loc[events.customer_id == customer, "timestamp"].tolist(),
        ]
        got = ws.customers.timeline(customer)
        assert [pd.Timestamp(item["at"]) for item in got] == sorted(mine, reverse=True)
        kinds = {item["kind"] for item in got}
        assert kinds <= {"order", "event"}
        for item in got:
            if item["kind"] == "order":
                row = orders[orders.order_id == item["name"]].iloc[0]
                assert item["amount"] == pytest.approx(row.amount)
    assert len(ws.customers.timeline("a", limit=1)) <= 1

"""Order lines keyed by position, and consents kept as an append-only ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cible import Workspace
from cible.features.consent import consent_status, current_consents
from tests.conftest import WriteFile

LINES = """order_id,product_id,quantity,unit_price
O1,P1,1,10
O1,P1,2,12
O2,P2,1,5
O1,P3,1,3
"""


def lines(ws: Workspace) -> list[tuple[str, int, str, int]]:
    frame = ws.table("order_lines").to_pandas().sort_values(["order_id", "line_number"])
    return [
        (r.order_id, int(r.line_number), r.product_id, int(r.quantity)) for r in frame.itertuples()
    ]


def test_two_lines_of_one_product_in_one_order_are_both_kept(
    workspace: Workspace, write: WriteFile
):
    path = write("lines.csv", LINES)
    first = workspace.imports.load("order-lines", path)
    assert (first.read, first.loaded, first.rejected) == (4, 4, 0)
    # Numbered within each order in file order, from 1.
    assert lines(workspace) == [
        ("O1", 1, "P1", 1),
        ("O1", 2, "P1", 2),
        ("O1", 3, "P3", 1),
        ("O2", 1, "P2", 1),
    ]
    # The same file again gives the same keys: nothing is added.
    again = workspace.imports.load("order-lines", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert len(lines(workspace)) == 4


def test_line_numbers_given_by_the_file_are_read_and_repeats_rejected(
    workspace: Workspace, write: WriteFile
):
    path = write(
        "lines.csv",
        "order_id,ligne,product_id,quantity\nO1,7,P1,1\nO1,3,P1,2\nO1,7,P2,1\n",
    )
    result = workspace.imports.load("order-lines", path)
    assert (result.loaded, result.rejected) == (2, 1)
    assert lines(workspace) == [("O1", 3, "P1", 2), ("O1", 7, "P1", 1)]
    reasons = (
        workspace.imports.rejects(result.import_id, flagged=False).to_pandas()["reason"].tolist()
    )
    assert reasons == ["duplicate order_id, line_number in this file (first at line 2)"]


CONSENTS = """customer_id,channel,purpose,status,updated_at,source
C1,email,marketing,granted,2024-01-01,web
C1,email,marketing,withdrawn,2024-06-01,unsubscribe_link
C2,sms,marketing,granted,2024-02-01,
"""


def ledger(ws: Workspace) -> pd.DataFrame:
    return ws.table("consents").to_pandas().sort_values(["customer_id", "recorded_at"])


def test_consents_keep_their_history_and_a_second_import_adds_nothing(
    workspace: Workspace, write: WriteFile
):
    path = write("consents.csv", CONSENTS)
    first = workspace.imports.load("consents", path)
    assert (first.inserted, first.rejected) == (3, 0)
    # updated_at, the column name before the ledger, is read as recorded_at.
    assert ledger(workspace)["status"].tolist() == ["granted", "withdrawn", "granted"]
    again = workspace.imports.load("consents", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert len(ledger(workspace)) == 3
    status = consent_status(workspace.table("consents"), "email", "marketing", datetime(2025, 1, 1))
    assert status.to_pyarrow().to_pylist() == [{"customer_id": "C1", "status": "withdrawn"}]
    # As of March, the history says granted.
    status = consent_status(workspace.table("consents"), "email", "marketing", datetime(2024, 3, 1))
    assert status.to_pyarrow().to_pylist() == [{"customer_id": "C1", "status": "granted"}]


def test_an_older_record_is_kept_as_history_without_changing_the_state(
    workspace: Workspace, write: WriteFile
):
    workspace.imports.load("consents", write("c.csv", CONSENTS))
    old = write(
        "old.csv",
        "customer_id,channel,purpose,status,recorded_at,source,proof\n"
        "C1,email,marketing,granted,2023-05-01,shop,form 12\n",
    )
    result = workspace.imports.load("consents", old)
    assert result.inserted == 1
    rows = ledger(workspace)
    assert rows[rows.customer_id == "C1"]["proof"].fillna("").tolist() == ["form 12", "", ""]
    current = current_consents(workspace.table("consents")).to_pandas()
    assert current.set_index("customer_id")["status"].to_dict() == {
        "C1": "withdrawn",
        "C2": "granted",
    }


def test_a_record_without_a_date_gets_the_import_time_once(workspace: Workspace, write: WriteFile):
    path = write("undated.csv", "customer_id,channel,purpose,status\nC3,post,marketing,denied\n")
    before = datetime.now(UTC).replace(tzinfo=None)
    workspace.imports.load("consents", path)
    after = datetime.now(UTC).replace(tzinfo=None)
    recorded = ledger(workspace)["recorded_at"].tolist()
    assert len(recorded) == 1 and before <= recorded[0] <= after
    # The same statement again restates nothing: the ledger does not grow.
    again = workspace.imports.load("consents", path)
    assert (again.inserted, again.unchanged) == (0, 1)
    assert len(ledger(workspace)) == 1


def test_records_of_one_moment_give_the_stricter_status():
    ledger_rows = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "channel": ["email"] * 3,
            "purpose": ["marketing"] * 3,
            "status": ["granted", "denied", "granted"],
            "recorded_at": [datetime(2024, 1, 1)] * 3,
        }
    )
    import ibis

    current = current_consents(ibis.memtable(ledger_rows)).to_pandas()
    assert current.set_index("customer_id")["status"].to_dict() == {"a": "denied", "b": "granted"}

"""Value fixes applied to stored customers (``Workspace.normalise``) and to an import."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from cible import Workspace
from cible.domain.schema import CUSTOMERS
from cible.store.fixes import ValueFix, fix_checked, fix_table
from tests.conftest import rows


def _insert_raw(ws: Workspace, frame: pd.DataFrame) -> None:
    """Rows as an older Cible stored them, before normalisation existed."""
    con = ws.store.connection
    con.register("_old_rows", frame)
    columns = ", ".join(frame.columns)
    con.execute(f"INSERT INTO customers ({columns}) SELECT {columns} FROM _old_rows")
    con.unregister("_old_rows")


OLD = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "email": [" Ana@B.FR", "bad@@b.fr", "c@d.fr"],
        "phone": ["06 12 34 56 78", "06 12", None],
        "first_name": ["ANA", "luc", "Zoé"],
        "last_name": ["DU PONT", "martin", "Roux"],
        "city": ["SAINT-ÉTIENNE", "lyon", "Paris"],
        "country": ["France", "Narnia", "FR"],
        "postal_code": ["42000", "7501", "75001"],
        "updated_at": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"]),
    }
)


def test_normalise_rewrites_stored_customers_and_counts_changes(workspace: Workspace):
    _insert_raw(workspace, OLD)
    workspace.quality.normalise()
    stored = {r["customer_id"]: r for r in rows(workspace, "customers", "customer_id")}
    assert stored["C1"]["email"] == "ana@b.fr"
    assert stored["C2"]["email"] == "bad@@b.fr"  # invalid: kept as given
    assert stored["C1"]["phone"] == "+33612345678"
    assert stored["C2"]["phone"] == "06 12"
    assert (stored["C1"]["first_name"], stored["C1"]["last_name"]) == ("Ana", "Du Pont")
    assert stored["C1"]["city"] == "Saint-Étienne"
    assert (stored["C1"]["country"], stored["C2"]["country"]) == ("FR", "Narnia")
    assert stored["C2"]["postal_code"] == "7501"  # flagged by audits, never rewritten
    # Writing a value in its normal form is not a profile update.
    assert [stored[c]["updated_at"] for c in ("C1", "C2", "C3")] == list(OLD["updated_at"])
    assert set(workspace.quality.normalise().values()) == {0}  # a second pass finds nothing


def test_normalise_counts_each_field(workspace: Workspace):
    _insert_raw(workspace, OLD)
    assert workspace.quality.normalise() == {
        "email": 1,  # " Ana@B.FR"; "bad@@b.fr" is kept as given
        "phone": 1,  # "06 12 34 56 78"; "06 12" is kept as given
        "country": 1,  # France; Narnia is kept
        "first_name": 2,  # ANA, luc
        "last_name": 2,  # DU PONT, martin
        "city": 2,  # SAINT-ÉTIENNE, lyon
    }


def test_a_failing_fix_changes_nothing(workspace: Workspace):
    _insert_raw(workspace, OLD)
    before = rows(workspace, "customers", "customer_id")
    good = ValueFix(
        "email",
        ("email",),
        pa.table({"_k0": [" Ana@B.FR"], "value": ["ana@b.fr"], "reason": pa.nulls(1, pa.string())}),
    )
    broken = ValueFix(
        "no_such_column",
        ("email",),
        pa.table({"_k0": ["x"], "value": ["y"], "reason": pa.nulls(1, pa.string())}),
    )
    with pytest.raises(Exception, match="no_such_column"):
        fix_table(workspace.store.connection, CUSTOMERS, [good, broken])
    assert rows(workspace, "customers", "customer_id") == before


def test_a_fix_of_a_column_the_checked_rows_lack_is_refused(workspace: Workspace):
    # Every column is named when the fixed rows are written: one the rows lack must
    # not vanish without a word (DuckDB's ``REPLACE`` raised; the named form would not).
    con = workspace.store.connection
    con.execute("CREATE TEMP TABLE _checked AS SELECT ' A@B.FR' AS email")
    fix = ValueFix(
        "phone",
        ("phone",),
        pa.table({"_k0": ["06"], "value": ["+336"], "reason": pa.nulls(1, pa.string())}),
    )
    with pytest.raises(ValueError, match="_checked has no column phone to fix"):
        fix_checked(con, [fix])

"""Examples of a check are read as text: a value Python cannot hold still shows."""

from __future__ import annotations

from pathlib import Path

from cible import Workspace


def test_audit_shows_dates_outside_pythons_calendar(tmp_path: Path):
    customers = tmp_path / "c.csv"
    customers.write_text("customer_id,birth_date\nc1,1980-01-01\nc2,1990-01-01\n")
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("customers", customers)
        # Stored directly: whatever the import accepts, the audit must not crash on them.
        ws.store.connection.execute(
            "UPDATE customers SET birth_date = CASE customer_id "
            "WHEN 'c1' THEN DATE '0000-06-01' ELSE DATE '10000-01-01' END"
        )
        report = ws.quality.audit()
    ages = next(c for c in report.checks if c.id == "validity.age")
    assert ages.affected == 2
    assert ages.examples[0].startswith("c1: ") and "10000-01-01" in ages.examples[1]

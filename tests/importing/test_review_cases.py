"""Cases a careful first user tried: odd paths, options, exports and spellings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.errors import ImportFileError
from tests.conftest import WriteFile, rows


def test_glob_characters_in_file_name_read_that_file(workspace: Workspace, tmp_path: Path):
    (tmp_path / "orders[1].csv").write_text(
        "order_id,customer_id,ordered_at,amount\nA,C,2024-01-01,1\n"
    )
    (tmp_path / "orders1.csv").write_text("order_id,customer_id,ordered_at\nB,C,2024-01-01\n")
    result = workspace.imports.load("orders", tmp_path / "orders[1].csv")
    assert (result.loaded, result.rejected) == (1, 0)
    assert [r["order_id"] for r in rows(workspace, "orders", "order_id")] == ["A"]


def test_decimal_comma_option_leaves_parquet_and_json_numbers_alone(
    workspace: Workspace, tmp_path: Path
):
    frame = pd.DataFrame(
        {
            "order_id": ["A", "B"],
            "customer_id": ["C", "C"],
            "ordered_at": ["2024-01-01"] * 2,
            "amount": [1.234, 10.0],
        }
    )
    frame.to_parquet(tmp_path / "o.parquet")
    result = workspace.imports.load("orders", tmp_path / "o.parquet", decimal=",")
    assert result.rejected == 0
    assert [r["amount"] for r in rows(workspace, "orders", "order_id")] == [1.234, 10.0]
    lines = [
        json.dumps({"order_id": "J", "customer_id": "C", "ordered_at": "2024-01-01", "amount": 2.5})
    ]
    (tmp_path / "o.jsonl").write_text("\n".join(lines) + "\n")
    workspace.imports.load("orders", tmp_path / "o.jsonl", decimal=",")
    assert rows(workspace, "orders", "order_id")[-1]["amount"] == 2.5


def test_denormalised_orders_export_is_accepted(workspace: Workspace, write: WriteFile):
    path = write(
        "export.csv",
        "order_id,customer_id,email,first_name,last_name,city,ordered_at,amount\n"
        "O1,C1,a@b.fr,Ana,Durand,Lyon,2024-01-01,5\n",
    )
    assert workspace.imports.load("orders", path).loaded == 1


def test_orders_file_as_customers_is_still_refused(workspace: Workspace, write: WriteFile):
    path = write(
        "o.csv",
        "order_id,customer_id,ordered_at,amount,updated_at\nO1,C1,2024-01-01,5,2024-01-01\n",
    )
    with pytest.raises(ImportFileError, match="looks like an orders file"):
        workspace.imports.load("customers", path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"date_format": "%Q"}, "not a strftime layout"),
        ({"delimiter": ";;"}, "give one character"),
        ({"decimal": "x"}, "use auto"),
        ({"encoding": "utf-8"}, "not valid UTF-8"),
    ],
)
def test_bad_options_are_one_sentence(workspace: Workspace, write: WriteFile, options, message):
    path = write("c.csv", "customer_id;city\nC1;Orléans\n", encoding="cp1252")
    with pytest.raises(ImportFileError, match=message):
        workspace.imports.load("customers", path, **options)


def test_tab_delimiter_by_name(workspace: Workspace, write: WriteFile):
    path = write("c.tsv", "customer_id\tcity\nC1\tNantes\n")
    assert workspace.imports.load("customers", path, delimiter="tab").loaded == 1


def test_flagged_counts_rows_not_issues(workspace: Workspace, write: WriteFile):
    path = write("ol.csv", "order_id,product_id,quantity\nO1,P1,1\nO2,P2,1\nO3,P3,2\n")
    result = workspace.imports.load("order-lines", path)
    assert (result.loaded, result.flagged) == (3, 3)


def test_event_needs_a_customer_or_an_anonymous_id(workspace: Workspace, write: WriteFile):
    path = write(
        "e.csv",
        "message_id,customer_id,anonymous_id,event,timestamp\n"
        "m1,C1,,product_viewed,2024-01-01\nm2,,a1,page,2024-01-01\nm3,,,page,2024-01-01\n",
    )
    result = workspace.imports.load("events", path)
    assert (result.loaded, result.rejected) == (2, 1)
    reasons = [
        r["reason"] for r in workspace.imports.rejects(flagged=False).to_pyarrow().to_pylist()
    ]
    assert reasons == ["needs one of customer_id or anonymous_id"]
    with pytest.raises(ImportFileError, match="customer_id or anonymous_id"):
        workspace.imports.load(
            "events", write("e2.csv", "message_id,event,timestamp\nm9,page,2024-01-01\n")
        )


def test_json_array_is_not_json_lines(workspace: Workspace, tmp_path: Path):
    path = tmp_path / "customers.json"
    path.write_text(json.dumps([{"customer_id": "C1"}, {"customer_id": "C2"}], indent=2))
    with pytest.raises(ImportFileError, match="not JSON lines"):
        workspace.imports.load("customers", path)


def test_french_column_names_and_values(workspace: Workspace, write: WriteFile):
    customers = write(
        "clients.csv",
        "Numéro client;E-mail;Prénom;Sexe;Code postal;Ville\nC1;a@b.fr;Zoé;Femme;45000;Orléans\n"
        "C2;b@b.fr;Luc;M.;75001;Paris\n",
    )
    result = workspace.imports.load(
        "customers", customers, mapping={"customer_id": "Numéro client"}
    )
    assert (result.loaded, result.rejected) == (2, 0)
    stored = rows(workspace, "customers", "customer_id")
    assert [(r["email"], r["gender"], r["postal_code"]) for r in stored] == [
        ("a@b.fr", "female", "45000"),
        ("b@b.fr", "male", "75001"),
    ]
    orders = write(
        "commandes.csv",
        "Commande;Client;Date commande;Montant TTC;Canal;Statut\nO1;C1;02/01/2024;10,5;Magasin;Annulée\n",
    )
    workspace.imports.load(
        "orders", orders, mapping={"customer_id": "Client", "amount": "Montant TTC"}
    )
    order = rows(workspace, "orders", "order_id")[0]
    assert (order["channel"], order["status"], order["amount"]) == ("store", "cancelled", 10.5)


def test_two_columns_for_one_field_must_be_chosen(workspace: Workspace, write: WriteFile):
    path = write("c.csv", "customer_id,email,Email\nC1,a@b.fr,C@D.FR\n")
    with pytest.raises(ImportFileError, match="could both be email"):
        workspace.imports.load("customers", path)
    result = workspace.imports.load("customers", path, mapping={"email": "Email"})
    # The chosen column, normalised (lower case) on import.
    assert rows(workspace, "customers", "customer_id")[0]["email"] == "c@d.fr"
    assert result.ignored_columns == ["email"]


def test_stale_rows_are_counted(workspace: Workspace, write: WriteFile):
    workspace.imports.load(
        "customers", write("a.csv", "customer_id,city,updated_at\nC1,Lyon,2024-05-01\n")
    )
    result = workspace.imports.load(
        "customers", write("b.csv", "customer_id,city,updated_at\nC1,Paris,2024-01-01\n")
    )
    assert (result.unchanged, result.stale) == (1, 1)
    assert rows(workspace, "customers", "customer_id")[0]["city"] == "Lyon"

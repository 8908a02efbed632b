"""Import end to end through the Workspace: rejects, re-imports, formats, kinds."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import ImportFileError
from cible.importing.pipeline import StrictRefusalError
from tests.conftest import WriteFile, rows

CUSTOMERS = """customer_id;email;first_name;updated_at
C1;a@b.fr;Éloïse;01/02/2024 10:00:00
C2;z@y.fr;Zoé;2024-02-01T12:00:00+01:00
C3;c@d.fr;Ana;
"""


def issues(
    ws: Workspace, flagged: bool = True, import_id: int | None = None
) -> list[tuple[int, str | None, str]]:
    """(line, column, reason) of an import's issues (default: latest of each file)."""
    found = ws.imports.rejects(import_id, flagged=flagged).to_pyarrow().to_pylist()
    return [(r["line"], r["column_name"], r["reason"]) for r in found]


def test_reject_cases_keep_line_column_value_and_reason(workspace: Workspace, write: WriteFile):
    workspace.imports.load("customers", write("c.csv", CUSTOMERS))
    orders = write(
        "orders.csv",
        "order_id;customer_id;ordered_at;amount;channel\n"
        "O1;C1;01/02/2024;12,50;web\n"  # 2 fine
        "O2;C1;02/02/2024;-3,00;web\n"  # 3 negative amount
        "O3;C1;hier;abc;fax\n"  # 4 bad date, amount and channel
        ";C1;03/02/2024;5,00;web\n"  # 5 missing id
        "O1;C2;04/02/2024;7,00;web\n"  # 6 duplicate id in file
        "O6;C404;05/02/2024;8,00;store\n"  # 7 unknown customer: loaded, flagged
        "O7;C1;31/02/2024;1,00;web\n"  # 8 impossible date
        "O8;C1;06/02/2024;9,99\n",  # 9 missing column
    )
    result = workspace.imports.load("orders", orders)
    assert (result.read, result.loaded, result.rejected, result.flagged) == (8, 2, 6, 1)
    found = issues(workspace)
    assert (3, "amount", "amount is negative") in found
    assert (4, "amount", "amount is not a number") in found
    assert (4, "ordered_at", "ordered_at is not a date (ISO 8601 or dd/mm/yyyy)") in found
    assert any(
        line == 4 and col == "channel" and "unknown value" in why for line, col, why in found
    )
    assert (5, "order_id", "missing order_id") in found
    assert (6, "order_id", "duplicate order_id in this file (first at line 2)") in found
    assert (
        7,
        "customer_id",
        "unknown customer: not in customers (loaded anyway)",
    ) in found
    assert (8, "ordered_at", "ordered_at is not a date (ISO 8601 or dd/mm/yyyy)") in found
    assert (9, None, "expected 5 columns, found 4") in found
    values = {
        (r["line"], r["column_name"]): r["value"]
        for r in workspace.imports.rejects().to_pyarrow().to_pylist()
    }
    assert values[(4, "channel")] == "fax"
    assert values[(9, None)] == "O8;C1;06/02/2024;9,99"
    assert sorted(r["order_id"] for r in rows(workspace, "orders", "order_id")) == ["O1", "O6"]


def test_read_equals_loaded_plus_rejected_on_messy_file(workspace: Workspace, write: WriteFile):
    lines = ["order_id,customer_id,ordered_at,amount"]
    for i in range(300):
        amount = ["12.5", "-1", "x", "", "3"][i % 5]
        day = ["2024-01-01", "2024-02-30", "2024-03-01"][i % 3]
        order_id = "" if i % 17 == 0 else f"O{i % 250}"
        lines.append(f"{order_id},C{i},{day},{amount}")
    lines.insert(40, "broken,line")
    lines.insert(90, "too,many,columns,in,this,line")
    result = workspace.imports.load("orders", write("o.csv", "\n".join(lines) + "\n"))
    assert result.read == result.loaded + result.rejected
    assert result.read == len(lines) - 1
    stored = workspace.counts()["orders"]
    assert stored == result.loaded


def test_blank_lines_do_not_shift_line_numbers(workspace: Workspace, write: WriteFile):
    text = (
        "order_id,customer_id,ordered_at,amount\r\nO1,C1,2024-01-01,1\r\n\r\n\r\nO2,C1,x,1\r\n\r\n"
    )
    result = workspace.imports.load("orders", write("o.csv", text))
    assert (result.read, result.loaded, result.rejected) == (2, 1, 1)
    assert [line for line, _, _ in issues(workspace, flagged=False)] == [5]


def test_values_spanning_lines_keep_physical_line_numbers(workspace: Workspace, write: WriteFile):
    text = (
        "order_id,customer_id,ordered_at,amount,note\n"
        "O1,C1,2024-01-01,1,plain\n"
        'O2,C1,2024-01-01,1,"two\nlines"\n'
        "O3,C1,2024-01-01,-1,x\n"
        "O4,C1,hier,1,y\n\n\n"
    )
    result = workspace.imports.load("orders", write("o.csv", text))
    assert (result.read, result.loaded, result.rejected) == (4, 2, 2)
    assert [line for line, _, _ in issues(workspace, flagged=False)] == [5, 6]


def test_unterminated_quote_says_the_rest_of_the_file_was_swallowed(
    workspace: Workspace, write: WriteFile
):
    text = 'order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,1\nO2,"C1,2024-01-01,1\n'
    result = workspace.imports.load("orders", write("o.csv", text + "O3,C1,2024-01-01,1\n" * 5))
    assert (result.read, result.loaded, result.rejected) == (2, 1, 1)
    assert any(line == 3 and "unterminated quote" in why for line, _, why in issues(workspace))


def test_second_import_of_same_file_changes_nothing(workspace: Workspace, write: WriteFile):
    path = write("c.csv", CUSTOMERS)
    first = workspace.imports.load("customers", path)
    before = rows(workspace, "customers", "customer_id")
    second = workspace.imports.load("customers", path)
    assert (first.inserted, second.inserted, second.updated, second.unchanged) == (3, 0, 0, 3)
    assert rows(workspace, "customers", "customer_id") == before


def test_newer_row_updates_and_keeps_its_updated_at(workspace: Workspace, write: WriteFile):
    workspace.imports.load("customers", write("c.csv", CUSTOMERS))
    update = write(
        "c2.csv",
        "customer_id;email;updated_at\n"
        "C1;new@b.fr;02/02/2024 10:00:00\n"  # newer: wins
        "C2;old@y.fr;01/01/2020 00:00:00\n",  # older than stored: ignored
    )
    result = workspace.imports.load("customers", update)
    assert (result.updated, result.unchanged) == (1, 1)
    by_id = {r["customer_id"]: r for r in rows(workspace, "customers", "customer_id")}
    assert by_id["C1"]["email"] == "new@b.fr"
    assert by_id["C1"]["updated_at"] == datetime(2024, 2, 2, 10, 0)
    # Columns the second file lacks keep their stored values.
    assert by_id["C1"]["first_name"] == "Éloïse"
    assert by_id["C2"]["email"] == "z@y.fr"
    # An offset is converted to UTC.
    assert by_id["C2"]["updated_at"] == datetime(2024, 2, 1, 11, 0)


def test_row_without_updated_at_gets_import_time_only_when_it_changes(
    workspace: Workspace, write: WriteFile
):
    path = write("c.csv", "customer_id;email\nC1;a@b.fr\n")
    workspace.imports.load("customers", path)
    stamped = rows(workspace, "customers", "customer_id")[0]["updated_at"]
    assert isinstance(stamped, datetime)
    workspace.imports.load("customers", path)
    assert rows(workspace, "customers", "customer_id")[0]["updated_at"] == stamped
    workspace.imports.load("customers", write("c2.csv", "customer_id;email\nC1;b@b.fr\n"))
    assert rows(workspace, "customers", "customer_id")[0]["updated_at"] > stamped


def test_strict_refuses_whole_file_but_records_why(workspace: Workspace, write: WriteFile):
    path = write("o.csv", "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,5\nO2,C1,x,5\n")
    with pytest.raises(StrictRefusalError, match="made --strict refuse all 2 rows") as refused:
        workspace.imports.load("orders", path, strict=True)
    assert workspace.counts()["orders"] == 0
    assert refused.value.result.status == "refused"
    result = refused.value.result
    assert (result.read, result.loaded, result.rejected, result.flagged) == (2, 0, 2, 0)
    rejected = workspace.imports.rejects(flagged=False).to_pyarrow().to_pylist()
    assert [r["line"] for r in rejected] == [3]


@pytest.mark.parametrize(
    ("encoding", "bom", "sep"),
    [("utf-8", False, ";"), ("utf-8", True, ";"), ("cp1252", False, ";"), ("latin-1", False, "\t")],
)
def test_french_csv_variants(
    workspace: Workspace, write: WriteFile, encoding: str, bom: bool, sep: str
):
    text = (
        f"customer_id{sep}first_name{sep}city{sep}birth_date\n"
        f"C1{sep}Hélène{sep}Besançon{sep}31/12/1980\n"
        f'C2{sep}"Œdipe ’Noël’"{sep}Saint-Étienne{sep}1975-06-01\n'
    )
    if encoding == "latin-1":
        text = text.replace("Œdipe ’Noël’", "Noël")
    path = write("c.csv", text, encoding=encoding, bom=bom)
    result = workspace.imports.load("customers", path)
    assert (result.loaded, result.rejected) == (2, 0)
    stored = rows(workspace, "customers", "customer_id")
    assert stored[0]["first_name"] == "Hélène"
    assert stored[0]["city"] == "Besançon"
    assert stored[1]["city"] == "Saint-Étienne"
    if encoding != "latin-1":
        assert stored[1]["first_name"] == "Œdipe ’Noël’"
    assert str(stored[0]["birth_date"]) == "1980-12-31"


def test_decimal_comma_and_thousands(workspace: Workspace, write: WriteFile):
    path = write(
        "o.csv",
        "order_id;customer_id;ordered_at;amount;discount_amount\n"
        "O1;C1;2024-01-01;1 234,56 €;1,5\n"
        "O2;C1;2024-01-01;1.500,00;0\n"
        "O3;C1;2024-01-01;12;0,25\n",
    )
    workspace.imports.load("orders", path)
    amounts = [r["amount"] for r in rows(workspace, "orders", "order_id")]
    assert amounts == [1234.56, 1500.0, 12.0]


def test_dot_decimal_file_reads_thousands_with_commas(workspace: Workspace, write: WriteFile):
    path = write(
        "o.csv",
        'order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,"1,500"\nO2,C1,2024-01-01,2.50\n'
        "O3,C1,2024-01-01,0.99\n",
    )
    workspace.imports.load("orders", path)
    assert [r["amount"] for r in rows(workspace, "orders", "order_id")] == [1500.0, 2.5, 0.99]


def test_mapping_and_date_format(workspace: Workspace, write: WriteFile):
    path = write(
        "export.csv",
        "Numéro commande,Client,Date,Montant TTC,Canal\nA1,C1,12/31/2024,10.00,WEB\n",
    )
    result = workspace.imports.load(
        "orders",
        path,
        mapping={
            "order_id": "Numéro commande",
            "customer_id": "Client",
            "ordered_at": "Date",
            "amount": "Montant TTC",
            "channel": "canal",
        },
        date_format="%m/%d/%Y",
    )
    assert result.loaded == 1
    stored = rows(workspace, "orders", "order_id")[0]
    assert stored["ordered_at"] == datetime(2024, 12, 31)
    assert stored["channel"] == "web"


def test_mapping_from_cible_toml(tmp_path: Path, write: WriteFile):
    folder = tmp_path / "cfg"
    Workspace.create(folder).close()
    config = folder / "cible.toml"
    config.write_text(
        config.read_text() + '\n[import.mappings.orders]\namount = "Montant"\n', encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        path = write("o.csv", "order_id;customer_id;ordered_at;Montant\nA;C;2024-01-01;3,5\n")
        assert ws.imports.load("orders", path).loaded == 1


def test_parquet_and_json_lines(workspace: Workspace, tmp_path: Path):
    frame = pd.DataFrame(
        {
            "message_id": ["m1", "m2", "m3"],
            "customer_id": ["C1", None, "C2"],
            "anonymous_id": [None, "a9", None],
            "type": ["track", "page", "track"],
            "event": ["product_viewed", None, "email_opened"],
            "properties": ['{"category": "jeux"}', "{}", "not json"],
            "timestamp": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-02", "2024-01-03"], format="ISO8601"
            ),
        }
    )
    frame.to_parquet(tmp_path / "events.parquet")
    result = workspace.imports.load("events", tmp_path / "events.parquet")
    assert (result.read, result.loaded, result.rejected) == (3, 2, 1)
    assert issues(workspace, flagged=False) == [(3, "properties", "properties is not valid JSON")]

    lines = [
        json.dumps(
            {
                "customer_id": "C1",
                "channel": "email",
                "purpose": "marketing",
                "status": "granted",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        ),
        "",
        "{not json",
        json.dumps(
            {"customer_id": "C1", "channel": "sms", "purpose": "marketing", "status": "maybe"}
        ),
        json.dumps(
            {
                "customer_id": "C1",
                "channel": "email",
                "purpose": "profiling",
                "status": "denied",
                "extra": {"nested": True},
            }
        ),
    ]
    path = tmp_path / "consents.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = workspace.imports.load("consents", path)
    assert (result.read, result.loaded, result.rejected) == (4, 2, 2)
    found = issues(workspace, False, result.import_id)
    assert [(line, col) for line, col, _ in found] == [(3, None), (4, "status")]
    assert result.ignored_columns == ["extra"]


def test_events_without_message_id_get_stable_content_ids(workspace: Workspace, write: WriteFile):
    path = write(
        "e.csv", "customer_id,event,timestamp\nC1,product_viewed,2024-01-01\nC1,cart,2024-01-02\n"
    )
    first = workspace.imports.load("events", path)
    second = workspace.imports.load("events", path)
    assert (first.inserted, second.inserted, second.unchanged) == (2, 0, 2)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            "customers",
            "order_id,customer_id,ordered_at,amount,channel\nO1,C1,2024-01-01,1,web\n",
            "looks like an orders file, not customers",
        ),
        (
            "orders",
            "customer_id,email,first_name\nC1,a@b.fr,Ana\n",
            "looks like a customers file, not orders",
        ),
        (
            "orders",
            "order_id,customer_id\nO1,C1\n",
            "no column for required field(s) ordered_at, amount",
        ),
        ("invoices", "a,b\n1,2\n", "Unknown kind 'invoices'"),
        ("orders", "order_id,customer_id,ordered_at,amount\n", "holds a header but no rows"),
        ("orders", "", "is empty"),
        ("orders", "a,a\n1,2\n", "the header repeats column(s) a"),
    ],
)
def test_wrong_file_or_kind_gives_one_sentence(
    workspace: Workspace, write: WriteFile, kind: str, text: str, message: str
):
    path = write("file.csv", text)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        workspace.imports.load(kind, path)
    assert workspace.counts()["orders"] == 0


def test_binary_and_fake_parquet_are_refused(workspace: Workspace, tmp_path: Path):
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ImportFileError, match="binary file"):
        workspace.imports.load("orders", tmp_path / "x.png")
    (tmp_path / "x.parquet").write_text("order_id\n1\n")
    with pytest.raises(ImportFileError, match="not a Parquet file"):
        workspace.imports.load("orders", tmp_path / "x.parquet")


def test_a_field_mapped_to_nothing_is_not_imported_even_from_its_own_column(
    workspace: Workspace, write: WriteFile
):
    path = write("c.csv", "customer_id,Courriel,phone\nC1,ann@example.com,+33612345678\n")
    seen = workspace.imports.preview("customers", path, mapping={"email": None, "phone": ""})
    assert seen.mapping == {"customer_id": "customer_id"}
    result = workspace.imports.load("customers", path, mapping={"email": None, "phone": ""})
    assert result.loaded == 1 and result.ignored_columns == ["Courriel", "phone"]
    stored = rows(workspace, "customers", "customer_id")[0]
    assert (stored["email"], stored["phone"]) == (None, None)


def test_unknown_map_target_or_column(workspace: Workspace, write: WriteFile):
    path = write("o.csv", "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,1\n")
    with pytest.raises(ImportFileError, match="not a field of orders"):
        workspace.imports.load("orders", path, mapping={"price": "amount"})
    with pytest.raises(ImportFileError, match="the file has no column 'Total'"):
        workspace.imports.load("orders", path, mapping={"amount": "Total"})


def test_custom_attribute_declared_in_config_is_imported_and_checked(
    tmp_path: Path, write: WriteFile
):
    folder = tmp_path / "custom"
    Workspace.create(folder).close()
    config = folder / "cible.toml"
    config.write_text(
        config.read_text()
        + '\n[attributes.loyalty_tier]\ntype = "enum"\nvalues = ["Gold", "Silver"]\n'
        'category = "value"\n',
        encoding="utf-8",
    )
    with Workspace.open(folder) as ws:
        path = write("c.csv", "customer_id,loyalty_tier\nC1,GOLD\nC2,bronze\n")
        result = ws.imports.load("customers", path)
        assert (result.loaded, result.rejected) == (1, 1)
        assert rows(ws, "customers", "customer_id")[0]["loyalty_tier"] == "gold"


def test_import_stores_normalised_values_and_flags_invalid_ones(
    workspace: Workspace, write: WriteFile
):
    path = write(
        "c.csv",
        "customer_id;email;phone;first_name;city;country;postal_code\n"
        "C1; Ana@B.FR ;06 12 34 56 78;ANA;PARIS;France;75011\n"
        "C2;bad@@b.fr;06 12;luc;lyon;FR;7501\n",
    )
    result = workspace.imports.load("customers", path)
    assert (result.loaded, result.rejected, result.flagged) == (2, 0, 1)
    stored = {r["customer_id"]: r for r in rows(workspace, "customers", "customer_id")}
    assert stored["C1"]["email"] == "ana@b.fr"
    assert stored["C1"]["phone"] == "+33612345678"
    assert stored["C2"]["phone"] == "06 12"
    issues = workspace.imports.rejects().to_pyarrow().to_pylist()
    assert [(i["line"], i["column_name"], i["value"], i["severity"]) for i in issues] == [
        (3, "email", "bad@@b.fr", "flagged"),
        (3, "phone", "06 12", "flagged"),
        (3, "postal_code", "7501", "flagged"),
    ]
    # What the import stored is already normal.
    assert set(workspace.quality.normalise().values()) == {0}


def test_phone_region_of_the_workspace_applies_and_flags_never_refuse(
    tmp_path: Path, write: WriteFile
):
    config = WorkspaceConfig.model_validate({"quality": {"phone_region": "BE"}})
    path = write("c.csv", "customer_id;phone\nC1;02 512 34 56\nC2;12\n")
    with Workspace.create(tmp_path / "be", config=config) as ws:
        result = ws.imports.load("customers", path, strict=True)
        assert (result.status, result.loaded, result.flagged) == ("loaded", 2, 1)
        phones = [r["phone"] for r in rows(ws, "customers", "customer_id")]
    assert phones == ["+3225123456", "12"]


def test_one_cp1252_line_in_a_utf8_file_is_rejected_not_decoded_for_all(
    workspace: Workspace, tmp_path: Path
):
    path = tmp_path / "c.csv"
    good = ["customer_id,first_name"] + [f"c{i},Hélène" for i in range(1000)]
    path.write_bytes(("\n".join(good) + "\n").encode() + "c9999,Hélène\n".encode("cp1252"))
    result = workspace.imports.load("customers", path)
    assert (result.read, result.loaded, result.rejected) == (1001, 1000, 1)
    assert result.encoding == "utf-8"
    assert {r["first_name"] for r in rows(workspace, "customers", "customer_id")} == {"Hélène"}
    found = workspace.imports.rejects(flagged=False).to_pyarrow().to_pylist()
    assert [(r["line"], r["value"], r["reason"]) for r in found] == [
        (
            1002,
            "c9999,H\\xe9l\\xe8ne",
            "not valid UTF-8 text (byte 0xe9 at column 8); the rest of the file is UTF-8",
        )
    ]


@pytest.mark.parametrize("name", ["c.csv", "c.jsonl"])
def test_nul_byte_rejects_its_line_near_the_start_or_far_in(
    workspace: Workspace, tmp_path: Path, name: str
):
    def line(i: int, value: str) -> str:
        return (
            f'{{"customer_id": "c{i}", "city": "{value}"}}\n'
            if "json" in name
            else f"c{i},{value}\n"
        )

    # One NUL in the first kilobyte, one past the first megabyte (once read as binary).
    body = [line(i, "Nantes") for i in range(40_000)]
    body[2] = line(2, "Na\x00ntes")
    body.append(line(99_999, "x\x00"))
    header = "" if "json" in name else "customer_id,city\n"
    path = tmp_path / name
    path.write_bytes((header + "".join(body)).encode())
    result = workspace.imports.load("customers", path)
    assert (result.read, result.loaded, result.rejected) == (40_001, 39_999, 2)
    found = workspace.imports.rejects(flagged=False).to_pyarrow().to_pylist()
    first = 3 + len(header.splitlines())
    assert [r["line"] for r in found] == [first, first + 40_000 - 2]
    assert "NUL byte" in found[0]["reason"]
    cities = {r["city"] for r in rows(workspace, "customers", "customer_id")}
    assert cities == {"Nantes"}


@pytest.mark.parametrize("name", ["c.csv", "c.jsonl"])
def test_a_line_over_ten_megabytes_is_rejected_alone(
    workspace: Workspace, tmp_path: Path, name: str
):
    long = "x" * 10_000_001
    if name.endswith(".csv"):
        text = f"customer_id,city\nc1,{'y' * 200_000}\nc2,{long}\nc3,Brest\n"
        line = 3
    else:
        text = f'{{"customer_id": "c1"}}\n{{"customer_id": "c2", "city": "{long}"}}\n'
        text += '{"customer_id": "c3"}\n'
        line = 2
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = workspace.imports.load("customers", path)
    assert (result.read, result.rejected) == (3, 1 + name.endswith(".csv"))
    reasons = {r[0]: r[2] for r in issues(workspace, flagged=False)}
    assert reasons[line] == "line longer than 10,000,000 bytes, the most Cible reads"


def test_a_value_running_past_the_limit_in_python_reader_is_one_sentence(
    workspace: Workspace, tmp_path: Path
):
    # A blank line sends the file to Python's reader, whose field limit the quoted
    # value spanning five million lines passes.
    path = tmp_path / "c.csv"
    path.write_bytes(b'customer_id,city\nc1,a\n\nc2,"' + b"z\n" * 5_000_001 + b'"\nc3,b\n')
    with pytest.raises(ImportFileError, match=r"c.csv, line 4: record longer than 10,000,000"):
        workspace.imports.load("customers", path)


def test_parquet_refuses_repeated_columns_as_csv_does(workspace: Workspace, tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for names, repeated in [
        (["customer_id", "city", "city"], "city"),
        (["customer_id", "City", "city"], "City, city"),
    ]:
        path = tmp_path / "c.parquet"
        pq.write_table(pa.Table.from_arrays([pa.array(["a"])] * 3, names=names), path)
        with pytest.raises(ImportFileError, match=rf"the header repeats column\(s\) {repeated}\."):
            workspace.imports.load("customers", path)
    assert workspace.counts()["customers"] == 0


def test_json_line_with_a_repeated_key_is_rejected(workspace: Workspace, tmp_path: Path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"customer_id": "c1", "city": "Lyon", "city": "Nice"}\n'
        '{"customer_id": "c2", "": 1, "a/b": 2, "city": "Brest"}\n'
        '{"customer_id": "c3", "x\\u0007": 1}\n',
        encoding="utf-8",
    )
    result = workspace.imports.load("customers", path)
    assert (result.read, result.loaded, result.rejected) == (3, 1, 2)
    assert issues(workspace, flagged=False) == [
        (1, None, "the line repeats key(s) city: each key must appear once"),
        (
            3,
            None,
            "a key of the line cannot be a column name: longer than 1,000 characters or "
            "holding control characters",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customer_id,e\x1b[31mmail\nc1,x\n", "the name of column 2 holds control characters"),
        ("customer_id," + "n" * 1001 + "\nc1,x\n", "the name of column 2 is 1,001 characters"),
        ("customer_id" + ",c" * 2000 + "\nc1\n", "has 2,001 columns; Cible reads at most 2,000"),
        ("\ufeff", "is empty"),
    ],
)
def test_unusable_headers_are_one_sentence(
    workspace: Workspace, write: WriteFile, text: str, message: str
):
    with pytest.raises(ImportFileError, match=re.escape(message)):
        workspace.imports.load("customers", write("c.csv", text))


def test_json_lines_all_rejected_say_why(workspace: Workspace, tmp_path: Path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"customer_id": "a\x01"}\n')
    with pytest.raises(ImportFileError, match="every line was rejected; line 1: not valid JSON"):
        workspace.imports.load("customers", path)


def test_json_lines_of_empty_objects_say_so(workspace: Workspace, tmp_path: Path):
    path = tmp_path / "e.jsonl"
    path.write_text("{}\n{}\n")
    with pytest.raises(ImportFileError, match="no line holds a field"):
        workspace.imports.load("events", path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"date_format": "%Y" * 51}, "--date-format is 102 characters long"),
        ({"date_format": "dd/mm/yyyy"}, "not a strftime layout"),
        ({"delimiter": '"'}, "cannot separate values"),
    ],
)
def test_absurd_options_are_refused(
    workspace: Workspace, write: WriteFile, options: dict[str, str], message: str
):
    path = write("o.csv", "order_id,customer_id,ordered_at,amount\no1,c1,01/02/2024,5\n")
    with pytest.raises(ImportFileError, match=message):
        workspace.imports.load("orders", path, **options)

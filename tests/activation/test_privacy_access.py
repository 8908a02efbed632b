"""Access, the consent ledger, the record of processing and retention, on a small shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.errors import UnknownCustomerError
from cible.domain.json_values import dumps_json
from cible.reporting.privacy_access import render_access_page, render_record
from tests.activation.privacy_shop import AS_OF, HOSTILE, LEGAL_BASIS, SEGMENT, build_shop

#: Each list of the export, the table it comes from and the column identifying a row.
SOURCES = {
    "orders": ("orders", "order_id"),
    "events": ("events", "message_id"),
    "consents": ("consents", "recorded_at"),
    "surveys": ("surveys", "response_id"),
    "tickets": ("tickets", "ticket_id"),
    "tags": ("customer_tags", "change_id"),
    "deliveries": ("deliveries", "delivery_id"),
    "campaign_assignments": ("campaign_assignments", "campaign_id"),
    "segments": ("segment_memberships", "segment_id"),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("privacy"))


@pytest.fixture
def ws(shop: Path) -> Iterator[Workspace]:
    with Workspace.open(shop) as opened:
        yield opened


def _reference(ws: Workspace, table: str, customer_id: str, column: str) -> list[str]:
    frame = ws.table(table).to_pandas()
    return sorted(str(v) for v in frame.loc[frame.customer_id == customer_id, column])


@pytest.mark.parametrize("customer_id", ["a", "b"])
def test_export_holds_every_row_of_the_customer_and_nobody_elses(
    ws: Workspace, customer_id: str
) -> None:
    held = ws.privacy_access.export(customer_id)
    assert held["profile"]["customer_id"] == customer_id
    for key, (table, column) in SOURCES.items():
        exported = sorted(str(row[column]) for row in held[key])
        assert exported == _reference(ws, table, customer_id, column), key
        assert all(row.get("customer_id", customer_id) == customer_id for row in held[key]), key
    lines = ws.table("order_lines").to_pandas()
    for order in held["orders"]:
        expected = lines.loc[lines.order_id == order["order_id"], "product_id"].tolist()
        assert [line["product_id"] for line in order["lines"]] == expected
    assert held["traits"]["customer_id"] == customer_id
    assert held["current_tags"] == ["vip"]
    # The other Lyon customer appears nowhere: not their e-mail, order, answer or ticket.
    other = "b" if customer_id == "a" else "a"
    text = dumps_json(held)
    for theirs in ws.privacy_access.export(other)["orders"]:
        assert f'"{theirs["order_id"]}"' not in text
    assert f"{'bob' if other == 'b' else 'ann'}@example.com" not in text


def test_the_segments_of_the_export_are_named_and_explained_by_the_catalog(ws: Workspace) -> None:
    stays = {s["segment_id"]: s for s in ws.privacy_access.export("a")["segments"]}
    lyon = stays["lyon-buyers"]
    assert lyon["name"] == SEGMENT["name"] and lyon["description"] == SEGMENT["description"]
    assert lyon["current"] and lyon["kind"] == "rule"


def test_every_export_is_in_the_audit_log(ws: Workspace) -> None:
    ws.privacy_access.export("b", actor="dpo")
    entry = ws.audit_log.entries(action="privacy.export")[0]  # newest first
    assert (entry.actor, entry.action, entry.target) == ("dpo", "privacy.export", "b")


def test_an_unknown_customer_is_one_sentence_naming_the_id(ws: Workspace) -> None:
    with pytest.raises(UnknownCustomerError, match="No customer 'nobody'") as caught:
        ws.privacy_access.export("nobody")
    with pytest.raises(UnknownCustomerError):
        ws.privacy_access.consents("nobody")
    assert str(caught.value).count(". ") == 0


def test_the_consent_ledger_keeps_sources_dates_and_the_current_state(ws: Workspace) -> None:
    found = ws.privacy_access.consents("a")
    assert [(r["status"], r["source"], r["recorded_at"]) for r in found["ledger"]] == [
        ("granted", "signup-form", datetime(2024, 1, 1)),
        ("withdrawn", "unsubscribe-link", datetime(2025, 12, 1)),
    ]
    assert found["ledger"][0]["proof"] == "form-17"
    assert [(c["channel"], c["status"]) for c in found["current"]] == [("email", "withdrawn")]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Your data", "Lyon buyers", "Customers living in Lyon who bought"]),
        ("fr", ["Vos données", "Acheteurs lyonnais", "Clients habitant Lyon ayant acheté"]),
    ],
)
def test_the_page_is_in_french_and_english_and_escapes_names(
    ws: Workspace, lang: str, words: list[str]
) -> None:
    page = render_access_page(ws.privacy_access.export("a"), lang)
    assert all(word in page for word in words)
    # The import capitalises a first name: compare without case.
    hostile = render_access_page(ws.privacy_access.export("x"), lang).lower()
    assert HOSTILE not in hostile and "<script" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile


def test_the_record_lists_what_a_rule_reads_and_a_special_fields_legal_basis(
    ws: Workspace,
) -> None:
    record = ws.privacy_access.record()
    segments = {s["id"]: s for s in record["segments"]}
    assert segments["lyon-buyers"]["reads"] == {"attributes": ["city"], "traits": ["frequency"]}
    assert {"table": "customers", "field": "health_note", "legal_basis": LEGAL_BASIS} in record[
        "special_fields"
    ]
    held = {d["table"]: d for d in record["data"]}
    assert {t: d["rows"] for t, d in held.items()} == ws.counts()
    note = next(f for f in held["customers"]["fields"] if f["name"] == "health_note")
    assert (note["sensitivity"], note["legal_basis"]) == ("special", LEGAL_BASIS)
    assert record["recipients"]["webhooks"][0]["name"] == "crm"
    assert record["retention"] == {"prospect_days": 1095, "customer_inactive_days": 1825}


def test_the_records_purposes_count_current_consents_as_pandas_does(ws: Workspace) -> None:
    ledger = ws.table("consents").to_pandas().sort_values("recorded_at")
    current = ledger.groupby(["customer_id", "channel", "purpose"]).tail(1)
    expected = (
        current.groupby(["channel", "purpose", "status"]).size().unstack(fill_value=0).reset_index()
    )
    found = pd.DataFrame(ws.privacy_access.record()["purposes"])
    for _, row in expected.iterrows():
        got = found[(found.channel == row.channel) & (found.purpose == row.purpose)].iloc[0]
        for status in ("granted", "denied", "withdrawn"):
            assert got[status] == row.get(status, 0)
    assert found.records.sum() == len(ledger)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_record_reads_in_both_languages(ws: Workspace, lang: str, fmt: str) -> None:
    text = render_record(ws.privacy_access.record(), lang, fmt)
    title = {"en": "Record of processing activities", "fr": "Registre des activités"}[lang]
    assert title in text and LEGAL_BASIS in text and "attributes: city" in text


def test_retention_lists_an_old_prospect_and_a_lapsed_customer_not_recent_ones(
    ws: Workspace,
) -> None:
    found = ws.privacy_access.retention(as_of=AS_OF)
    listed = {c["customer_id"]: c for c in found["customers"]}
    assert set(listed) == {"old", "lapsed"}
    assert listed["old"]["kind"] == "prospect"
    assert listed["old"]["last_interaction_at"] == datetime(2019, 1, 1)
    assert listed["lapsed"]["kind"] == "inactive_customer"
    assert listed["lapsed"]["last_interaction_at"] == datetime(2018, 3, 1)
    assert found["counts"] == {"prospects": 1, "inactive_customers": 1}
    page = ws.privacy_access.retention(as_of=AS_OF, limit=1, offset=1)
    assert [c["customer_id"] for c in page["customers"]] == ["old"]  # after 2018's order
    assert page["total"] == 2


def test_retention_follows_the_privacy_settings(tmp_path: Path) -> None:
    shop = build_shop(tmp_path)
    toml = shop / "cible.toml"
    toml.write_text(toml.read_text().replace("prospect_days = 1095", "prospect_days = 100"))
    with Workspace.open(shop) as ws:
        found = ws.privacy_access.retention(as_of=AS_OF)
    assert {c["customer_id"] for c in found["customers"]} == {"old", "fresh", "lapsed"}
    with pytest.raises(ValueError, match="limit must be between"):
        ws.privacy_access.retention(limit=0)


def test_pseudonymising_clears_contacts_of_those_past_retention_only(tmp_path: Path) -> None:
    shop = build_shop(tmp_path)
    with Workspace.open(shop) as ws:
        revenue = ws.table("orders").amount.sum().execute()
        done = ws.privacy_access.pseudonymise_past_retention(as_of=AS_OF, actor="dpo")
        people = ws.table("customers").to_pandas().set_index("customer_id")
        assert done["customers"] == 2
        for cleared in ("old", "lapsed"):
            assert people.loc[cleared, ["email", "first_name", "postal_code"]].isna().all()
            assert people.loc[cleared, "city"] is not None  # not an identifying field
        assert people.loc["a", "email"] == "ann@example.com"
        assert ws.table("orders").amount.sum().execute() == revenue
        entry = ws.audit_log.entries(action="privacy.pseudonymise")[0]
        assert (entry.actor, entry.detail["customers"]) == ("dpo", 2)


def test_the_record_names_a_clusterings_traits_and_a_campaigns_segments(tmp_path: Path) -> None:
    from datetime import date

    from cible.demo import build_demo

    build_demo(tmp_path / "demo", customers=800, seed=3, end_date=date(2026, 6, 30))
    with Workspace.open(tmp_path / "demo") as ws:
        ws.run(as_of=datetime(2026, 6, 30))
        ws.cluster(k=3, random_state=0, n_bootstrap=0, dimension="behaviour")
        record = ws.privacy_access.record()
        campaigns = {c.campaign_id: c for c in ws.store.list_campaigns()}
        card = ws.table("models").filter(lambda t: t.kind == "cluster").card.execute()[0]
    (clustering,) = record["clusterings"]
    assert clustering["dimension"] == "behaviour"
    traits = card["traits"] if isinstance(card, dict) else json.loads(card)["traits"]
    assert clustering["features"] == traits != []
    assert {c["id"] for c in record["campaigns"]} == set(campaigns)
    for found in record["campaigns"]:
        definition = campaigns[found["id"]].definition
        assert found["segments"] and all(f'"{s}"' in definition for s in found["segments"])


def test_pseudonymising_nobody_changes_nothing_and_is_audited(tmp_path: Path) -> None:
    # Regression: an empty list of ids made DuckDB's executemany fail (a 500 in the API).
    shop = build_shop(tmp_path)
    with Workspace.open(shop) as ws:
        before = ws.table("customers").to_pandas()
        done = ws.privacy_access.pseudonymise_past_retention(as_of=datetime(2000, 1, 1))
        assert done["customers"] == 0
        after = ws.table("customers").to_pandas()
        pd.testing.assert_frame_equal(before, after)
        assert ws.audit_log.entries(action="privacy.pseudonymise")[0].detail["customers"] == 0


def test_deleting_past_retention_erases_those_customers_everywhere_and_only_them(
    tmp_path: Path,
) -> None:
    shop = build_shop(tmp_path)
    with Workspace.open(shop) as ws:
        due = ws.privacy_access.past_retention_ids(as_of=AS_OF)
        kept = ws.table("customers").count().execute() - len(due)
        contacts = ws.table("customers").to_pandas().set_index("customer_id").loc[due, "email"]
        done = ws.privacy.erase_many(due, actor="dpo", reason="retention period over")
        assert sorted(due) == ["lapsed", "old"]
        assert (done["customers"], done["skipped"], done["tombstones"]) == (2, 0, 4)
        for table in ws.privacy.customer_tables():
            ids = set(ws.table(table).customer_id.to_pyarrow().to_pylist())
            assert not ids & set(due), table
        assert ws.table("customers").count().execute() == kept
        assert ws.privacy_access.retention(as_of=AS_OF)["total"] == 0
        entries = ws.audit_log.entries(action="privacy.erase")
        assert len(entries) == 2 and {e.actor for e in entries} == {"dpo"}
        assert all(e.detail["reason"] == "retention period over" for e in entries)
    # The file was rewritten: the erased e-mails are no longer in its bytes.
    data = (shop / "cible.duckdb").read_bytes()
    for email in contacts.dropna():
        assert email.encode() not in data


def test_an_error_part_way_through_deleting_still_rewrites_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customers erased before a failure are committed: their values must leave the
    file's freed blocks even though the work stops, and the error still reaches the caller."""
    shop = build_shop(tmp_path)
    with Workspace.open(shop) as ws:
        emails = ws.table("customers").to_pandas().set_index("customer_id").email
        erase_customer = ws.store.erase_customer

        def fails_on_lapsed(customer_id: str, **kwargs: object) -> dict[str, int]:
            if customer_id == "lapsed":
                raise RuntimeError("disk full")
            return erase_customer(customer_id, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ws.store, "erase_customer", fails_on_lapsed)
        rewrites: list[bool] = []
        rewrite_file = ws.store.rewrite_file
        monkeypatch.setattr(
            ws.store, "rewrite_file", lambda: rewrites.append(True) or rewrite_file()
        )
        with pytest.raises(RuntimeError, match="disk full"):
            ws.privacy.erase_many(["old", "lapsed"], actor="dpo")
        left = set(ws.table("customers").customer_id.to_pyarrow().to_pylist())
        assert "old" not in left and "lapsed" in left
        assert rewrites == [True]
    data = (shop / "cible.duckdb").read_bytes()
    assert emails["old"].encode() not in data
    assert emails["lapsed"].encode() in data


def test_a_failure_before_any_erasure_leaves_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = build_shop(tmp_path)
    with Workspace.open(shop) as ws:

        def fails(customer_id: str, **kwargs: object) -> dict[str, int]:
            raise RuntimeError("disk full")

        monkeypatch.setattr(ws.store, "erase_customer", fails)
        rewrites: list[bool] = []
        monkeypatch.setattr(ws.store, "rewrite_file", lambda: rewrites.append(True))
        with pytest.raises(RuntimeError, match="disk full"):
            ws.privacy.erase_many(["old"], actor="dpo")
        assert rewrites == []

"""ws.privacy: erasure from every table and file, the tombstone, the suppression list."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.ingest.payloads import Identify, Page, Track
from cible.store.deliveries import NewDelivery
from cible.store.privacy import CUSTOMER_TABLES

# Distinctive values: found in the files only if the workspace still holds them.
EMAIL = "zorglub.vonbraunwald@example.test"
FIRST, LAST = "Zorglubine", "Vonbraunwald"
PHONE = "+33 6 98 76 54 32"

CUSTOMERS = (
    "customer_id,email,first_name,last_name,phone\n"
    f"erased-1,{EMAIL},{FIRST},{LAST},{PHONE}\n"
    "kept-1,kept@example.com,Keeper,Stays,+33 6 11 11 11 11\n"
)
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "o1,erased-1,2025-01-02,30\no2,kept-1,2025-01-03,20\no3,erased-1,2025-01-20,45\n"
)
LINES = "order_id,product_id,quantity,unit_price\no1,p1,1,30\no2,p1,1,20\no3,p2,3,15\n"
CONSENTS = (
    "customer_id,channel,purpose,status\n"
    "erased-1,email,marketing,granted\nkept-1,email,marketing,granted\n"
)
SURVEYS = (
    "response_id,customer_id,answered_at,kind,score,comment\n"
    f"r1,erased-1,2025-01-10,nps,9,Signed {FIRST} {LAST}\nr2,kept-1,2025-01-11,nps,7,ok\n"
)
TICKETS = (
    "ticket_id,customer_id,opened_at,topic,status\n"
    "t1,erased-1,2025-01-12,delivery,open\nt2,kept-1,2025-01-13,billing,closed\n"
)
AS_OF = datetime(2025, 2, 1)


def _load(ws: Workspace, folder: Path, kind: str, text: str) -> None:
    path = folder / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    ws.imports.load(kind, path)


def make_shop(tmp_path: Path) -> Path:
    """A workspace where ``erased-1`` is in every table that can hold a customer."""
    files = tmp_path / "files"
    files.mkdir()
    shop = tmp_path / "shop"
    with Workspace.create(shop) as ws:
        for kind, text in (
            ("customers", CUSTOMERS),
            ("orders", ORDERS),
            ("order-lines", LINES),
            ("consents", CONSENTS),
            ("surveys", SURVEYS),
            ("tickets", TICKETS),
        ):
            _load(ws, files, kind, text)
        # A bad row of the customer: their e-mail sits in the rejects.
        _load(
            ws, files, "customers", f"customer_id,email,birth_date\nerased-1,{EMAIL},not a date\n"
        )
        # Live events: an anonymous visit, then the identify that links it.
        ws.events.append([Page(anonymousId="cookie-e", messageId="m1", name="Home")])
        ws.events.append(
            [
                Identify(
                    userId="erased-1",
                    anonymousId="cookie-e",
                    messageId="m2",
                    traits={"email": EMAIL, "first_name": FIRST},
                ),
                Track(userId="kept-1", event="Clicked", messageId="m3"),
            ]
        )
        ws.run(as_of=AS_OF, snapshot=True)
        ws.tags.define("vip")
        ws.tags.apply("vip", ["erased-1", "kept-1"], actor="cli")
        ws.store.enqueue_deliveries(
            [
                NewDelivery("k1", "email", "erased-1", EMAIL, json.dumps({"to": EMAIL})),
                NewDelivery("k2", "email", "kept-1", "kept@example.com", "{}"),
            ],
            at=AS_OF,
        )
        ws.audit_log.record("cli", "tag.apply", "customer:erased-1", "ok", {"email": EMAIL})
        ws.audit_log.record("cli", "tag.apply", "customer:kept-1", "ok", {"customer_id": "kept-1"})
        # A merge that folded a duplicate into the customer, with its before-image.
        con = ws.store.connection
        con.execute(
            "INSERT INTO merges VALUES (1, now(), 'erased-1', '[\"erased-dup\"]', 1.0, 'email',"
            " 'applied', NULL)"
        )
        con.execute(
            "INSERT INTO merge_rows VALUES (1, 'customers', 'erased-dup', 'deleted', ?)",
            [json.dumps({"customer_id": "erased-dup", "email": EMAIL, "last_name": LAST})],
        )
        con.execute("CHECKPOINT")
    return shop


def _rows_of(ws: Workspace, customer_id: str) -> dict[str, int]:
    found = {}
    for name in ws.privacy.customer_tables():
        table = ws.table(name)
        count = int(table.filter(table.customer_id == customer_id).count().execute())
        if count:
            found[name] = count
    return found


def test_erasure_leaves_no_row_of_the_customer_in_any_table(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        before = _rows_of(ws, "erased-1")
        kept_before = _rows_of(ws, "kept-1")
        lines_before = int(ws.table("order_lines").count().execute())
        done = ws.privacy.erase("erased-1", actor="dpo", reason="art. 17 request")
        # Read through the rewritten file, as any later command does.
        assert _rows_of(ws, "erased-1") == {}
    with Workspace.open(shop) as ws:
        assert _rows_of(ws, "erased-1") == {}
        assert _rows_of(ws, "kept-1") == kept_before
        assert int(ws.table("order_lines").count().execute()) == lines_before - 2
        events = ws.table("events").to_pyarrow().to_pylist()
        assert [e["message_id"] for e in events] == ["m3"]  # the anonymous visit went too
        assert int(ws.table("merges").count().execute()) == 0
        assert int(ws.table("merge_rows").count().execute()) == 0
        issues = ws.table("import_issues").to_pyarrow().to_pylist()
        assert all(EMAIL not in str(i["value"]) and i["value"] != "erased-1" for i in issues)
    # Every table that held the customer was reached, and the count says so.
    assert {"customers", "orders", "events", "consents", "segment_memberships"} <= set(before)
    assert set(before) <= set(done.deleted)
    assert done.deleted["order_lines"] == 2 and done.deleted["merge_rows"] == 1
    assert done.tombstones == 3


def test_every_table_with_a_customer_id_is_known_to_the_erasure(tmp_path: Path) -> None:
    # A new table holding customer ids must be added to CUSTOMER_TABLES (and to
    # docs/privacy.md): erasure reaches it anyway, but what it promises must say so.
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        found = set(ws.privacy.customer_tables())
    assert found - set(CUSTOMER_TABLES) == set()
    # The rich workspace above really has them: the check is not vacuous.
    assert len(found) >= 15


def test_the_workspace_files_no_longer_hold_the_email_or_the_name(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    database = (shop / "cible.duckdb").read_bytes()
    assert EMAIL.encode() in database and LAST.encode() in database  # the test can fail
    (shop / "source").mkdir()
    (shop / "source" / "customers.csv").write_text(CUSTOMERS, encoding="cp1252")
    with Workspace.open(shop) as ws:
        done = ws.privacy.erase("erased-1", actor="cli")
    assert done.files_to_clean == ["source/customers.csv"]
    for path in shop.rglob("*"):
        if path.is_file() and path.parent == shop:
            content = path.read_bytes()
            for value in (EMAIL, FIRST, LAST, "98 76 54 32", "+33698765432"):
                assert value.encode() not in content, (path.name, value)


def test_the_audit_entry_names_the_customer_by_digest_only(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        done = ws.privacy.erase("erased-1", actor="dpo", reason="request of 2025-02-01")
        entries = ws.audit_log.entries(limit=100)
    erase = [e for e in entries if e.action == "privacy.erase"]
    assert len(erase) == 1 and erase[0].actor == "dpo"
    assert erase[0].detail["subject"] == done.subject and len(done.subject) == 64
    text = json.dumps([(e.target, e.detail) for e in entries])
    assert "erased-1" not in text and EMAIL not in text
    # The other entries are kept, the one about the erased customer without its detail.
    applied = [e for e in entries if e.action == "tag.apply"]
    assert len(applied) == 2
    assert {"customer_id": "kept-1"} in [e.detail for e in applied]


def test_reimporting_the_erased_customer_is_refused_with_a_reject(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    again = tmp_path / "again.csv"
    # Same e-mail and phone, written differently, under a new id: still refused.
    again.write_text(
        "customer_id,email,phone\nnew-9,ZORGLUB.VonBraunwald@example.test ,\n"
        "erased-1,,\nfresh-1,fresh@example.com,\nnew-8,,0033 6 98 76 54 32\n",
        encoding="utf-8",
    )
    with Workspace.open(shop) as ws:
        ws.privacy.erase("erased-1", actor="cli")
        result = ws.imports.load("customers", again)
        rejects = ws.imports.rejects(result.import_id).to_pyarrow().to_pylist()
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    assert (result.loaded, result.rejected) == (1, 3)  # the phone is normalised first
    assert sorted(ids) == ["fresh-1", "kept-1"]
    reasons = {(r["line"], r["column_name"], r["reason"], r["value"]) for r in rejects}
    assert (2, "email", "suppressed", None) in reasons
    assert (3, "customer_id", "suppressed", None) in reasons


def test_orders_of_an_erased_customer_are_refused(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    orders = tmp_path / "late.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,amount\no9,erased-1,2025-03-01,10\n", encoding="utf-8"
    )
    with Workspace.open(shop) as ws:
        ws.privacy.erase("erased-1", actor="cli")
        result = ws.imports.load("orders", orders)
    assert (result.loaded, result.rejected) == (0, 1)


def test_erasing_an_unknown_customer_says_so_and_lists_nothing(workspace: Workspace) -> None:
    with pytest.raises(CibleError, match="No customer 'ghost'"):
        workspace.privacy.erase("ghost", actor="cli")
    assert workspace.privacy.suppressions()["total"] == 0


def test_live_messages_of_an_erased_or_suppressed_customer_are_dropped(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        ws.privacy.erase("erased-1", actor="cli")
        ws.privacy.suppress("email", "Kept@Example.com", "opted out")
        result = ws.events.append(
            [
                Identify(userId="back-1", messageId="n1", traits={"email": EMAIL.upper()}),
                Track(userId="erased-1", event="Clicked", messageId="n2"),
                Track(userId="kept-1", event="Clicked", messageId="n3"),  # profile e-mail
                Identify(anonymousId="x", messageId="n4", traits={"phone": "06 98 76 54 32"}),
                Track(userId="other", event="Clicked", messageId="n5"),
            ]
        )
        stored = ws.table("events").message_id.to_pyarrow().to_pylist()
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    assert (result.accepted, result.suppressed) == (1, 4)
    assert result.stored == (False, False, False, False, True)
    assert "n5" in stored and not {"n1", "n2", "n3", "n4"} & set(stored)
    assert "back-1" not in ids


def test_a_suppressed_email_is_refused_at_import_and_never_exported(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        assert ws.privacy.suppress("email", " KEPT@example.com", "complaint")
        assert not ws.privacy.suppress("email", "kept@example.com")  # already listed
        kept = ws.table("segment_memberships").filter(lambda t: t.customer_id == "kept-1")
        segment = kept.segment_id.to_pyarrow().to_pylist()[0]
        for channel in (None, "email"):
            audience = ws.exports.audience(segment, channel)
            assert "kept-1" not in audience.table.column("customer_id").to_pylist()
            assert audience.excluded["suppressed"] == 1
        path = tmp_path / "back.csv"
        path.write_text("customer_id,email\nk2,kept@EXAMPLE.com\n", encoding="utf-8")
        result = ws.imports.load("customers", path)
        assert result.rejected == 1
        assert ws.privacy.unsuppress("email", "kept@example.com")
        assert ws.exports.audience(segment, "email").excluded.get("suppressed") is None
        assert ws.privacy.is_suppressed("email", "kept@example.com") is False


def test_deliveries_about_a_suppressed_customer_are_skipped(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        ws.privacy.suppress("customer_id", "kept-1")
        ready = ws.deliveries.claim(now=datetime(2025, 2, 2))
        skipped = ws.deliveries.list(customer="kept-1")
    assert [d.customer_id for d in ready] == ["erased-1"]
    assert [(d.status, d.last_error) for d in skipped] == [("skipped", "suppressed")]


def test_suppressions_hold_no_value_and_count_by_kind_and_reason(workspace: Workspace) -> None:
    workspace.privacy.suppress("phone", "+33 6 12 34 56 78", "opted out")
    workspace.privacy.suppress("customer_id", "c-42", "legal hold")
    counts = workspace.privacy.suppressions()
    assert counts == {
        "total": 2,
        "by_kind": {"customer_id": 1, "phone": 1},
        "by_reason": {"legal hold": 1, "opted out": 1},
    }
    stored = workspace.table("suppressions").to_pyarrow().to_pylist()
    assert all("33612345678" not in r["digest"] and "c-42" not in r["digest"] for r in stored)
    with pytest.raises(CibleError, match="Unknown kind 'fax'"):
        workspace.privacy.suppress("fax", "123")
    with pytest.raises(CibleError, match="empty"):
        workspace.privacy.suppress("phone", " - ")

"""ws.events.append: stored once, identities linked, identify traits through the importer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from cible import Workspace
from cible.domain.clock import utc_now
from cible.ingest.payloads import Alias, Identify, Page, Track
from tests.conftest import WriteFile, rows

T0 = datetime(2024, 5, 1, 12)


def test_a_message_id_is_stored_once_across_calls_and_within_one(workspace: Workspace):
    click = Track(userId="c1", event="Clicked", messageId="m1", timestamp=T0)
    other = Track(userId="c1", event="Clicked", messageId="m2", timestamp=T0)
    first = workspace.events.append([click, click, other])
    again = workspace.events.append([other, click])
    assert (first.accepted, first.duplicates, first.stored) == (2, 1, (True, False, True))
    assert (again.accepted, again.duplicates) == (0, 2)
    assert [r["message_id"] for r in rows(workspace, "events", "message_id")] == ["m1", "m2"]


def test_ids_older_than_the_window_are_forgotten(workspace: Workspace):
    click = Track(userId="c1", event="Clicked", messageId="m1", timestamp=T0)
    workspace.events.append([click], received_at=T0)
    # Still in the 7-day window: a duplicate.
    assert workspace.events.append([click], received_at=T0 + timedelta(days=6)).duplicates == 1
    # A later call prunes ids older than the window, so the id is new again.
    assert workspace.events.append([click], received_at=T0 + timedelta(days=8)).accepted == 1
    window = workspace.table("event_ids").to_pyarrow().to_pylist()
    assert [r["received_at"] for r in window] == [T0 + timedelta(days=8)]


def test_a_derived_message_id_recognises_a_retry_but_never_merges_two_clicks(
    workspace: Workspace,
):
    dated = Track(userId="c1", event="Clicked", timestamp=T0, properties={"x": 1})
    assert workspace.events.append([dated], received_at=T0).accepted == 1
    # The client retries later: same content, same id.
    assert workspace.events.append([dated], received_at=T0 + timedelta(minutes=1)).duplicates == 1
    # Same content at another moment is another event.
    later = dated.model_copy(update={"timestamp": T0 + timedelta(seconds=1)})
    assert workspace.events.append([later]).accepted == 1
    # Without a timestamp nothing tells two clicks apart: both are kept.
    undated = Track(userId="c1", event="Clicked")
    assert workspace.events.append([undated, undated]).accepted == 2
    ids = [r["message_id"] for r in rows(workspace, "events", "message_id")]
    assert len(set(ids)) == 4 and all(i.startswith("sha-") for i in ids)


def test_columns_of_a_stored_event(workspace: Workspace):
    page = Page(
        anonymousId="a1",
        messageId="m1",
        name="Home",
        timestamp="2024-05-01T14:00:00+02:00",
        properties={"path": "/promo/x"},
        context={"ip": "10.0.0.1"},
    )
    workspace.events.append([page], received_at=T0)
    (row,) = rows(workspace, "events", "message_id")
    assert row["customer_id"] is None and row["anonymous_id"] == "a1"
    assert (row["type"], row["event"], row["timestamp"]) == ("page", "Home", T0)
    assert row["received_at"] == T0
    assert '"path":"/promo/x"' in str(row["properties"])


def test_identify_attaches_earlier_anonymous_events_and_later_ones(workspace: Workspace):
    now = utc_now()
    visit = Page(anonymousId="cookie", messageId="m1", timestamp=now - timedelta(days=2))
    stranger = Page(anonymousId="other", messageId="m2", timestamp=now - timedelta(days=2))
    workspace.events.append([visit, stranger])
    signup = Identify(userId="c1", anonymousId="cookie", messageId="m3", timestamp=now)
    assert workspace.events.append([signup]).attached == 1
    after = Page(anonymousId="cookie", messageId="m4", timestamp=now)
    workspace.events.append([after])
    owners = {r["message_id"]: r["customer_id"] for r in rows(workspace, "events", "message_id")}
    assert owners == {"m1": "c1", "m2": None, "m3": "c1", "m4": "c1"}
    links = rows(workspace, "identities", "anonymous_id")
    assert [(r["anonymous_id"], r["customer_id"], r["source"]) for r in links] == [
        ("cookie", "c1", "identify")
    ]
    # The visit before sign-up counts in the customer's traits.
    workspace.run(as_of=now + timedelta(minutes=1))
    traits = workspace.traits().to_pyarrow().to_pylist()
    assert [t["sessions_30d"] for t in traits if t["customer_id"] == "c1"] == [2]


def test_alias_links_the_previous_id(workspace: Workspace):
    workspace.events.append([Track(anonymousId="dev-9", event="Opened", messageId="m1")])
    workspace.events.append([Alias(userId="c7", previousId="dev-9", messageId="m2")])
    owners = {r["message_id"]: r["customer_id"] for r in rows(workspace, "events", "message_id")}
    assert owners == {"m1": "c7", "m2": "c7"}


def test_a_link_seen_again_attaches_nothing_more(workspace: Workspace):
    identify = Identify(userId="c1", anonymousId="a", messageId="m1")
    workspace.events.append([identify])
    again = Identify(userId="c1", anonymousId="a", messageId="m2")
    assert workspace.events.append([again]).attached == 0
    assert len(rows(workspace, "identities", "anonymous_id")) == 1


def test_identify_traits_give_the_profile_the_importer_would(
    workspace: Workspace, tmp_path: Path, write: WriteFile
):
    traits = {
        "email": " Anne.Martin@EXAMPLE.com",
        "phone": "06 12 34 56 78",
        "firstName": "ANNE",
        "lastName": "martin",
        "birthday": "1980-02-29",
        "gender": "Femme",
        "address": {"postalCode": "75011", "city": "paris", "country": "France"},
        "plan": "pro",
    }
    workspace.events.append([Identify(userId="c1", traits=traits, timestamp=T0)])
    csv = write(
        "customers.csv",
        "customer_id,email,phone,first_name,last_name,birth_date,gender,postal_code,city,"
        "country,updated_at\n"
        "c1, Anne.Martin@EXAMPLE.com,06 12 34 56 78,ANNE,martin,1980-02-29,Femme,75011,paris,"
        "France,2024-05-01T12:00:00\n",
    )
    with Workspace.create(tmp_path / "imported") as reference:
        reference.imports.load("customers", csv)
        expected = rows(reference, "customers", "customer_id")
    assert rows(workspace, "customers", "customer_id") == expected
    assert expected[0]["email"] == "anne.martin@example.com"
    assert expected[0]["phone"] == "+33612345678"


def test_identify_traits_with_mistakes_are_rejected_or_flagged_like_an_import(
    workspace: Workspace,
):
    bad_date = Identify(userId="c1", traits={"birthday": "31/02/1980"}, messageId="m1")
    bad_email = Identify(userId="c2", traits={"email": "not-an-email"}, messageId="m2")
    result = workspace.events.append([bad_date, bad_email])
    # The events are Segment's and are kept; the profile rows are judged by the importer.
    assert result.accepted == 2
    assert (result.profiles.rejected, result.profiles.flagged) == (1, 1)
    assert [r["customer_id"] for r in rows(workspace, "customers", "customer_id")] == ["c2"]
    issues = workspace.imports.rejects().to_pyarrow().to_pylist()
    reasons = {(i["column_name"], i["severity"]) for i in issues}
    assert ("birth_date", "rejected") in reasons and ("email", "flagged") in reasons


def test_an_older_identify_does_not_overwrite_a_newer_profile(workspace: Workspace):
    new = Identify(userId="c1", traits={"city": "Lyon"}, timestamp=T0, messageId="m1")
    old = Identify(
        userId="c1", traits={"city": "Paris"}, timestamp=T0 - timedelta(1), messageId="m2"
    )
    workspace.events.append([new])
    result = workspace.events.append([old])
    assert result.accepted == 1 and result.profiles.unchanged == 1
    assert rows(workspace, "customers", "customer_id")[0]["city"] == "Lyon"


def test_identifies_of_one_customer_in_one_call_merge_in_time_order(workspace: Workspace):
    first = Identify(userId="c1", traits={"city": "Paris", "email": "a@b.fr"}, timestamp=T0)
    second = Identify(userId="c1", traits={"city": "Lyon"}, timestamp=T0 + timedelta(1))
    other = Identify(userId="c2", traits={"city": "Nice"}, timestamp=T0)
    result = workspace.events.append([second, other, first])
    assert result.profiles.rejected == 0
    found = {
        r["customer_id"]: (r["city"], r["email"])
        for r in rows(workspace, "customers", "customer_id")
    }
    assert found == {"c1": ("Lyon", "a@b.fr"), "c2": ("Nice", None)}


def test_properties_are_stored_as_compact_json_however_deep_or_large(workspace: Workspace):
    # orjson writes the usual payload; what it cannot (beyond 254 levels, integers
    # beyond 64 bits), the standard writer does.
    deep: object = []
    for _ in range(300):
        deep = [deep]
    payloads = [
        {"price": 19.9, "name": "Chaussure été"},
        {"deep": deep},
        {"n": 123456789012345678901234567890},
    ]
    clicks = [
        Track(userId="c1", event="Clicked", messageId=f"m{i}", timestamp=T0, properties=payload)
        for i, payload in enumerate(payloads)
    ]
    assert workspace.events.append(clicks).accepted == 3
    stored = [json.loads(r["properties"]) for r in rows(workspace, "events", "message_id")]
    assert stored == payloads
    (first,) = rows(workspace, "events", "message_id")[:1]
    assert first["properties"] == '{"price":19.9,"name":"Chaussure été"}'

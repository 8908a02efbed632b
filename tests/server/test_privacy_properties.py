"""Privacy properties through the HTTP API, over random small customer bases.

One served workspace for the module (the ``served`` fixture of tests/server). Each
example adds its own customers (ids and city made unique by a prefix), their orders
and a random consents ledger through ``/api/imports``, suppresses some e-mails and
records some objections through ``/api/privacy``, then runs and exports through
``/api/runs`` and ``/api/exports``. What is checked, against a reference computed
here from the drawn ledger:

- a channel export holds exactly the members whose latest ``marketing`` record for
  that channel is ``granted``, with a valid contact value, not suppressed and not
  objecting: never one without consent;
- a customer who objects to profiling is in no segment after the run, right after an
  objection recorded through the API, and after a live event that moves the others;
- a suppressed e-mail is refused at import and at ingestion (``/v1/identify``).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from cible.access.roles import Role
from cible.domain.clock import utc_now
from tests.server.conftest import Served
from tests.server.consent_ledgers import (
    CHANNELS,
    Record,
    import_file,
    latest,
    ledgers,
    run,
)

pytestmark = pytest.mark.slow

_PREFIXES = (f"p{i}" for i in itertools.count())
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    # Each example runs the workspace: shrinking would take many minutes; the drawn
    # base is printed instead (note).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Person:
    email: bool
    phone: bool
    orders: int


@dataclass(frozen=True)
class Base:
    people: list[Person]
    ledger: list[Record]
    suppressed: set[int]
    objecting: set[int]


@st.composite
def bases(draw: st.DrawFn) -> Base:
    people = draw(
        st.lists(
            st.builds(Person, st.booleans(), st.booleans(), st.integers(0, 2)),
            min_size=1,
            max_size=6,
        )
    )
    who = st.integers(0, len(people) - 1)
    ledger = draw(ledgers(who, max_size=12))
    with_email = [i for i, p in enumerate(people) if p.email]
    suppressed = draw(st.sets(st.sampled_from(with_email))) if with_email else set()
    objecting = draw(st.sets(who, max_size=2))
    return Base(people, ledger, suppressed, objecting)


def _current_segments(served: Served, customer: str) -> set[str]:
    found = served.client.get(f"/api/customers/{customer}", headers=served.as_(Role.ANALYST))
    assert found.status_code == 200, found.text
    return {m["segment_id"] for m in found.json()["memberships"] if m["current"]}


def _exported(served: Served, segment: str, channel: str) -> list[str]:
    response = served.client.get(
        f"/api/exports/{segment}",
        params={"channel": channel, "format": "jsonl"},
        # A channel export carries contacts in clear: an editor's (docs/privacy.md).
        headers=served.as_(Role.EDITOR),
    )
    assert response.status_code == 200, response.text
    return [json.loads(line)["customer_id"] for line in response.text.splitlines() if line]


@pytest.fixture(scope="module")
def write_key(served: Served) -> str:
    return served.secrets[Role.INGEST]


@SETTINGS
@given(base=bases())
def test_exports_hold_only_consenting_customers_and_objectors_join_no_segment(
    served: Served, write_key: str, base: Base
) -> None:
    prefix = next(_PREFIXES)
    note(f"{prefix}: {base!r}")
    ids = [f"{prefix}-{i}" for i in range(len(base.people))]
    emails = [f"{prefix}.{i}@example.com" for i in range(len(base.people))]
    now = utc_now()
    # The city marks the example's customers; written as the import stores it
    # (title case), so that the rule below matches it.
    city = prefix.upper()
    customers = "customer_id,email,phone,city\n" + "".join(
        f"{ids[i]},{emails[i] if p.email else ''},"
        f"{f'06 12 34 56 {i:02d}' if p.phone else ''},{city}\n"
        for i, p in enumerate(base.people)
    )
    orders = "order_id,customer_id,ordered_at,amount\n" + "".join(
        f"{ids[i]}-o{k},{ids[i]},{(now - timedelta(days=10 + k)).date()},{20 + k}\n"
        for i, p in enumerate(base.people)
        for k in range(p.orders)
    )
    ledger = "customer_id,channel,purpose,status,recorded_at,source\n" + "".join(
        f"{ids[r.who]},{r.channel},{r.purpose},{r.status},"
        f"{(now - timedelta(days=r.days_ago)).isoformat()},drawn\n"
        for r in base.ledger
    )
    for kind, text in (("customers", customers), ("orders", orders), ("consents", ledger)):
        if text.count("\n") == 1:
            continue  # nothing drawn: an empty file is refused, as it should be
        job = import_file(served, kind, text, f"{prefix}-{kind}.csv")
        assert job["state"] == "succeeded" and job["result"]["rejected"] == 0, job
    admin = served.as_(Role.ADMIN)
    for i in base.suppressed:
        body = {"kind": "email", "value": emails[i].upper(), "reason": "drawn"}
        added = served.client.post("/api/privacy/suppressions", json=body, headers=admin)
        assert added.status_code == 201
    for i in base.objecting:
        objected = served.client.post(f"/api/privacy/objections/{ids[i]}", headers=admin)
        assert objected.status_code == 201 and objected.json()["objects"], objected.text
    editor = served.as_(Role.EDITOR)
    everyone = {"name": "Everyone", "where": {"attribute": "city", "op": "=", "value": city}}
    viewers = {
        "name": "Viewers",
        "where": {"event": "product_viewed", "count": {"op": ">=", "value": 1}, "within_days": 1},
    }
    assert served.client.put(f"/api/segments/{prefix}", json=everyone, headers=editor).is_success
    seen = f"{prefix}-viewers"
    assert served.client.put(f"/api/segments/{seen}", json=viewers, headers=editor).is_success
    run(served)

    def objects(i: int) -> bool:
        return i in base.objecting or latest(base.ledger, i, "profiling", None) in (
            "denied",
            "withdrawn",
        )

    for channel in CHANNELS:
        exported = set(_exported(served, prefix, channel))
        expected = {
            ids[i]
            for i, p in enumerate(base.people)
            if latest(base.ledger, i, "marketing", channel) == "granted"
            and (p.email if channel == "email" else p.phone)
            and i not in base.suppressed
            and not objects(i)
        }
        assert exported == expected, channel
    members = served.client.get(f"/api/segments/{prefix}/members", headers=served.as_(Role.ANALYST))
    assert {m["customer_id"] for m in members.json()["members"]} == {
        ids[i] for i in range(len(base.people)) if not objects(i)
    }
    for i in range(len(base.people)):
        assert (_current_segments(served, ids[i]) == set()) is objects(i), ids[i]

    # An objection recorded through the API ends every membership at once, and a live
    # event that puts another customer in a segment does not bring the objector back.
    # Both not suppressed: the events of a suppressed customer are refused at ingestion.
    stays = [i for i in range(len(base.people)) if not objects(i) and i not in base.suppressed]
    if len(stays) < 2:
        return
    late, control = stays[0], stays[1]
    done = served.client.post(
        f"/api/privacy/objections/{ids[late]}", json={"source": "test"}, headers=admin
    ).json()
    assert done["exited"] > 0 and _current_segments(served, ids[late]) == set()
    stamp = utc_now().isoformat()
    batch = {
        "batch": [
            {"type": "track", "userId": ids[who], "event": "product_viewed", "timestamp": stamp}
            for who in (late, control)
        ]
    }
    sent = served.client.post("/v1/batch", json=batch, auth=(write_key, ""))
    assert sent.status_code == 200, sent.text
    deadline = time.monotonic() + 30
    while seen not in _current_segments(served, ids[control]):
        assert time.monotonic() < deadline, "the live refresh never came"
        time.sleep(0.05)
    assert _current_segments(served, ids[late]) == set()
    run(served)
    assert _current_segments(served, ids[late]) == set()
    assert seen in _current_segments(served, ids[control])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, 3), sent=st.integers(0, 3))
def test_a_suppressed_email_is_refused_at_import_and_at_ingestion(
    served: Served, write_key: str, case: int, sent: int
) -> None:
    prefix = next(_PREFIXES)
    email = f"{prefix}.gone@example.com"
    forms = [email, email.upper(), email.title(), f" {email} "]
    admin = served.as_(Role.ADMIN)
    body = {"kind": "email", "value": forms[case], "reason": "requested"}
    assert served.client.post("/api/privacy/suppressions", json=body, headers=admin).is_success
    job = import_file(
        served,
        "customers",
        f"customer_id,email\n{prefix}-new,{forms[sent]}\n{prefix}-kept,{prefix}@example.com\n",
        f"{prefix}-customers.csv",
    )
    assert (job["result"]["inserted"], job["result"]["rejected"]) == (1, 1), job
    message = {"userId": f"{prefix}-live", "traits": {"email": forms[sent]}}
    answered = served.client.post("/v1/identify", json=message, auth=(write_key, ""))
    assert answered.status_code == 200, answered.text
    analyst = served.as_(Role.ANALYST)
    for refused in ("new", "live"):
        found = served.client.get(f"/api/customers/{prefix}-{refused}", headers=analyst)
        assert found.status_code == 404, refused
    assert served.client.get(f"/api/customers/{prefix}-kept", headers=analyst).status_code == 200


def test_only_admins_record_objections_and_unknown_customers_are_named(served: Served) -> None:
    for role in (Role.VIEWER, Role.ANALYST, Role.EDITOR):
        refused = served.client.post("/api/privacy/objections/a", headers=served.as_(role))
        assert refused.status_code == 403
    missing = served.client.post("/api/privacy/objections/nobody", headers=served.as_(Role.ADMIN))
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
    listed = served.client.get("/api/privacy/objections", headers=served.as_(Role.ADMIN)).json()
    assert listed["total"] == len(listed["customer_ids"])

"""Consent properties of campaign sends and automations through the HTTP API.

One served workspace for the module, its delivery and automation workers running in
the app's lifespan, e-mails going to a real SMTP server (aiosmtpd) and webhooks to a
real HTTP receiver, both on 127.0.0.1. Each example adds its own customers (ids,
e-mail addresses and city made unique by a prefix) with a random consents ledger
through ``/api/imports``, suppresses some e-mails and records some objections through
``/api/privacy``, then sends through ``/api/campaigns`` or triggers automations. What
is checked, against a reference computed here from the drawn ledger (the latest
record per channel and purpose, the strictest on a tie; no record is no consent):

- a campaign send e-mails exactly the customers eligible at launch (members of the
  target segment, so not objecting, with ``email``/``marketing`` consent then) who are
  in a variant arm (never the holdout), have a deliverable address, are not
  suppressed, still consent when the worker sends (records added after the launch
  count) and did not object after the launch; the others are skipped with the reason;
- an automation started by entering a segment e-mails only the customers whose
  ``email``/``marketing`` consent is granted and calls a webhook carrying personal
  data (declared ``sms``/``marketing`` in ``cible.toml``) only for those whose
  ``sms``/``marketing`` consent is granted; every other delivery is skipped with its
  reason in the delivery log; customers who object start no automation, and one
  triggered by a tag logs why it did not start for them.

Frequency caps and quiet hours are off (the workspace's defaults, checked below), so
that the expected recipients are exactly known.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from cible import Workspace
from cible.access.roles import Role
from cible.activation.campaign_assignment import assign_arms
from cible.domain.clock import utc_now
from cible.domain.schema import CONSENT_STATUSES
from cible.server.app import create_app
from tests.activation.receivers import SECRET, SECRET_ENV, Mailbox, Receiver, configure, webhook
from tests.server.conftest import Served, make_workspace
from tests.server.consent_ledgers import (
    Record,
    import_file,
    latest,
    ledgers,
    run,
)

pytestmark = pytest.mark.slow

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    # Each example runs the workspace and waits for real deliveries: shrinking would
    # take many minutes; the drawn base is printed instead (note).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: What a drawn customer's e-mail is: an address, nothing, or a value that is no
#: address (imports keep it; the mail sender refuses it, so the delivery fails).
EMAILS = ("valid", "blank", "invalid")
#: Arms of every drawn campaign.
ARMS = [("a", 0.35), ("b", 0.35), ("holdout", 0.3)]
#: The webhook automations call: it carries the profile, so SMS marketing consent
#: is checked before each call.
HOOK = "crm"
HOOK_CHANNEL = "sms"
TEMPLATE = {
    "id": "hello",
    "name": "Hello",
    "subject": {"en": "Hello"},
    "html": {"en": "<p>Hello</p><a href='{{ unsubscribe_url }}'>unsubscribe</a>"},
}
_PREFIXES = (f"s{i}" for i in itertools.count())


@dataclass
class Sending(Served):
    """The served workspace with the mailbox and the webhook receiver it sends to."""

    mailbox: Mailbox
    receiver: Receiver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sending]:
    folder = tmp_path_factory.mktemp("sends") / "data"
    secrets = make_workspace(folder)
    shop = folder / "shop"
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET
    try:
        with Mailbox().running() as mailbox, Receiver().running() as receiver:
            configure(
                shop,
                activation={"allow_hosts": ["127.0.0.1"], "public_url": "http://127.0.0.1:9"},
                email={"host": "127.0.0.1", "port": mailbox.port, "sender": "Shop <s@example.com>"},
                webhooks={
                    HOOK: webhook(
                        f"{receiver.url}/hooks", channel=HOOK_CHANNEL, purpose="marketing"
                    )
                },
            )
            with Workspace.open(shop) as ws:
                # The expected recipients are exact only without caps and quiet hours.
                assert ws.config.activation.frequency == {}
                assert ws.config.activation.quiet_hours is None
                ws.templates.add(TEMPLATE)
            with TestClient(create_app(shop)) as client:
                yield Sending(client, shop, secrets, mailbox, receiver)
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous


@dataclass(frozen=True)
class Base:
    emails: list[str]
    ledger: list[Record]
    suppressed: set[int]
    objecting: set[int]


@st.composite
def bases(draw: st.DrawFn) -> Base:
    emails = draw(st.lists(st.sampled_from(EMAILS), min_size=1, max_size=7))
    who = st.integers(0, len(emails) - 1)
    ledger = draw(ledgers(who, max_size=16))
    valid = [i for i, e in enumerate(emails) if e == "valid"]
    suppressed = draw(st.sets(st.sampled_from(valid))) if valid else set()
    objecting = draw(st.sets(who, max_size=2))
    return Base(emails, ledger, suppressed, objecting)


@dataclass(frozen=True)
class Example:
    """A drawn base loaded into the workspace: ids, addresses, who objects."""

    prefix: str
    base: Base
    ids: list[str]
    addresses: list[str]

    def objects(self, i: int, ledger: list[Record] | None = None) -> bool:
        """Whether customer ``i`` objects to profiling (recorded through the API, or the
        latest ``profiling`` record on any channel refuses)."""
        last = latest(self.base.ledger if ledger is None else ledger, i, "profiling", None)
        return i in self.base.objecting or last in ("denied", "withdrawn")

    def skip_reason(self, i: int, channel: str, ledger: list[Record] | None = None) -> str | None:
        """Why a delivery to customer ``i`` on ``channel`` is skipped; None if it goes."""
        if i in self.base.suppressed:
            return "suppressed"
        status = latest(self.base.ledger if ledger is None else ledger, i, "marketing", channel)
        return None if status == "granted" else status or "no_consent"


def _segment(served: Sending, prefix: str) -> None:
    """The segment of an example's customers (id ``prefix``): its city."""
    everyone = {
        "name": "Everyone",
        "where": {"attribute": "city", "op": "=", "value": prefix.upper()},
    }
    put = served.client.put(
        f"/api/segments/{prefix}", json=everyone, headers=served.as_(Role.EDITOR)
    )
    assert put.is_success, put.text


def _load(served: Sending, base: Base, prefix: str) -> Example:
    """Import the base's customers and ledger, suppress and record objections."""
    ids = [f"{prefix}-{i}" for i in range(len(base.emails))]
    written = {
        "valid": "{p}.{i}@example.com",
        "blank": "",
        "invalid": "{p}.{i}.example.com",
    }
    addresses = [written[e].format(p=prefix, i=i) for i, e in enumerate(base.emails)]
    now = utc_now()
    city = prefix.upper()  # as the import stores it (title case)
    customers = "customer_id,email,city\n" + "".join(
        f"{ids[i]},{addresses[i]},{city}\n" for i in range(len(ids))
    )
    ledger = "customer_id,channel,purpose,status,recorded_at,source\n" + "".join(
        f"{ids[r.who]},{r.channel},{r.purpose},{r.status},"
        f"{(now - timedelta(days=r.days_ago)).isoformat()},drawn\n"
        for r in base.ledger
    )
    for kind, text in (("customers", customers), ("consents", ledger)):
        if text.count("\n") == 1:
            continue  # nothing drawn: an empty file is refused, as it should be
        job = import_file(served, kind, text, f"{prefix}-{kind}.csv")
        assert job["state"] == "succeeded" and job["result"]["rejected"] == 0, job
    admin = served.as_(Role.ADMIN)
    for i in base.suppressed:
        body = {"kind": "email", "value": addresses[i].upper(), "reason": "drawn"}
        added = served.client.post("/api/privacy/suppressions", json=body, headers=admin)
        assert added.status_code == 201, added.text
    for i in base.objecting:
        objected = served.client.post(f"/api/privacy/objections/{ids[i]}", headers=admin)
        assert objected.status_code == 201, objected.text
    return Example(prefix, base, ids, addresses)


def _eventually(found: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := found()):
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.1)
    return result


def _deliveries(served: Sending, customer: str) -> list[dict[str, Any]]:
    found = served.client.get(
        "/api/deliveries", params={"customer": customer}, headers=served.as_(Role.ANALYST)
    )
    assert found.status_code == 200, found.text
    rows: list[dict[str, Any]] = found.json()
    return rows


def _mailed(served: Sending, example: Example, **headers: str) -> dict[str, Any]:
    """The e-mails the mailbox got for the example's addresses, by address."""
    mine = set(example.addresses)
    found: dict[str, Any] = {}
    for recipients, message in list(served.mailbox.messages):
        if not all(message[k] == v for k, v in headers.items()):
            continue
        for address in recipients:
            if address in mine:
                assert address not in found, f"{address} got two e-mails"
                found[address] = message
    return found


def _hooked(served: Sending, example: Example, event: str) -> dict[str, dict[str, Any]]:
    """The verified webhook calls of ``event`` about the example's customers, by id."""
    mine = set(example.ids)
    found: dict[str, dict[str, Any]] = {}
    for received in list(served.receiver.received):
        body = Webhook(SECRET).verify(received.body, received.headers)
        if body["type"] != event or body["data"]["customer_id"] not in mine:
            continue
        customer = body["data"]["customer_id"]
        assert customer not in found, f"{customer} was called twice"
        found[customer] = body["data"]
    return found


@dataclass(frozen=True)
class Late:
    """What changes between the launch and the send."""

    consents: dict[int, str]  # a new email/marketing record per customer
    objecting: set[int]


@SETTINGS
@given(base=bases(), data=st.data())
def test_a_campaign_mails_exactly_the_consenting_variant_customers(
    served: Sending, base: Base, data: st.DataObject
) -> None:
    prefix = next(_PREFIXES)
    n = len(base.emails)
    late = Late(
        data.draw(st.dictionaries(st.integers(0, n - 1), st.sampled_from(CONSENT_STATUSES))),
        data.draw(st.sets(st.integers(0, n - 1), max_size=2)),
    )
    note(f"{prefix}: {base!r}, then {late!r}")
    example = _load(served, base, prefix)
    _segment(served, prefix)
    run(served)
    campaign = f"{prefix}-spring"
    today = utc_now().date()
    definition = {
        "segments": [prefix],
        "channel": "email",
        "variants": [{"id": a, "share": s, "template": "hello"} for a, s in ARMS[:2]],
        "holdout": ARMS[2][1],
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=30)).isoformat(),
    }
    editor = served.as_(Role.EDITOR)
    put = served.client.put(f"/api/campaigns/{campaign}", json=definition, headers=editor)
    assert put.status_code == 201, put.text
    launched = served.client.post(f"/api/campaigns/{campaign}/launch", headers=editor)
    assert launched.status_code == 200, launched.text

    # Members at the launch: everyone of the segment who does not object; eligible:
    # those whose e-mail marketing consent was granted then.
    members = [i for i in range(n) if not example.objects(i)]
    eligible = [i for i in members if latest(base.ledger, i, "marketing", "email") == "granted"]
    arms = dict(
        zip(members, assign_arms(campaign, [example.ids[i] for i in members], ARMS), strict=True)
    )
    assert launched.json()["eligible"] == len(eligible)

    # Between the launch and the send: new consent records, objections.
    if late.consents:
        stamp = utc_now().isoformat()
        text = "customer_id,channel,purpose,status,recorded_at,source\n" + "".join(
            f"{example.ids[i]},email,marketing,{s},{stamp},late\n" for i, s in late.consents.items()
        )
        job = import_file(served, "consents", text, f"{prefix}-late.csv")
        assert job["state"] == "succeeded" and job["result"]["rejected"] == 0, job
    for i in late.objecting:
        objected = served.client.post(
            f"/api/privacy/objections/{example.ids[i]}", headers=served.as_(Role.ADMIN)
        )
        assert objected.status_code == 201, objected.text
    ledger = base.ledger + [Record(i, "email", "marketing", s, 0) for i, s in late.consents.items()]

    sent = served.client.post(f"/api/campaigns/{campaign}/send", headers=editor)
    assert sent.status_code == 200, sent.text
    treated = [i for i in eligible if arms[i] != "holdout"]
    done = sent.json()
    assert done["holdout"] == len(eligible) - len(treated)
    assert done["no_address"] == sum(base.emails[i] == "blank" for i in treated)

    def settled() -> dict[str, Any]:
        found = served.client.get(f"/api/campaigns/{campaign}/sends", headers=editor).json()
        pending = sum(arm["pending"] for arm in found["arms"].values())
        return found if pending == 0 else {}

    outcome = _eventually(settled, "the campaign's deliveries settled")
    # The worker checks the suppression list, then objection, then consent.
    reasons: dict[int, str | None] = {
        i: "objection"
        if i in late.objecting and i not in base.suppressed
        else example.skip_reason(i, "email", ledger)
        for i in treated
        if base.emails[i] != "blank"
    }
    expected = {
        example.addresses[i]
        for i, reason in reasons.items()
        if reason is None and base.emails[i] == "valid"
    }
    mailed = _mailed(served, example, **{"X-Cible-Campaign": campaign})
    assert set(mailed) == expected
    for address, message in mailed.items():
        i = example.addresses.index(address)
        assert message["X-Cible-Variant"] == arms[i]
    # Every other delivery says why it was not sent.
    for i, reason in reasons.items():
        (row,) = [
            d
            for d in _deliveries(served, example.ids[i])
            if d["source"].startswith(f"campaign:{campaign}:")
        ]
        if reason is not None:
            assert (row["status"], row["last_error"]) == ("skipped", reason), example.ids[i]
        else:
            assert row["status"] == ("delivered" if base.emails[i] == "valid" else "failed")
    skipped = sum(sum(arm["skipped_reasons"].values()) for arm in outcome["arms"].values())
    assert skipped == sum(reason is not None for reason in reasons.values())


# Six examples: each runs the workspace twice (the segment empty, then entered).
@settings(SETTINGS, max_examples=6)
@given(base=bases())
def test_automations_deliver_only_under_consent_and_objectors_start_none(
    served: Sending, base: Base
) -> None:
    prefix = next(_PREFIXES)
    note(f"{prefix}: {base!r}")
    editor = served.as_(Role.EDITOR)
    welcome, tagged, tag = f"{prefix}-welcome", f"{prefix}-tagged", f"{prefix}-tag"
    # Members of a segment new since the latest run are not reported as entering it:
    # the segment is run once empty, then its customers arrive and enter at the next.
    _segment(served, prefix)
    assert served.client.put(f"/api/tags/{tag}", json={}, headers=editor).is_success
    automations = {
        welcome: {
            "trigger": {"segment": prefix, "on": "entered"},
            "steps": [
                {"email": {"template": "hello"}},
                {"webhook": {"name": HOOK, "event": "welcome"}},
            ],
        },
        tagged: {
            "trigger": {"tag": tag},
            "steps": [{"webhook": {"name": HOOK, "event": "tagged"}}],
        },
    }
    for name, definition in automations.items():
        put = served.client.put(f"/api/automations/{name}", json=definition, headers=editor)
        assert put.status_code == 201, put.text
    run(served)
    example = _load(served, base, prefix)
    run(served)  # everyone of the segment enters it: the welcome starts
    body = {"customer_ids": example.ids}
    assert served.client.post(f"/api/tags/{tag}/customers", json=body, headers=editor).is_success

    n = len(base.emails)
    starting = [i for i in range(n) if not example.objects(i)]
    # Per customer who starts: the welcome's e-mail (unless no address) and webhook
    # call, the tagged automation's call.
    wanted = {i: 2 + (base.emails[i] != "blank") for i in starting}

    def settled() -> bool:
        # One request per poll: the newest deliveries of the whole workspace hold the
        # example's (a few hundred in all for the module).
        found = served.client.get(
            "/api/deliveries", params={"limit": 1000}, headers=served.as_(Role.ANALYST)
        )
        rows = [r for r in found.json() if r["customer_id"] in set(example.ids)]
        pending = any(r["status"] == "pending" for r in rows)
        return len(rows) >= sum(wanted.values()) and not pending

    _eventually(settled, "the automations' deliveries settled")
    analyst = served.as_(Role.ANALYST)

    def log(automation: str, i: int) -> list[dict[str, Any]]:
        found = served.client.get(
            f"/api/automations/{automation}/log",
            params={"customer_id": example.ids[i]},
            headers=analyst,
        )
        assert found.status_code == 200, found.text
        rows: list[dict[str, Any]] = found.json()
        return rows

    objectors = [i for i in range(n) if example.objects(i)]
    for i in objectors:
        # The tag was set on them too: the tagged automation says why it did not start.
        skips = _eventually(lambda i=i: log(tagged, i), f"the objection of {example.ids[i]} logged")
        assert [(r["action"], r["outcome"]) for r in skips] == [("start", "skipped")]
        assert skips[0]["detail"].startswith("objection"), skips
        assert log(welcome, i) == [] and _deliveries(served, example.ids[i]) == []
    for automation in (welcome, tagged):
        runs = served.client.get(
            f"/api/automations/{automation}/runs", params={"limit": 1000}, headers=analyst
        )
        assert {r["customer_id"] for r in runs.json()} == {example.ids[i] for i in starting}

    mailed = _mailed(served, example)
    assert set(mailed) == {
        example.addresses[i]
        for i in starting
        if base.emails[i] == "valid" and example.skip_reason(i, "email") is None
    }
    for event in ("welcome", "tagged"):
        called = _hooked(served, example, event)
        assert set(called) == {
            example.ids[i] for i in starting if example.skip_reason(i, HOOK_CHANNEL) is None
        }, event
        # The call carries personal data: the profile, which holds the e-mail.
        for customer, data in called.items():
            written = example.addresses[example.ids.index(customer)]
            assert (data["customer"].get("email") or "") == written
    for i in starting:
        rows = _deliveries(served, example.ids[i])
        channels = {"email": "email", "webhook": HOOK_CHANNEL}
        for row in rows:
            reason = example.skip_reason(i, channels[row["kind"]])
            if reason is not None:
                assert (row["status"], row["last_error"]) == ("skipped", reason), row
            elif row["kind"] == "email" and base.emails[i] == "invalid":
                assert row["status"] == "failed", row
            else:
                assert row["status"] == "delivered", row
        if base.emails[i] == "blank":
            steps = [(r["action"], r["outcome"], r["detail"]) for r in log(welcome, i)]
            assert ("email", "skipped", "no e-mail address") in steps


def test_a_customer_who_objects_after_the_launch_gets_no_campaign_email(served: Sending) -> None:
    prefix = next(_PREFIXES)
    # Two customers, both consenting, both in the only variant (no holdout).
    base = Base(
        ["valid", "valid"],
        [Record(i, "email", "marketing", "granted", 1) for i in range(2)],
        set(),
        set(),
    )
    example = _load(served, base, prefix)
    _segment(served, prefix)
    run(served)
    campaign = f"{prefix}-spring"
    today = utc_now().date()
    definition = {
        "segments": [prefix],
        "channel": "email",
        "variants": [{"id": "a", "share": 1, "template": "hello"}],
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=30)).isoformat(),
    }
    editor = served.as_(Role.EDITOR)
    assert served.client.put(
        f"/api/campaigns/{campaign}", json=definition, headers=editor
    ).is_success
    launched = served.client.post(f"/api/campaigns/{campaign}/launch", headers=editor)
    assert launched.json()["eligible"] == 2, launched.text
    objected = served.client.post(
        f"/api/privacy/objections/{example.ids[1]}", headers=served.as_(Role.ADMIN)
    )
    assert objected.status_code == 201, objected.text
    sent = served.client.post(f"/api/campaigns/{campaign}/send", headers=editor)
    assert sent.status_code == 200, sent.text

    def settled() -> dict[str, Any]:
        found = served.client.get(f"/api/campaigns/{campaign}/sends", headers=editor).json()
        return found if found["arms"]["a"]["pending"] == 0 else {}

    outcome = _eventually(settled, "the campaign's deliveries settled")
    assert set(_mailed(served, example, **{"X-Cible-Campaign": campaign})) == {example.addresses[0]}
    assert outcome["arms"]["a"]["skipped_reasons"] == {"objection": 1}

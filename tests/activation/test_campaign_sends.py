"""``ws.campaigns.send`` and ``sends``: one delivery per eligible variant customer, never
the holdout, never twice; consent and caps at send time; webhooks for other channels."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.activation.campaign_assignment import assign_arms
from cible.activation.campaign_definition import CampaignError, parse_campaign
from cible.activation.campaign_sends import check_sendable
from cible.domain.clock import utc_now
from tests.activation.receivers import Mailbox, configure, run_rounds, webhook

NOW = utc_now()
START, END = (NOW - timedelta(days=4)).date(), (NOW + timedelta(days=26)).date()
TEMPLATE = {
    "id": "spring",
    "name": "Spring",
    "subject": {"en": "Spring for {{ customer.first_name | default('you') }}"},
    "html": {
        "en": "<p>{{ variant }}: {% if offer %}{{ offer.value | int }}%{% endif %} <a href='{{ unsubscribe_url }}'>x</a></p>"
    },
}


def _customers(ids: list[str], no_email: tuple[str, ...] = ()) -> str:
    rows = [
        f"{c},{'' if c in no_email else c + '@example.com'},+3361234{i:04d},{c.upper()}"
        for i, c in enumerate(ids)
    ]
    return "customer_id,email,phone,first_name\n" + "\n".join(rows) + "\n"


def _consents(ids: list[str], channel: str = "email", status: str = "granted") -> str:
    rows = [f"{c},{channel},marketing,{status}" for c in ids]
    return "customer_id,channel,purpose,status\n" + "\n".join(rows) + "\n"


def _load(ws: Workspace, kind: str, text: str) -> None:
    path = Path(ws.path) / f"{kind}-{utc_now().timestamp()}.csv"
    path.write_text(text)
    ws.imports.load(kind, path)


def make_shop(folder: Path, ids: list[str], no_email: tuple[str, ...] = ()) -> Path:
    """Prospects ``ids`` with e-mail and SMS consent (run now), and the template."""
    with Workspace.create(folder / "shop") as ws:
        _load(ws, "customers", _customers(ids, no_email))
        _load(ws, "consents", _consents(ids) + _consents(ids, "sms").split("\n", 1)[1])
        ws.run(as_of=NOW)
        ws.templates.add(TEMPLATE)
    return folder / "shop"


def _campaign(id: str = "spring", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id,
        "segments": ["lifecycle-prospect"],
        "channel": "email",
        "variants": [
            {
                "id": "a",
                "share": 0.3,
                "template": "spring",
                "offer": {"kind": "discount", "value": 20},
            },
            {
                "id": "b",
                "share": 0.3,
                "template": "spring",
                "offer": {"kind": "discount", "value": 30},
            },
        ],
        "holdout": 0.4,
        "start": START.isoformat(),
        "end": END.isoformat(),
    }
    return data | changes


IDS = [f"p{i:02d}" for i in range(40)]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path, IDS, no_email=("p03", "p04"))


def _deliveries(ws: Workspace) -> list[Any]:
    return ws.deliveries.list(limit=10_000)


def test_every_eligible_variant_customer_gets_one_email_and_the_holdout_none(shop: Path) -> None:
    found = assign_arms("spring", IDS, [("a", 0.3), ("b", 0.3), ("holdout", 0.4)])
    arms = dict(zip(IDS, found, strict=True))
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.launch("spring")
        done = ws.campaigns.send("spring")
        rows = _deliveries(ws)
    holdout = {c for c, arm in arms.items() if arm == "holdout"}
    treated = {c for c, arm in arms.items() if arm != "holdout"}
    no_address = treated & {"p03", "p04"}
    assert holdout and treated
    assert {r.customer_id for r in rows} == treated - no_address
    assert not holdout & {r.customer_id for r in rows}
    assert done["holdout"] == len(holdout)
    for arm in ("a", "b"):
        members = {c for c in treated if arms[c] == arm}
        assert done["arms"][arm] == {
            "queued": len(members - no_address),
            "already_sent": 0,
            "no_address": len(members & no_address),
        }
    assert done["queued"] == len(rows) and not done["dry_run"]
    row = next(r for r in rows if r.customer_id == "p00")
    payload = json.loads(row.payload)
    arm = arms["p00"]
    assert (row.kind, row.target, row.idempotency_key, row.source) == (
        "email",
        "p00@example.com",
        "campaign:spring:p00",
        f"campaign:spring:{arm}",
    )
    assert (row.consent_channel, row.consent_purpose, row.cap_channel) == (
        "email",
        "marketing",
        "email",
    )
    assert payload["headers"] == {"X-Cible-Campaign": "spring", "X-Cible-Variant": arm}
    assert payload["subject"] == "Spring for P00"
    assert f"{arm}: {20 if arm == 'a' else 30}%" in payload["html"]
    assert "/u/" in payload["html"]  # the customer's own unsubscribe link


def test_sending_twice_adds_nothing_and_a_dry_run_writes_nothing(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.launch("spring")
        dry = ws.campaigns.send("spring", dry_run=True)
        assert _deliveries(ws) == []
        first = ws.campaigns.send("spring")
        second = ws.campaigns.send("spring")
        assert len(_deliveries(ws)) == first["queued"] > 0
    assert dry["dry_run"] and {**dry, "dry_run": False} == first
    assert second["queued"] == 0 and second["already_sent"] == first["queued"]
    assert second["no_address"] == first["no_address"] and second["holdout"] == first["holdout"]


def test_when_the_segment_grows_a_relaunch_and_send_queue_only_the_new_customers(
    shop: Path,
) -> None:
    more = [f"q{i:02d}" for i in range(30)]
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.launch("spring")
        first = ws.campaigns.send("spring")
        before = {r.customer_id for r in _deliveries(ws)}
        _load(ws, "customers", _customers(more))
        _load(ws, "consents", _consents(more))
        ws.run(as_of=utc_now())
        ws.campaigns.launch("spring")
        second = ws.campaigns.send("spring")
        after = _deliveries(ws)
    arms = assign_arms("spring", more, [("a", 0.3), ("b", 0.3), ("holdout", 0.4)])
    new = {c for c, arm in zip(more, arms, strict=True) if arm != "holdout"}
    assert second["queued"] == len(new) and second["already_sent"] == first["queued"]
    assert {r.customer_id for r in after} == before | new
    assert len(after) == len({r.idempotency_key for r in after})


def test_consent_withdrawn_after_the_launch_skips_the_delivery_at_claim(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.launch("spring")
        ws.campaigns.send("spring")
        first = sorted(r.customer_id for r in _deliveries(ws))[0]
        _load(ws, "consents", _consents([first], status="withdrawn"))
        ws.deliveries.claim(now=utc_now() + timedelta(seconds=1))
        [row] = [r for r in _deliveries(ws) if r.customer_id == first]
        sends = ws.campaigns.sends("spring")
    assert (row.status, row.last_error) == ("skipped", "withdrawn")
    arm = row.source.rsplit(":", 1)[1]
    assert sends["arms"][arm]["skipped"] == 1
    assert sends["arms"][arm]["skipped_reasons"] == {"withdrawn": 1}
    assert (
        sum(a["pending"] for a in sends["arms"].values())
        == sum(a["queued"] for a in sends["arms"].values()) - 1
    )


def test_frequency_cap_holds_across_two_campaigns(shop: Path) -> None:
    configure(shop, activation={"frequency": {"email": {"max": 1, "days": 7}}})
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.add(
            _campaign("summer", variants=[{"id": "s", "share": 1, "template": "spring"}], holdout=0)
        )
        for name in ("spring", "summer"):
            ws.campaigns.launch(name)
            ws.campaigns.send(name)
        ready = ws.deliveries.claim(now=utc_now())
        rows = _deliveries(ws)
        summer = ws.campaigns.sends("summer")
    per_customer: dict[str, list[Any]] = {}
    for row in rows:
        per_customer.setdefault(str(row.customer_id), []).append(row)
    both = [found for found in per_customer.values() if len(found) == 2]
    assert both
    for found in both:
        assert sorted(r.status for r in found) == ["pending", "skipped"]
        assert [r.last_error for r in found if r.status == "skipped"] == ["frequency_cap"]
    assert len({d.customer_id for d in ready}) == len(ready)
    skipped = summer["arms"]["s"]["skipped_reasons"]
    assert set(skipped) <= {"frequency_cap"}


def test_sends_counts_deliveries_by_status_once_sent(shop: Path) -> None:
    with Mailbox().running() as mailbox:
        configure(shop, email={"host": "127.0.0.1", "port": mailbox.port, "sender": "s@shop.test"})
        with Workspace.open(shop) as ws:
            ws.campaigns.add(_campaign())
            ws.campaigns.launch("spring")
            done = ws.campaigns.send("spring")
            run_rounds(ws, [utc_now()])
            sends = ws.campaigns.sends("spring")
    assert sum(a["delivered"] for a in sends["arms"].values()) == done["queued"]
    assert len(mailbox.messages) == done["queued"]
    for arm in ("a", "b"):
        assert sends["arms"][arm]["delivered"] == done["arms"][arm]["queued"]
        assert sends["arms"][arm]["queued"] == done["arms"][arm]["queued"]
    headers = {m["X-Cible-Variant"] for _, m in mailbox.messages}
    assert headers == {"a", "b"} and {m["X-Cible-Campaign"] for _, m in mailbox.messages} == {
        "spring"
    }
    assert sends["holdout"] == done["holdout"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("draft", "is a draft: launch it first"),
        ("paused", "is paused: launch it again"),
        ("ended", "has ended"),
    ],
)
def test_only_a_live_campaign_sends(shop: Path, status: str, expected: str) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        if status != "draft":
            ws.campaigns.launch("spring")
            (ws.campaigns.pause if status == "paused" else ws.campaigns.end)("spring")
        with pytest.raises(CampaignError, match=expected):
            ws.campaigns.send("spring")
        assert _deliveries(ws) == []


def test_a_campaign_sends_only_within_its_dates(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.campaigns.add(_campaign())
        ws.campaigns.launch("spring")
        with pytest.raises(CampaignError, match=f"not started yet: it starts on {START}"):
            ws.campaigns.send("spring", now=NOW - timedelta(days=10))
        with pytest.raises(CampaignError, match=f"ended on {END}"):
            ws.campaigns.send("spring", now=NOW + timedelta(days=30))
        assert _deliveries(ws) == []


def test_a_variant_sent_by_webhook_needs_the_campaign_webhook(shop: Path) -> None:
    sms = _campaign(
        "texts",
        channel="sms",
        variants=[{"id": "t", "share": 0.5, "message": "crm:sms-spring"}],
        holdout=0.5,
    )
    with Workspace.open(shop) as ws:
        ws.campaigns.add(sms)
        ws.campaigns.launch("texts")
        with pytest.raises(CampaignError, match=r"^webhook: required to send variant 't'"):
            ws.campaigns.send("texts")
        with pytest.raises(CampaignError, match=r"^webhook: unknown webhook 'sms-gateway'"):
            ws.campaigns.add({**sms, "webhook": "sms-gateway"})
        assert _deliveries(ws) == []
    # A webhook removed from cible.toml after the campaign was added refuses the send.
    definition = parse_campaign({**sms, "webhook": "sms-gateway"})
    with pytest.raises(CampaignError, match=r"webhook: .*'sms-gateway', which is not in"):
        check_sendable(definition, "live", NOW.date(), {})


def test_an_sms_variant_calls_the_webhook_with_the_phone_only(shop: Path) -> None:
    configure(shop, webhooks={"sms-gateway": webhook("http://127.0.0.1:9/sms", channel="sms")})
    sms = _campaign(
        "texts",
        channel="sms",
        webhook="sms-gateway",
        variants=[
            {"id": "t", "share": 0.5, "message": "crm:sms-spring", "offer": {"kind": "gift"}}
        ],
        holdout=0.5,
    )
    with Workspace.open(shop) as ws:
        ws.campaigns.add(sms)
        ws.campaigns.launch("texts")
        done = ws.campaigns.send("texts")
        rows = _deliveries(ws)
    assert done["queued"] == len(rows) > 0 and done["no_address"] == 0
    row = rows[0]
    body = json.loads(row.payload)
    assert (row.kind, row.target, row.source) == ("webhook", "sms-gateway", "campaign:texts:t")
    assert (row.consent_channel, row.cap_channel) == ("sms", "sms")
    customer = row.customer_id
    assert body["type"] == "campaign.send"
    assert body["data"] == {
        "campaign": "texts",
        "variant": "t",
        "channel": "sms",
        "purpose": "marketing",
        "message": "crm:sms-spring",
        "offer": {"category": "all", "kind": "gift"},
        "customer_id": customer,
        "customer": {"phone": body["data"]["customer"]["phone"]},
    }
    assert body["data"]["customer"]["phone"].startswith("+33")


def test_an_endpoint_without_personal_data_gets_the_customer_id_only(shop: Path) -> None:
    configure(
        shop,
        webhooks={"crm": webhook("http://127.0.0.1:9/crm", personal_data=False)},
    )
    with Workspace.open(shop) as ws:
        ws.campaigns.add(
            _campaign(
                "crm",
                webhook="crm",
                variants=[{"id": "m", "share": 1, "message": "crm:42"}],
                holdout=0,
            )
        )
        ws.campaigns.launch("crm")
        done = ws.campaigns.send("crm")
        rows = _deliveries(ws)
    # No address is read or sent: the receiver reaches customers by id.
    assert done["no_address"] == 0 and done["queued"] == len(IDS)
    assert all("customer" not in json.loads(r.payload)["data"] for r in rows)
    assert all("@" not in r.payload for r in rows)


def test_ads_get_digests_of_the_contacts_not_the_contacts(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, ["x1", "x2"], no_email=("x2",))
    configure(shop, webhooks={"ads": webhook("http://127.0.0.1:9/ads", channel="ads")})
    with Workspace.open(shop) as ws:
        _load(ws, "consents", _consents(["x1", "x2"], "ads"))
        ws.campaigns.add(
            _campaign(
                "retarget",
                channel="ads",
                webhook="ads",
                variants=[{"id": "r", "share": 1, "template": "spring"}],
                holdout=0,
            )
        )
        ws.campaigns.launch("retarget")
        ws.campaigns.send("retarget")
        bodies = {r.customer_id: json.loads(r.payload)["data"] for r in _deliveries(ws)}
    assert set(bodies["x1"]["customer"]) == {"email_sha256", "phone_sha256"}
    assert set(bodies["x2"]["customer"]) == {"phone_sha256"}
    assert bodies["x1"]["template"] == "spring"
    assert "x1@example.com" not in json.dumps(bodies)

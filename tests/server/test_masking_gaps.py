"""Masking gaps a review found (issue 16): dry runs, deliveries sent to a former
address, and the free text of consent records, read by an analyst without the
``unmask`` grant; the same answers in clear for one with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cible import Workspace
from cible.server.app import create_app
from tests.server.test_masking import CLEAR, MASKED_EMAIL, Served, make_shop

#: Jeanne's former address, kept by the delivery sent to it before she changed it.
FORMER = "jeanne.martin@example.com"
FORMER_MASKED = MASKED_EMAIL
NEW = "jeanne.new@example.com"
#: An address and a phone quoted only in the consent record's free text.
QUOTED = ("ancienne.adresse@example.net", "+33 6 11 22 33 44")
PROOF = f"double opt-in confirmed from {QUOTED[0]}, call-back {QUOTED[1]}"
SOURCE = f"shop form (typed by {FORMER})"
AUTOMATION = {
    "id": "mail",
    "trigger": {"segment": "lifecycle-new"},
    "steps": [{"email": {"template": "hello"}}],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("gaps") / "data"
    secrets = make_shop(folder)
    with Workspace.open(folder / "shop") as ws:
        ws.automations.add(AUTOMATION)
        (folder / "proof.csv").write_text(
            "customer_id,channel,purpose,status,recorded_at,source,proof\n"
            f'a,sms,marketing,granted,2025-01-05,"{SOURCE}","{PROOF}"\n'
        )
        ws.imports.load("consents", folder / "proof.csv")
        # After the delivery of make_shop went to her address, Jeanne changes it.
        (folder / "moved.csv").write_text(f"customer_id,email\na,{NEW}\n")
        ws.imports.load("customers", folder / "moved.csv")
    with TestClient(create_app(folder / "shop")) as client:
        yield Served(client, folder / "shop", secrets)


def _clear_in(text: str) -> list[str]:
    return [value for value in (*CLEAR, *QUOTED, NEW) if value in text]


def test_a_dry_run_masks_the_address_and_the_rendered_message(served: Served) -> None:
    url = "/api/automations/mail/dry-run"
    masked = served.post("analyst", url, params={"customer_id": "a"})
    assert masked.status_code == 200, masked.text
    assert _clear_in(masked.text) == []
    delivery = next(s for s in masked.json()["steps"] if s["step"] == "delivery")
    assert delivery["target"] == MASKED_EMAIL and delivery["payload"]["to"] == MASKED_EMAIL
    assert delivery["detail"].startswith(f"{MASKED_EMAIL};")
    assert f"We write to {MASKED_EMAIL}." in delivery["payload"]["html"]
    # The grant, and an editor, read what would really be sent.
    for who in ("granted", "editor"):
        clear = served.post(who, url, params={"customer_id": "a"}).json()
        delivery = next(s for s in clear["steps"] if s["step"] == "delivery")
        assert delivery["target"] == delivery["payload"]["to"] == NEW


def test_a_delivery_to_an_address_since_changed_stays_masked(served: Served) -> None:
    # Jeanne's delivery went to her former address; her profile now holds a new one.
    for url in ("/api/deliveries", "/api/deliveries/1"):
        answer = served.get("analyst", url)
        assert answer.status_code == 200, answer.text
        assert FORMER not in answer.text and _clear_in(answer.text) == [], url
    listed = served.get("analyst", "/api/deliveries").json()
    assert listed[0]["target"] == FORMER_MASKED
    shown = served.get("analyst", "/api/deliveries/1").json()
    assert shown["target"] == FORMER_MASKED and FORMER_MASKED in shown["payload"]
    clear = served.get("granted", "/api/deliveries/1").json()
    assert clear["target"] == FORMER and FORMER in clear["payload"]


def test_consent_proofs_and_sources_are_masked_below_the_grant(served: Served) -> None:
    masked = served.get("analyst", "/api/privacy/consents/a")
    assert masked.status_code == 200, masked.text
    assert _clear_in(masked.text) == [] and FORMER not in masked.text
    record = next(r for r in masked.json()["ledger"] if r["channel"] == "sms")
    assert record["proof"] == (
        "double opt-in confirmed from a***@example.net, call-back +33 6 ** ** ** 44"
    )
    assert record["source"] == f"shop form (typed by {FORMER_MASKED})"
    # Everything else is as recorded.
    assert (record["status"], record["purpose"]) == ("granted", "marketing")
    for who in ("granted", "admin"):
        clear = served.get(who, "/api/privacy/consents/a").json()
        record = next(r for r in clear["ledger"] if r["channel"] == "sms")
        assert (record["proof"], record["source"]) == (PROOF, SOURCE)

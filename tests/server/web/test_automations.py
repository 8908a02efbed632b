"""The automation pages in-process: list, one automation, pause/resume, the editor
checked by the language (messages beside their field), the masked dry run."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible.access.roles import Role
from cible.server.web.automation_form import definition
from tests.server.web.activation_shop import (
    AUTOMATION,
    activation_shop,
    audited,
    refusals,
    signed_in,
)
from tests.server.web.shop import csrf_of

Shop = tuple[Path, dict[Role, str]]
#: The editor's fields for :data:`AUTOMATION`, as a browser posts them.
FORM = {
    "id": "welcome-vip-2",
    "name_en": "Welcome VIPs again",
    "trigger_kind": "tag",
    "trigger_tag": "vip",
    "trigger_tag_on": "added",
    "steps": "- webhook: {name: crm}\n- add_tag: greeted\n",
    "reentry": "once",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return activation_shop(tmp_path_factory.mktemp("automations"))


def _bearer(shop: Shop, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop[1][role]}"}


def test_the_list_and_an_automations_page_say_what_it_does_and_how_it_ran(shop: Shop) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        listed = client.get("/automations.json").json()["automations"]
        page = client.get("/automations/welcome-vip").text
        data = client.get("/automations/welcome-vip.json").json()
        api_log = client.get("/api/automations/welcome-vip/log", headers=_bearer(shop, Role.VIEWER))
        listing = client.get("/automations").text
    assert [(a["id"], a["status"], a["runs"]) for a in listed] == [
        ("welcome-vip", "active", {"waiting": 1})
    ]
    assert "When tag vip is added to a customer" in listing
    for words in (
        "Send the e-mail template welcome",
        "Call the webhook crm",
        "If the customer is in segment lyon-buyers",
        "Add tag greeted",
        "Wait 2 days",
    ):
        assert words in page
    assert data["definition"]["steps"] == AUTOMATION["steps"]
    assert [r["customer_id"] for r in data["latest_runs"]] == ["x"]
    assert data["log"] == api_log.json()
    assert "steps[2].branch.else[0]" in page and "Dry run" not in page  # viewers: no dry run
    assert 'action="/automations/welcome-vip/pause"' not in page


def test_an_editor_pauses_and_resumes_audited_and_a_viewer_is_refused(shop: Shop) -> None:
    with signed_in(shop, Role.EDITOR) as client:
        token = csrf_of(client.get("/automations/welcome-vip").text)
        paused = client.post(
            "/automations/welcome-vip/pause", data={"csrf_token": token}, follow_redirects=False
        )
        assert paused.status_code == 303
        page = client.get("/automations/welcome-vip").text
        assert 'action="/automations/welcome-vip/resume"' in page
        client.post("/automations/welcome-vip/resume", data={"csrf_token": token})
        assert client.get("/automations/welcome-vip.json").json()["status"] == "active"
        assert [e["actor"] for e in audited(client, shop, "automation.pause")] == ["editor-web"]
        assert [e["actor"] for e in audited(client, shop, "automation.resume")] == ["editor-web"]
    with signed_in(shop, Role.VIEWER) as client:
        token = csrf_of(client.get("/automations").text)
        refused = client.post("/automations/welcome-vip/pause", data={"csrf_token": token})
        assert refused.status_code == 403
        reasons = refusals(client, shop, "POST /automations/welcome-vip/pause")
    assert {"status": 403, "role": "viewer", "required": "editor"} in reasons


@pytest.mark.parametrize(
    "change, field, api_checks",
    [
        ({"trigger_tag": "vipp"}, "trigger_tag", True),
        ({"steps": "- add_tag: greeted\n- emial: {template: x}"}, "steps", True),
        ({"steps": "- add_tag: [unclosed"}, "steps", False),
        ({"id": "Not An Id"}, "id", True),
        ({"reentry_days": "-3"}, "reentry_days", True),
    ],
    ids=["unknown-tag", "misspelt-step", "not-yaml", "bad-id", "negative-days"],
)
def test_the_editor_shows_the_languages_message_beside_the_field_it_names(
    shop: Shop, change: dict[str, str], field: str, api_checks: bool
) -> None:
    form = {**FORM, **change}
    with signed_in(shop, Role.ANALYST) as client:
        token = csrf_of(client.get("/automations/new").text)
        answer = client.post("/automations/new", data={**form, "csrf_token": token})
        if api_checks:
            body, _ = definition(form)
            api = client.post(
                "/api/automations/validate", json=body, headers=_bearer(shop, Role.ANALYST)
            )
    assert answer.status_code == 400
    assert f'id="err-{field}"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    if api_checks:
        assert api.status_code == 400
        assert api.json()["detail"].replace("'", "&#39;") in answer.text


def test_the_editor_checks_for_analysts_saves_for_editors_and_audits(shop: Shop) -> None:
    with signed_in(shop, Role.ANALYST) as client:
        page = client.get("/automations/new").text
        assert 'value="save"' not in page
        token = csrf_of(page)
        checked = client.post(
            "/automations/new", data={**FORM, "action": "check", "csrf_token": token}
        )
        assert checked.status_code == 200 and "This automation is valid." in checked.text
        refused = client.post(
            "/automations/new", data={**FORM, "action": "save", "csrf_token": token}
        )
        assert refused.status_code == 403
        reasons = refusals(client, shop, "POST /automations/new")
    assert {"status": 403, "role": "analyst", "required": "editor"} in reasons
    with signed_in(shop, Role.EDITOR) as client:
        token = csrf_of(client.get("/automations/welcome-vip/edit").text)
        saved = client.post(
            "/automations/new",
            data={**FORM, "action": "save", "csrf_token": token},
            follow_redirects=False,
        )
        assert saved.headers["location"] == "/automations/welcome-vip-2"
        stored = client.get("/api/automations/welcome-vip-2", headers=_bearer(shop, Role.EDITOR))
        (entry,) = audited(client, shop, "automation.save")
    assert stored.json()["definition"]["reentry"] == "once"
    assert stored.json()["definition"]["steps"] == [
        {"webhook": {"name": "crm"}},
        {"add_tag": "greeted"},
    ]
    assert (entry["actor"], entry["target"], entry["outcome"]) == (
        "editor-web",
        "automation:welcome-vip-2",
        "ok",
    )


def test_editing_fills_the_form_and_changing_the_kind_swaps_the_trigger_fields(
    shop: Shop,
) -> None:
    with signed_in(shop, Role.ANALYST) as client:
        page = client.get("/automations/welcome-vip/edit").text
        assert '<option value="vip" selected>' in page and "in_segment: lyon-buyers" in page
        assert "Templates: welcome." in page and "Webhooks: crm." in page
        twin = client.get("/automations/welcome-vip/edit.json").json()
        assert twin["form"]["trigger_tag"] == "vip" and twin["choices"]["templates"] == ["welcome"]
        assert client.get("/automations/new.json").json()["form"]["trigger_kind"] == "segment"
        token = csrf_of(page)
        swapped = client.post(
            "/automations/new",
            data={**FORM, "trigger_kind": "event", "csrf_token": token},
            headers={"HX-Request": "true"},
        )
    assert swapped.status_code == 200
    assert "<html" not in swapped.text  # the form alone, for htmx
    assert 'id="f-trigger_event_name"' in swapped.text and 'id="f-trigger_tag"' not in swapped.text


def test_a_dry_run_is_for_analysts_with_contacts_masked_as_the_api_masks_them(
    shop: Shop,
) -> None:
    with signed_in(shop, Role.ANALYST) as client:
        token = csrf_of(client.get("/automations/welcome-vip").text)
        page = client.post(
            "/automations/welcome-vip/dry-run", data={"customer_id": "a", "csrf_token": token}
        )
        twin = client.post(
            "/automations/welcome-vip/dry-run.json", data={"customer_id": "a", "csrf_token": token}
        ).json()
        api = client.post(
            "/api/automations/welcome-vip/dry-run",
            params={"customer_id": "a"},
            headers=_bearer(shop, Role.ANALYST),
        ).json()
        unknown = client.post(
            "/automations/welcome-vip/dry-run", data={"customer_id": "nobody", "csrf_token": token}
        )
    assert page.status_code == 200 and 'id="dry-run"' in page.text
    assert "crm; consent: withdrawn" in page.text
    assert [s["step"] for s in twin["steps"]] == [s["step"] for s in api["steps"]]
    assert "ann@example.com" not in str(twin) + page.text
    assert unknown.status_code == 400 and "nobody" in unknown.text
    with signed_in(shop, Role.EDITOR) as client:
        token = csrf_of(client.get("/automations/welcome-vip").text)
        clear = client.post(
            "/automations/welcome-vip/dry-run.json", data={"customer_id": "a", "csrf_token": token}
        ).json()
        shown = client.post(
            "/automations/welcome-vip/dry-run", data={"customer_id": "a", "csrf_token": token}
        )
    assert "ann@example.com" in str(clear)
    assert "ann@example.com; consent: withdrawn" in shown.text
    with signed_in(shop, Role.VIEWER) as client:
        token = csrf_of(client.get("/automations").text)
        refused = client.post(
            "/automations/welcome-vip/dry-run", data={"customer_id": "a", "csrf_token": token}
        )
    assert refused.status_code == 403

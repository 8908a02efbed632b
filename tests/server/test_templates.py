"""``/api/templates``: viewers read, analysts preview, editors write; every change audited."""

from __future__ import annotations

from typing import Any

from cible.access.roles import Role
from tests.server.conftest import Served

GUIDE: dict[str, Any] = {
    "id": "guide",
    "name": {"en": "Guide", "fr": "Guide"},
    "subject": {
        "en": "Hello {{ customer.first_name | default('there') }}",
        "fr": "Bonjour {{ customer.first_name | default('à vous') }}",
    },
    "html": {
        "en": "<p>{{ customer.email }}</p>{{ block('offer') }}",
        "fr": "<p>{{ customer.email }}</p>{{ block('offer') }}",
    },
    "blocks": {
        "offer": [
            {
                "segment": "lifecycle-new",
                "html": {"en": "<p>Welcome</p>", "fr": "<p>Bienvenue</p>"},
            },
            {"html": "<p>Hi again</p>"},
        ]
    },
}


def _audit(served: Served, target: str) -> list[tuple[str, str, str]]:
    entries = served.client.get("/api/audit", headers=served.as_(Role.ADMIN)).json()["entries"]
    return [
        (e["actor"], e["action"], e["outcome"]) for e in reversed(entries) if e["target"] == target
    ]


def test_editor_saves_reads_previews_and_deletes_a_template_all_audited(served: Served) -> None:
    client, editor = served.client, served.as_(Role.EDITOR)
    created = client.put("/api/templates/guide", json=GUIDE, headers=editor)
    assert created.status_code == 201, created.text
    assert created.json()["created"] is True
    replaced = client.put("/api/templates/guide", json=GUIDE, headers=editor)
    assert replaced.status_code == 200 and replaced.json()["created"] is False

    viewer = served.as_(Role.VIEWER)
    listed = client.get("/api/templates", headers=viewer).json()
    assert [t["id"] for t in listed] == ["guide"]
    shown = client.get("/api/templates/guide", headers=viewer).json()
    assert (shown["updated_by"], shown["languages"], shown["blocks"]) == (
        "editor",
        ["en", "fr"],
        ["offer"],
    )

    analyst = served.as_(Role.ANALYST)
    one = client.post("/api/templates/guide/preview", json={"customer_id": "a"}, headers=analyst)
    assert one.status_code == 200, one.text
    (preview,) = one.json()["previews"]
    assert preview["messages"]["en"]["subject"] == "Hello there"
    assert preview["messages"]["fr"]["subject"] == "Bonjour à vous"
    # The analyst's token has no unmask grant: the address printed is masked.
    assert preview["messages"]["en"]["html"] == "<p>***@example.com</p><p>Welcome</p>"
    members = client.post(
        "/api/templates/guide/preview",
        json={"segment_id": "lifecycle-new", "lang": "fr", "limit": 2},
        headers=analyst,
    ).json()
    assert [p["customer_id"] for p in members["previews"]] == ["a", "b"]
    assert list(members["previews"][0]["messages"]) == ["fr"]
    nobody = client.post("/api/templates/guide/preview", headers=analyst).json()
    assert nobody["previews"][0]["messages"]["en"]["html"] == "<p></p><p>Hi again</p>"

    assert client.delete("/api/templates/guide", headers=editor).json() == {
        "id": "guide",
        "deleted": True,
    }
    assert client.delete("/api/templates/guide", headers=editor).status_code == 404
    assert _audit(served, "template:guide") == [
        ("editor", "template.save", "ok"),
        ("editor", "template.save", "ok"),
        ("editor", "template.delete", "ok"),
        ("editor", "template.delete", "failed"),
    ]


def test_roles(served: Served) -> None:
    client = served.client
    refused = client.put("/api/templates/guide", json=GUIDE, headers=served.as_(Role.ANALYST))
    assert refused.status_code == 403
    client.put("/api/templates/guide", json=GUIDE, headers=served.as_(Role.EDITOR))
    preview = client.post("/api/templates/guide/preview", headers=served.as_(Role.VIEWER))
    assert preview.status_code == 403  # a preview shows customers' personal data
    assert client.get("/api/templates/guide", headers=served.as_(Role.VIEWER)).status_code == 200
    assert client.get("/api/templates").status_code == 401


def test_errors_are_sentences_with_4xx(served: Served) -> None:
    client, editor = served.client, served.as_(Role.EDITOR)
    bad = client.put(
        "/api/templates/bad",
        json={"id": "bad", "name": "B", "subject": "S", "html": "{{ ''.x | attr('y') }}"},
        headers=editor,
    )
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("html.en: line 1: No filter named 'attr'.")
    other = client.put("/api/templates/one", json={**GUIDE, "id": "two"}, headers=editor)
    assert other.status_code == 400 and "differs from the URL" in other.json()["detail"]
    assert _audit(served, "template:one") == [("editor", "template.save", "failed")]
    analyst = served.as_(Role.ANALYST)
    assert client.get("/api/templates/nope", headers=analyst).status_code == 404
    client.put("/api/templates/guide", json=GUIDE, headers=editor)
    missing = client.post(
        "/api/templates/guide/preview", json={"customer_id": "zed"}, headers=analyst
    )
    assert missing.status_code == 404 and missing.json()["detail"] == "No customer 'zed'."
    unsafe = {**GUIDE, "id": "unsafe", "html": "{{ ''.__class__ }}"}
    client.put("/api/templates/unsafe", json=unsafe, headers=editor)
    refused = client.post("/api/templates/unsafe/preview", headers=analyst)
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "Template 'unsafe', html (en): not allowed: attribute '__class__' of a str"
    )

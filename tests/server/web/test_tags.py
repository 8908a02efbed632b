"""The tag pages in-process: the list, one tag, and the editors' forms (rights, audit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible.access.roles import Role
from tests.server.web.activation_shop import activation_shop, audited, refusals, signed_in
from tests.server.web.shop import csrf_of

Shop = tuple[Path, dict[Role, str]]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return activation_shop(tmp_path_factory.mktemp("tags"))


def test_the_list_counts_customers_as_the_api_does(shop: Shop) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        data = client.get("/tags.json").json()
        page = client.get("/tags").text
        api = client.get("/api/tags", headers={"Authorization": f"Bearer {shop[1][Role.VIEWER]}"})
    assert data["tags"] == api.json()
    assert {t["name"]: t["customers"] for t in data["tags"]} == {"greeted": 0, "vip": 3}
    assert 'href="/tags/vip"' in page
    assert 'action="/tags"' not in page  # a viewer gets no form


def test_an_editor_creates_tags_customers_renames_and_deletes_all_audited(shop: Shop) -> None:
    with signed_in(shop, Role.EDITOR) as client:
        token = csrf_of(client.get("/tags").text)
        made = client.post(
            "/tags",
            data={"csrf_token": token, "name": "met-at-fair", "description": "<b>Paris</b>"},
            follow_redirects=False,
        )
        assert (made.status_code, made.headers["location"]) == (303, "/tags/met-at-fair")
        added = client.post(
            "/tags/met-at-fair/customers",
            data={"csrf_token": token, "customer_ids": "a, b\nx", "action": "add"},
            follow_redirects=False,
        )
        assert added.status_code == 303
        page = client.get("/tags/met-at-fair").text
        assert "&lt;b&gt;Paris&lt;/b&gt;" in page  # the description is text
        assert client.get("/tags/met-at-fair.json").json()["customer_ids"] == ["a", "b", "x"]
        client.post(
            "/tags/met-at-fair/customers",
            data={"csrf_token": token, "customer_ids": "b", "action": "remove"},
        )
        renamed = client.post(
            "/tags/met-at-fair/rename",
            data={"csrf_token": token, "new_name": "fair-2026"},
            follow_redirects=False,
        )
        assert renamed.headers["location"] == "/tags/fair-2026"
        assert client.get("/tags/fair-2026.json").json()["customers_total"] == 2
        deleted = client.post(
            "/tags/fair-2026/delete", data={"csrf_token": token}, follow_redirects=False
        )
        assert deleted.headers["location"] == "/tags"
        assert client.get("/tags/fair-2026.json").status_code == 404
        for action, detail in [
            ("tag.save", {}),
            ("tag.add", {"customers": 3, "added": 3}),
            ("tag.remove", {"customers": 1, "removed": 1}),
            ("tag.rename", {"to": "fair-2026"}),
            ("tag.delete", {"removed": 2}),
        ]:
            (entry,) = audited(client, shop, action)
            assert entry["actor"] == "editor-web" and entry["outcome"] == "ok"
            assert detail.items() <= entry["detail"].items()


def test_a_refused_change_says_why_and_changes_nothing(shop: Shop) -> None:
    with signed_in(shop, Role.EDITOR) as client:
        token = csrf_of(client.get("/tags/vip").text)
        unknown = client.post(
            "/tags/vip/customers",
            data={"csrf_token": token, "customer_ids": "nobody", "action": "add"},
        )
        assert unknown.status_code == 400 and "nobody" in unknown.text
        bad = client.post("/tags", data={"csrf_token": token, "name": "x y", "colour": "red"})
        assert bad.status_code == 400 and 'role="alert"' in bad.text
        assert client.get("/tags/vip.json").json()["customers_total"] == 3


def test_a_viewers_post_and_a_post_without_token_are_refused_and_audited(shop: Shop) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        page = client.get("/tags/vip").text
        assert 'action="/tags/vip/delete"' not in page
        refused = client.post("/tags/vip/delete", data={"csrf_token": csrf_of(page)})
        assert refused.status_code == 403
        assert client.post("/tags/vip/delete", data={}).status_code == 403
        reasons = refusals(client, shop, "POST /tags/vip/delete")
        assert client.get("/tags/vip.json").json()["customers_total"] == 3
    assert {"status": 403, "role": "viewer", "required": "editor"} in reasons
    assert {"reason": "csrf"} in reasons

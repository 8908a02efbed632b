"""Segment drafts in the builder in-process: save, list, continue, publish, delete."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from cible.access.roles import Role
from tests.server.web.shop import csrf_of, sign_in

HTMX = {"HX-Request": "true"}


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "id": "window-shoppers",
        "name_en": "Window shoppers",
        "name_fr": "Lèche-vitrines",
        "n.type": "group",
        "n.mode": "any",
        "n.0.type": "event",
        "n.0.event": "product_viewed",
        "n.0.count_op": ">=",
        "n.0.count": "2",
        "n.1.type": "tag",
        "n.1.tag": "vip",
        "n.1.not": "on",
        **fields,
    }


def _drafts(client: TestClient) -> list[dict[str, object]]:
    found = client.get("/segments.json").json()["drafts"]
    assert isinstance(found, list)
    return found


def _opened(html: str, draft_id: int | None = None) -> str:
    """When the draft a page shows (the builder's, or ``draft_id`` of the list) was saved."""
    start = 0 if draft_id is None else html.index(f'action="/segments/drafts/{draft_id}/delete"')
    found = re.search(r'name="draft_saved_at" value="([^"]+)"', html[start:])
    assert found, "the page carries the moment the draft was saved"
    return found.group(1)


def _save(client: TestClient, **fields: str) -> tuple[int, str]:
    page = client.get("/segments/new").text
    saved = client.post("/segments/new", data=_form(csrf_of(page), action="draft", **fields))
    assert saved.status_code == 200, saved.text
    assert "Draft saved" in saved.text
    kept = re.search(r'name="draft" value="(\d+)"', saved.text)
    assert kept, "the builder keeps the draft it saved"
    return int(kept.group(1)), saved.text


def test_an_analyst_saves_a_draft_continues_it_and_saves_it_in_place(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    draft_id, _page = _save(client)
    listed = {d["draft_id"]: d for d in _drafts(client)}
    assert listed[draft_id]["author"] == "analyst-web"
    assert listed[draft_id]["name"] == {"en": "Window shoppers", "fr": "Lèche-vitrines"}
    assert "csrf_token" not in listed[draft_id]["form"]  # only the builder's state
    # Not a segment: nothing of that id is listed, shown or computed.
    assert client.get("/segments/window-shoppers.json").status_code == 404
    ids = [s["id"] for s in client.get("/segments.json").json()["segments"]]
    assert "window-shoppers" not in ids

    segments = client.get("/segments").text
    assert f'href="/segments/new?draft={draft_id}"' in segments
    assert f'action="/segments/drafts/{draft_id}/delete"' in segments
    assert "analyst-web" in segments

    reopened = client.get(f"/segments/new?draft={draft_id}").text
    assert 'name="id" value="window-shoppers"' in reopened
    assert 'name="n.0.event" value="product_viewed"' in reopened
    assert re.search(r'name="n.1.not" checked', reopened)
    assert '<option value="any" selected>' in reopened
    assert f'name="draft" value="{draft_id}"' in reopened
    assert 'id="preview-size"' in reopened  # previewed as it was left

    fields = {"draft": str(draft_id), "draft_saved_at": _opened(reopened), "n.0.count": "5"}
    again = client.post(
        "/segments/new", data=_form(csrf_of(reopened), action="draft", **fields), headers=HTMX
    )
    assert again.status_code == 200 and f'name="draft" value="{draft_id}"' in again.text
    kept = [d for d in _drafts(client) if d["segment_id"] == "window-shoppers"]
    assert [d["draft_id"] for d in kept] == [draft_id]  # in place, not a second one
    assert kept[0]["form"]["n.0.count"] == "5"  # type: ignore[index]


def test_an_unfinished_definition_is_kept_as_a_draft(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    draft_id, page = _save(client, id="", name_en="", name_fr="", **{"n.0.count": "many"})
    assert "where.any[0].count.value" in page  # the message, and still saved
    listed = {d["draft_id"]: d for d in _drafts(client)}
    assert listed[draft_id]["segment_id"] == "" and listed[draft_id]["name"] == {}
    assert "Untitled" in client.get("/segments").text


def test_publishing_a_draft_deletes_it(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    draft_id, _page = _save(client, id="to-publish")
    sign_in(client, shop[1][Role.EDITOR])
    page = client.get(f"/segments/new?draft={draft_id}").text
    published = client.post(
        "/segments/new",
        data=_form(
            csrf_of(page),
            action="publish",
            id="to-publish",
            draft=str(draft_id),
            draft_saved_at=_opened(page),
        ),
        headers=HTMX,
    )
    assert published.status_code == 204
    assert published.headers["HX-Redirect"] == "/segments/to-publish"
    assert draft_id not in [d["draft_id"] for d in _drafts(client)]
    assert client.get("/segments/to-publish.json").status_code == 200
    assert client.get(f"/segments/new?draft={draft_id}").status_code == 404
    found = client.get(
        "/api/audit",
        params={"action": "segment_draft.delete"},
        headers={"Authorization": f"Bearer {shop[1][Role.ADMIN]}"},
    ).json()
    assert {"actor": "editor-web", "target": f"draft:{draft_id}"}.items() <= found["entries"][
        0
    ].items()


def test_a_draft_is_deleted_by_an_analyst_and_not_by_a_viewer(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    draft_id, page = _save(client, id="to-delete")
    csrf = csrf_of(page)
    sign_in(client, shop[1][Role.VIEWER])
    listing = client.get("/segments")
    assert "/segments/drafts/" not in listing.text and "Drafts" not in listing.text
    assert client.get("/segments.json").json()["drafts"] is None
    refused = client.post(
        f"/segments/drafts/{draft_id}/delete", data={"csrf_token": csrf_of(listing.text)}
    )
    assert refused.status_code == 403
    assert (
        client.post("/segments/new", data=_form(csrf_of(listing.text), action="draft")).status_code
        == 403
    )

    sign_in(client, shop[1][Role.ANALYST])
    listing = client.get("/segments")
    csrf = csrf_of(listing.text)
    shown = {"csrf_token": csrf, "draft_saved_at": _opened(listing.text, draft_id)}
    deleted = client.post(f"/segments/drafts/{draft_id}/delete", data=shown, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/segments"
    assert draft_id not in [d["draft_id"] for d in _drafts(client)]
    gone = client.post(f"/segments/drafts/{draft_id}/delete", data=shown)
    assert gone.status_code == 404
    assert client.post(f"/segments/drafts/{draft_id}/delete", data={}).status_code == 403


def test_a_stale_page_neither_overwrites_nor_deletes_a_newer_draft(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    first, _page = _save(client, id="stale-first")
    listing = client.get("/segments").text
    shown = {"csrf_token": csrf_of(listing), "draft_saved_at": _opened(listing, first)}
    assert client.post(f"/segments/drafts/{first}/delete", data=shown).status_code == 200
    second, _page = _save(client, id="someone-else")
    assert second > first  # an id is never given twice

    # A builder left open on a draft that someone saved again since.
    mine = client.get(f"/segments/new?draft={second}").text
    theirs = client.get(f"/segments/new?draft={second}").text
    fields = {"draft": str(second), "draft_saved_at": _opened(theirs), "name_en": "Theirs"}
    saved = client.post("/segments/new", data=_form(csrf_of(theirs), action="draft", **fields))
    assert "Draft saved" in saved.text
    fields = {"draft": str(second), "draft_saved_at": _opened(mine), "name_en": "Mine"}
    stale = client.post(
        "/segments/new", data=_form(csrf_of(mine), action="draft", **fields), headers=HTMX
    )
    assert stale.status_code == 200
    assert "This draft was changed since you opened it" in stale.text
    assert 'name="draft"' not in stale.text  # saving again keeps a new draft
    names = {d["draft_id"]: d["name"] for d in _drafts(client)}
    assert names[second] == {"en": "Theirs", "fr": "Lèche-vitrines"}

    # The list shown before that save deletes nothing; nor does publishing the stale page.
    stale_list = {"csrf_token": csrf_of(mine), "draft_saved_at": _opened(mine)}
    refused = client.post(f"/segments/drafts/{second}/delete", data=stale_list)
    assert refused.status_code == 409 and "changed since you opened it" in refused.text
    sign_in(client, shop[1][Role.EDITOR])
    fields = {"draft": str(second), "draft_saved_at": _opened(mine), "id": "stale-published"}
    published = client.post(
        "/segments/new",
        data=_form(csrf_of(client.get("/segments").text), action="publish", **fields),
    )
    assert published.url.path == "/segments/stale-published"
    assert second in [d["draft_id"] for d in _drafts(client)]


def test_a_draft_too_large_to_keep_is_said_in_the_builder(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    before = len(_drafts(client))
    page = client.get("/segments/new").text
    long = {"action": "draft", "n.1.tag": "v" * 2500}
    refused = client.post("/segments/new", data=_form(csrf_of(page), **long), headers=HTMX)
    assert refused.status_code == 200  # htmx swaps it in
    assert refused.text.startswith('<form id="builder"')
    assert "at most 2000 characters" in refused.text and "Draft saved" not in refused.text
    assert len(_drafts(client)) == before

"""The web pages in-process: sessions, CSRF, roles, languages, JSON twins, escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cible import Workspace
from cible.access.roles import Role
from cible.server.app import create_app
from cible.server.web.sessions import SESSION_COOKIE
from tests.activation.privacy_shop import HOSTILE
from tests.server.web.shop import HOSTILE_ID, csrf_of, sign_in

PAGES = ["/overview", "/segments", "/segments/rfm-champions", "/customers?q=a", "/customers/a"]


def test_a_page_without_a_session_sends_to_sign_in_and_back(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    answer = client.get("/segments?q=vip", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fsegments%3Fq%3Dvip"
    assert client.get("/segments.json").status_code == 401
    sign_in(client, shop[1][Role.VIEWER], "/segments?q=vip")
    assert client.get("/segments?q=vip").status_code == 200


def test_the_session_cookie_is_http_only_and_holds_no_token(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"token": shop[1][Role.VIEWER], "next": "/", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP here
    assert shop[1][Role.VIEWER] not in cookie


@pytest.mark.parametrize("token, status", [("nonsense", 401), ("", 401)], ids=["unknown", "empty"])
def test_a_bad_token_is_refused_with_a_sentence(
    client: TestClient, token: str, status: int
) -> None:
    form = client.get("/sign-in?lang=fr")
    answer = client.post("/sign-in", data={"token": token, "csrf_token": csrf_of(form.text)})
    assert answer.status_code == status
    assert "Ce jeton est inconnu" in answer.text


def test_an_ingest_key_cannot_sign_in_and_a_forged_form_is_refused(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in", data={"token": shop[1][Role.INGEST], "csrf_token": csrf_of(form.text)}
    )
    assert answer.status_code == 401
    forged = client.post("/sign-in", data={"token": shop[1][Role.ADMIN], "csrf_token": "forged"})
    assert forged.status_code == 403


def test_an_open_redirect_after_sign_in_is_not_followed(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={
            "token": shop[1][Role.VIEWER],
            "next": "//evil.example/steal",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/overview"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_both_languages(
    client: TestClient, shop: tuple[Path, dict[Role, str]], path: str
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    joiner = "&" if "?" in path else "?"
    english = client.get(f"{path}{joiner}lang=en")
    french = client.get(f"{path}{joiner}lang=fr")
    assert english.status_code == french.status_code == 200
    assert '<html lang="en">' in english.text and '<html lang="fr">' in french.text
    assert "Sign out" in english.text and "Se déconnecter" in french.text
    # The choice is remembered: the next page without ?lang= is French.
    assert '<html lang="fr">' in client.get(path).text


def test_the_browser_language_decides_without_a_choice(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    answer = client.get("/overview", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in answer.text and "Vue d’ensemble" in answer.text


def test_json_twins_hold_what_the_pages_show(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.EDITOR])
    api = client.get("/api/segments", headers={"Authorization": f"Bearer {shop[1][Role.VIEWER]}"})
    sizes = {info["id"]: info["size"] for info in api.json()}
    overview = client.get("/overview.json").json()
    listed = {s["id"]: s["size"] for d in overview["dimensions"] for s in d["segments"]}
    assert listed == sizes
    segment = client.get("/segments/rfm-champions.json").json()
    assert segment["size"] == sizes["rfm-champions"] == segment["members_total"]
    page = client.get("/segments/rfm-champions").text
    for member in segment["members"]:
        assert f'href="/customers/{member["customer_id"]}"' in page
    assert client.get("/segments/nope.json").status_code == 404
    assert client.get("/customers/nobody").status_code == 404


def test_a_script_in_a_name_is_shown_as_text(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.EDITOR])
    # The importer title-cases names (<Script>): compared without case.
    page = client.get(f"/customers/{HOSTILE_ID}").text.lower()
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    search = client.get("/customers", params={"q": HOSTILE_ID}).text.lower()
    assert HOSTILE not in search and "&lt;script&gt;" in search


def test_viewers_see_no_edit_control_and_their_posts_are_refused_and_audited(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    page = client.get("/overview").text
    assert 'action="/runs"' not in page
    refused = client.post("/runs", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    no_token = client.post("/runs", data={})
    assert no_token.status_code == 403
    admin = {"Authorization": f"Bearer {shop[1][Role.ADMIN]}"}
    entries = client.get("/api/audit", params={"action": "auth"}, headers=admin).json()
    reasons = [
        e["detail"]
        for e in entries["entries"]
        if e["target"] == "POST /runs" and e["outcome"] == "refused"
    ]
    assert {"status": 403, "role": "viewer", "required": "analyst"} in reasons
    assert {"reason": "csrf"} in reasons


def test_an_analyst_starts_a_run_from_the_overview(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    page = client.get("/overview").text
    assert 'action="/runs"' in page
    answer = client.post("/runs", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/overview?job=")


def test_contacts_are_masked_for_an_analyst_and_clear_for_an_editor(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    masked = client.get("/customers/a.json").json()["profile"]["email"]
    assert masked != "ann@example.com" and masked.endswith("@example.com")
    assert "ann@example.com" not in client.get("/customers/a").text
    # Whole addresses only: a fragment would spell the masked address out.
    assert client.get("/customers.json", params={"q": "ann@"}).json()["customers"] == []
    found = client.get("/customers.json", params={"q": "ANN@example.com"}).json()["customers"]
    assert [c["customer_id"] for c in found] == ["a"] and found[0]["email"] == masked
    sign_in(client, shop[1][Role.EDITOR])
    assert client.get("/customers/a.json").json()["profile"]["email"] == "ann@example.com"
    partial = client.get("/customers.json", params={"q": "ann@"}).json()["customers"]
    assert [c["customer_id"] for c in partial] == ["a"]


def test_a_viewer_reads_no_customer_profile(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    assert 'href="/customers"' not in client.get("/overview").text
    for path in ("/customers/a", "/customers/a.json", "/customers?q=a"):
        assert client.get(path).status_code == 403, path


def test_signing_out_ends_the_session_and_revoking_the_token_too(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    page = client.get("/overview").text
    client.post("/sign-out", data={"csrf_token": csrf_of(page)})
    assert client.get("/overview", follow_redirects=False).status_code == 303
    with Workspace.open(shop[0]) as ws:
        secret, token = ws.tokens.create("short-lived", Role.VIEWER)
    with TestClient(create_app(shop[0])) as fresh:
        sign_in(fresh, secret)
        assert fresh.get("/overview").status_code == 200
        admin = {"Authorization": f"Bearer {shop[1][Role.ADMIN]}"}
        assert fresh.delete(f"/api/tokens/{token.token_id}", headers=admin).is_success
        assert fresh.get("/overview", follow_redirects=False).status_code == 303


def test_the_segment_list_filters_for_htmx_with_the_table_alone(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    rows = client.get("/segments", params={"dimension": "rfm"}, headers={"HX-Request": "true"})
    assert rows.text.lstrip().startswith("<tr>") and "<html" not in rows.text
    data = client.get("/segments.json", params={"dimension": "rfm"}).json()
    assert data["segments"] and {s["dimension"] for s in data["segments"]} == {"rfm"}
    assert rows.text.count("<tr>") == len(data["segments"])
    assert json.loads(json.dumps(data))  # strict JSON


def test_pages_forbid_framing_and_foreign_scripts(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    policy = client.get("/sign-in").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "https:" not in policy

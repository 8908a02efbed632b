"""The persona and cluster pages in-process: cards per dimension, stored clusterings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from cible import Workspace
from cible.access.roles import Role
from cible.models.clustering import ClusterSegmenter
from tests.server.web.activation_shop import activation_shop, signed_in

Shop = tuple[Path, dict[Role, str]]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return activation_shop(tmp_path_factory.mktemp("personas"))


@pytest.fixture(scope="module")
def expected(shop: Shop) -> dict[str, object]:
    """What the workspace says, read before the server opens it."""
    with Workspace.open(shop[0]) as ws:
        infos = ws.segments.list()
        card = ws.table("models").filter(lambda t: t.kind == "cluster").card.execute()[0]
        return {
            "typology": [i.id for i in infos if i.dimension == "typology" and i.size],
            "behaviour": {i.id: i.size for i in infos if i.dimension == "behaviour"},
            "persona": ws.persona("behaviour-2").as_dict(),
            "card": card if isinstance(card, dict) else json.loads(card),
        }


def test_personas_show_the_typology_first_with_a_card_per_segment_with_members(
    shop: Shop, expected: dict[str, object]
) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        data = client.get("/personas.json").json()
        page = client.get("/personas").text
    assert data["dimension"] == "typology"
    assert [c["segment_id"] for c in data["cards"]] == expected["typology"]
    assert {"behaviour", "rfm", "typology"} <= set(data["dimensions"])
    for card in data["cards"]:
        assert card["name"]["en"] in page and f'id="persona-{card["segment_id"]}"' in page
        for _rule, action in card["actions"]:
            assert action["en"] in page


def test_a_clusterings_cards_are_the_workspaces_with_the_rule_in_the_visitors_language(
    shop: Shop, expected: dict[str, object]
) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        data = client.get("/personas.json", params={"dimension": "behaviour"}).json()
        french = client.get("/personas", params={"dimension": "behaviour", "lang": "fr"}).text
    cards = {c["segment_id"]: c for c in data["cards"]}
    assert {k: c["size"] for k, c in cards.items()} == expected["behaviour"]
    persona = expected["persona"]
    assert isinstance(persona, dict)
    card = cards["behaviour-2"]
    assert card["name"] == persona["name"] and card["traits"] == json.loads(
        json.dumps(persona["traits"])
    )
    rule = card["cluster_rule"]["text"]
    assert rule == expected["card"]["rules"]["1"]["text"]  # type: ignore[index]
    assert str(escape(rule["fr"])) in french
    assert card["name"]["fr"] in french and card["name"]["en"] not in french


def test_an_unknown_dimension_falls_back_and_a_visitor_must_sign_in(shop: Shop) -> None:
    with signed_in(shop, Role.VIEWER) as client:
        data = client.get("/personas.json", params={"dimension": "<nope>"}).json()
        assert data["dimension"] == "typology"
        client.cookies.clear()
        assert client.get("/personas.json").status_code == 401
        assert client.get("/clusters", follow_redirects=False).status_code == 303


def test_clusters_show_what_the_clustering_stored_without_loading_the_model(
    shop: Shop, expected: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(blob: bytes) -> ClusterSegmenter:
        raise AssertionError("a GET must not load the fitted model")

    monkeypatch.setattr(ClusterSegmenter, "loads", refuse)
    with signed_in(shop, Role.VIEWER) as client:
        data = client.get("/clusters.json").json()
        page = client.get("/clusters").text
    (clustering,) = data["clusterings"]
    card = expected["card"]
    assert isinstance(card, dict)
    assert clustering["dimension"] == "behaviour"
    assert (clustering["method"], clustering["k"]) == ("kmeans", 2)
    assert clustering["ari"] == card["stability"]["ari"]
    rows = clustering["clusters"]
    assert [r["segment_id"] for r in rows] == ["behaviour-1", "behaviour-2"]
    assert [r["stability"] for r in rows] == card["stability"]["jaccard"]
    assert {r["segment_id"]: r["size"] for r in rows} == expected["behaviour"]
    assert str(escape(rows[0]["rule"]["text"]["en"])) in page
    assert 'href="/personas?dimension=behaviour#persona-behaviour-1"' in page

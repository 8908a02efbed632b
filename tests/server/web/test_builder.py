"""The segment builder in-process: the tree it posts, the preview, the errors, the rights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cible.access.roles import Role
from cible.cli.app import app
from cible.server.app import create_app
from cible.server.web.builder import apply_action, error_path, parse_tree, where
from tests.server.web.shop import csrf_of, sign_in

HTMX = {"HX-Request": "true"}


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "id": "curious",
        "name_en": "Curious",
        "name_fr": "Curieux",
        "n.type": "group",
        "n.mode": "all",
        "n.0.type": "event",
        "n.0.event": "product_viewed",
        "n.0.count_op": ">=",
        "n.0.count": "1",
        **fields,
    }


def test_the_tree_round_trips_nested_groups_and_negations() -> None:
    tree = apply_action(apply_action(parse_tree({}), "add:n"), "group:n")
    tree = apply_action(tree, "add:n.1")
    form = {"n.type": "group", "n.mode": "any"}
    form |= {"n.0.type": "trait", "n.0.field": "monetary_value", "n.0.op": "between"}
    form |= {"n.0.value": "10; 99,5", "n.1.type": "group", "n.1.mode": "all", "n.1.not": "on"}
    form |= {"n.1.0.type": "tag", "n.1.0.tag": "vip", "n.1.1.type": "consent"}
    parsed = parse_tree(form)
    assert [c["path"] for c in tree["children"]] == ["n.0", "n.1"]
    assert [c["path"] for c in tree["children"][1]["children"]] == ["n.1.0"]
    assert where(parsed, {"monetary_value": "float64"}) == {
        "any": [
            {"trait": "monetary_value", "op": "between", "value": [10, 99.5]},
            {
                "not": {
                    "all": [
                        {"tag": "vip"},
                        {"consent": "email", "purpose": "marketing", "status": "granted"},
                    ]
                }
            },
        ]
    }
    removed = apply_action(parsed, "remove:n.0")
    assert [c["type"] for c in removed["children"]] == ["group"]
    assert removed["children"][0]["path"] == "n.0"  # renumbered
    assert apply_action(parsed, "remove:n") == parsed  # the root stays


@pytest.mark.parametrize(
    "message, path",
    [
        ("where.all[1].count.value: bad", "n.1"),
        ("where.any[0].not.all[2].value: bad", "n.0.2"),
        ("name: missing", None),
        ("where.all[7].value: no such node", None),
    ],
)
def test_a_message_is_placed_by_the_condition_it_names(message: str, path: str | None) -> None:
    tree = parse_tree(
        {
            "n.type": "group",
            "n.0.type": "group",
            **{f"n.0.{i}.type": "trait" for i in range(3)},
            "n.1.type": "event",
        }
    )
    assert error_path(message, tree) == path


def test_the_preview_equals_the_cli_preview_of_the_same_definition(
    shop: tuple[Path, dict[Role, str]], tmp_path: Path
) -> None:
    # The server closes before the CLI opens the workspace itself.
    with TestClient(create_app(shop[0])) as client:
        sign_in(client, shop[1][Role.ANALYST])
        csrf = csrf_of(client.get("/segments/new").text)
        form = _form(csrf, **{"n.0.count": "2", "n.0.within_days": "3650", "action": "preview"})
        answer = client.post("/segments/new", data=form, headers=HTMX)
    shown = re.search(r'id="preview-size">([^<]+)<', answer.text)
    assert answer.status_code == 200 and shown
    definition = {
        "id": "curious",
        "name": {"en": "Curious", "fr": "Curieux"},
        "where": {
            "all": [
                {"event": "product_viewed", "count": {"op": ">=", "value": 2}, "within_days": 3650}
            ]
        },
    }
    path = tmp_path / "curious.yaml"
    path.write_text(yaml.safe_dump(definition))
    result = CliRunner().invoke(
        app, ["segments", "preview", str(path), "--json", "--workspace", str(shop[0])]
    )
    assert result.exit_code == 0, result.output
    assert int(shown.group(1)) == json.loads(result.stdout)["size"]


def test_an_error_shows_by_its_condition_and_nothing_is_saved(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.EDITOR])
    csrf = csrf_of(client.get("/segments/new").text)
    bad = _form(csrf, **{"n.0.count": "many", "action": "publish"})
    answer = client.post("/segments/new", data=bad, headers=HTMX)
    assert answer.status_code == 200
    node = answer.text[answer.text.index('id="node-n.0"') :]
    assert node.index("where.all[0].count.value") < node.index("</fieldset>")
    assert client.get("/segments/curious.json").status_code == 404


def test_an_editor_publishes_and_an_analyst_may_only_preview(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    page = client.get("/segments/new").text
    assert 'value="publish"' not in page
    refused = client.post("/segments/new", data=_form(csrf_of(page), action="publish"))
    assert refused.status_code == 403
    sign_in(client, shop[1][Role.EDITOR])
    page = client.get("/segments/new").text
    done = client.post("/segments/new", data=_form(csrf_of(page), action="publish"), headers=HTMX)
    assert done.status_code == 204 and done.headers["HX-Redirect"] == "/segments/curious"
    saved = client.get("/segments/curious.json").json()
    assert saved["name"] == {"en": "Curious", "fr": "Curieux"}
    assert saved["definition"]["where"] == {
        "all": [{"event": "product_viewed", "count": {"op": ">=", "value": 1}}]
    }


def test_a_viewer_has_no_builder(client: TestClient, shop: tuple[Path, dict[Role, str]]) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    assert client.get("/segments/new").status_code == 403
    assert 'href="/segments/new"' not in client.get("/segments").text

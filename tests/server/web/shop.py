"""A small served shop for the web tests: a hostile name, tokens of every role."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from cible import Workspace
from cible.access.roles import Role
from tests.activation.privacy_shop import build_shop

#: A customer whose first name is a script: pages must show it as text.
HOSTILE_ID = "x"


def make_shop(folder: Path) -> tuple[Path, dict[Role, str]]:
    """The privacy shop (run, segments, consents), and a token per role."""
    shop = build_shop(folder)
    with Workspace.open(shop) as ws:
        secrets = {role: ws.tokens.create(f"{role.value}-web", role)[0] for role in Role}
    return shop, secrets


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(client: TestClient, secret: str, target: str = "/overview") -> None:
    """Sign ``client`` in with ``secret`` through the form, as a browser does."""
    form = client.get(f"/sign-in?next={target}")
    answer = client.post(
        "/sign-in",
        data={"token": secret, "next": target, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == target

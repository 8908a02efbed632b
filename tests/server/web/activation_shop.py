"""The web tests' shop with what the activation pages show: a clustering, tags, and an
automation that has run.

Building it takes seconds; it is built once per test process and copied for each
module that asks, so that a module's changes never reach another.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

from fastapi.testclient import TestClient

from cible import Workspace
from cible.access.roles import Role
from cible.server.app import create_app
from tests.server.web.shop import make_shop, sign_in

#: An automation on the shop's tag ``vip``: it e-mails, calls the CRM webhook, branches.
AUTOMATION = {
    "id": "welcome-vip",
    "name": {"en": "Welcome VIPs", "fr": "Accueil des VIP"},
    "trigger": {"tag": "vip", "on": "added"},
    "steps": [
        {"email": {"template": "welcome"}},
        {"webhook": {"name": "crm"}},
        {
            "branch": {
                "if": {"in_segment": "lyon-buyers"},
                "then": [{"add_tag": "greeted"}],
                "else": [{"wait": {"days": 2}}],
            }
        },
    ],
}


#: The template the automation sends.
TEMPLATE = {
    "id": "welcome",
    "name": {"en": "Welcome", "fr": "Bienvenue"},
    "subject": {"en": "Welcome, {{ customer.first_name }}"},
    "html": {"en": "<p>Welcome</p>"},
}


@cache
def _built() -> tuple[Path, dict[Role, str]]:
    folder = Path(mkdtemp(prefix="cible-activation-"))
    shop, secrets = make_shop(folder)
    with Workspace.open(shop) as ws:
        ws.cluster(k=2, random_state=0, n_bootstrap=3, dimension="behaviour")
        ws.tags.define("greeted", description="Welcomed by the automation")
        ws.templates.add(TEMPLATE, actor="test")
        ws.automations.add(AUTOMATION, actor="test")
        ws.tags.apply("vip", ["x"], actor="test")
        ws.automations.process()
    return shop, secrets


def activation_shop(folder: Path) -> tuple[Path, dict[Role, str]]:
    """A copy, under ``folder``, of the shop with a clustering ``behaviour`` (two
    clusters), tags ``vip`` and ``greeted``, the template ``welcome``, and the automation :data:`AUTOMATION`
    that has run once for customer ``x``; and a token per role."""
    shop, secrets = _built()
    copy = folder / "shop"
    shutil.copytree(shop, copy)
    return copy, secrets


@contextmanager
def signed_in(shop: tuple[Path, dict[Role, str]], role: Role) -> Iterator[TestClient]:
    """An in-process client of the served shop, signed in with ``role``'s token."""
    with TestClient(create_app(shop[0])) as client:
        sign_in(client, shop[1][role])
        yield client


def audited(client: TestClient, shop: tuple[Path, dict[Role, str]], action: str) -> list[Any]:
    """The audit log's entries of ``action`` ("tag.save", "auth"), newest first."""
    admin = {"Authorization": f"Bearer {shop[1][Role.ADMIN]}"}
    answer = client.get("/api/audit", params={"action": action}, headers=admin)
    found: list[Any] = answer.json()["entries"]
    return found


def refusals(client: TestClient, shop: tuple[Path, dict[Role, str]], target: str) -> list[Any]:
    """The audit log's details of the refused requests to ``target`` ("POST /tags")."""
    return [
        e["detail"]
        for e in audited(client, shop, "auth")
        if e["target"] == target and e["outcome"] == "refused"
    ]

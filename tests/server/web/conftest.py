"""What the web tests share: the shop of :mod:`tests.server.web.shop` once per module,
an in-process client on it, and for the browser tests one Chromium per module with
tabs under the pages' Content-Security-Policy or able to inject axe-core. A module
that needs another shop defines its own ``shop`` (or ``site``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from cible.access.roles import Role
from cible.server.app import create_app
from tests.server.web.browser import chromium, open_tab
from tests.server.web.shop import make_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[Role, str]]:
    return make_shop(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(shop: tuple[Path, dict[Role, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(shop[0])) as opened:
        yield opened


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A tab under the pages' Content-Security-Policy."""
    with open_tab(browser, bypass_csp=False) as opened:
        yield opened


@pytest.fixture
def audited(browser: Browser) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A tab that may inject axe-core (an inline script the policy refuses)."""
    with open_tab(browser, bypass_csp=True) as opened:
        yield opened

"""The persona, cluster, tag and automation pages in a real browser against a real
`cible serve`: no serious accessibility violation in either language, a screenshot of
each, and the automation editor's message shown beside its field after an htmx swap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from cible.access.roles import Role
from tests.server.processes import serving
from tests.server.web.activation_shop import activation_shop
from tests.server.web.browser import accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow

PAGES = [
    ("personas", "/personas"),
    ("clusters", "/clusters"),
    ("tags", "/tags"),
    ("tag", "/tags/vip"),
    ("automations", "/automations"),
    ("automation", "/automations/welcome-vip"),
    ("automation-editor", "/automations/welcome-vip/edit"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[Role, str]]]:
    folder = tmp_path_factory.mktemp("activation-browser")
    shop, secrets = activation_shop(folder)
    with serving(shop, folder / "serve.log") as url:
        yield url, secrets


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_activation_page_has_a_serious_accessibility_violation(
    site: tuple[str, dict[Role, str]], audited: tuple[Page, list[str], list[str]], lang: str
) -> None:
    url, secrets = site
    tab, leaks, dialogs = audited
    sign_in(tab, url, secrets[Role.EDITOR])  # editors see every form
    for name, path in PAGES:
        tab.goto(f"{url}{path}?lang={lang}")
        tab.wait_for_load_state("networkidle")
        expect(tab.get_by_role("heading", level=1)).to_be_visible()
        assert accessibility_problems(tab) == [], name
        screenshot(tab, f"{name}-{lang}")
    assert leaks == [] and dialogs == []


def test_the_editor_swaps_the_trigger_fields_and_shows_a_message_beside_the_steps(
    site: tuple[str, dict[Role, str]], page: tuple[Page, list[str], list[str]]
) -> None:
    url, secrets = site
    tab, leaks, _dialogs = page
    sign_in(tab, url, secrets[Role.ANALYST])
    tab.goto(f"{url}/automations/new")
    tab.wait_for_load_state()  # htmx starts once the page has loaded
    tab.get_by_label("Id").fill("fair-visitors")
    tab.get_by_label("Starts on").select_option("event")  # htmx swaps the trigger's fields
    expect(tab.get_by_label("Event name")).to_be_visible()
    tab.get_by_label("Event name").fill("fair_visited")
    tab.get_by_label("Steps (YAML)").fill("- add_tag: vip\n- emial: {template: x}")
    tab.get_by_role("button", name="Check").click()
    message = tab.locator("#err-steps")
    expect(message).to_contain_text("steps[1]: a step needs one of the keys")
    expect(message).to_contain_text("did you mean 'email'?")
    screenshot(tab, "automation-editor-error")
    tab.goto(f"{url}/automations/welcome-vip")
    tab.get_by_label("Customer id").fill("a")
    tab.get_by_role("button", name="Try it now").click()
    expect(tab.locator("#dry-run")).to_contain_text("crm; consent: withdrawn")
    expect(tab.locator("#dry-run")).not_to_contain_text("ann@example.com")  # masked
    screenshot(tab, "automation-dry-run")
    assert leaks == []

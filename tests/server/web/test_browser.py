"""The web UI in a real browser against a real `cible serve`: sign in, read, switch
language, filter, refuse a viewer's post, show a script as text, fetch nothing remote."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cible.access.roles import Role
from tests.server.processes import CIBLE, serving
from tests.server.web.browser import (
    accessibility_problems,
    screenshot,
    sign_in,
)
from tests.server.web.shop import HOSTILE_ID, make_shop

pytestmark = pytest.mark.slow


#: The workspace folder of each served URL (the CLI is pointed at it).
_FOLDERS: dict[str, str] = {}


def site_folder(url: str) -> str:
    return _FOLDERS[url]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[Role, str]]]:
    folder = tmp_path_factory.mktemp("browser")
    shop, secrets = make_shop(folder)
    with serving(shop, folder / "serve.log") as url:
        _FOLDERS[url] = str(shop)
        yield url, secrets


def test_an_editor_reads_the_overview_segments_and_a_customer_in_both_languages(
    site: tuple[str, dict[Role, str]], page: tuple[Page, list[str], list[str]]
) -> None:
    url, secrets = site
    tab, leaks, dialogs = page
    sign_in(tab, url, secrets[Role.EDITOR])
    expect(tab.get_by_role("heading", level=1)).to_have_text("Overview")
    # The charts are drawn by the vendored vega-embed, as SVG.
    expect(tab.locator("div.vega svg").first).to_be_visible()
    screenshot(tab, "overview-en")

    tab.get_by_role("link", name="FR").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Vue d’ensemble")
    screenshot(tab, "overview-fr")

    tab.get_by_role("link", name="Segments").click()
    tab.wait_for_load_state()  # htmx starts once the page has loaded
    rows = tab.locator("#segment-rows tr")
    every = rows.count()
    tab.get_by_label("Dimension").select_option("rfm")
    expect(rows).not_to_have_count(every)  # htmx swapped the table in place
    assert all("rfm" in text for text in rows.locator("td:nth-child(2)").all_inner_texts())
    screenshot(tab, "segments-fr")
    rows.first.get_by_role("link").click()
    expect(tab.get_by_role("heading", name="Membres")).to_be_visible()
    screenshot(tab, "segment-fr")

    tab.goto(f"{url}/customers?q={HOSTILE_ID}&lang=en")
    tab.get_by_role("link", name=HOSTILE_ID, exact=True).click()
    heading = tab.get_by_role("heading", level=1)
    expect(heading).to_contain_text("alert(1)")  # the script is text, not run
    screenshot(tab, "customer-en")
    assert dialogs == []
    assert leaks == []


def test_a_viewer_sees_no_edit_control_and_a_direct_post_is_refused(
    site: tuple[str, dict[Role, str]], page: tuple[Page, list[str], list[str]]
) -> None:
    url, secrets = site
    tab, leaks, _dialogs = page
    sign_in(tab, url, secrets[Role.VIEWER])
    expect(tab.get_by_role("button", name="Run segments now")).to_have_count(0)
    expect(tab.get_by_role("link", name="Customers")).to_have_count(0)
    token = tab.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = tab.request.post(f"{url}/runs", form={"csrf_token": token or ""})
    assert refused.status == 403
    screenshot(tab, "overview-viewer")
    tab.get_by_role("button", name="Sign out").click()
    expect(tab).to_have_url(re.compile(r"/sign-in$"))
    assert leaks == []


PAGES = [
    ("overview", "/overview"),
    ("segments", "/segments"),
    ("segment", "/segments/lifecycle-lapsed"),
    ("customers", "/customers?q=a"),
    ("customer", "/customers/a"),
    ("builder", "/segments/new"),
    ("data", "/data"),
    ("duplicates", "/data/duplicates"),
    ("jobs", "/admin/jobs"),
]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_page_has_a_serious_accessibility_violation(
    site: tuple[str, dict[Role, str]], audited: tuple[Page, list[str], list[str]], lang: str
) -> None:
    url, secrets = site
    tab, leaks, _dialogs = audited
    tab.goto(f"{url}/sign-in?lang={lang}")
    assert accessibility_problems(tab) == [], "sign-in"
    sign_in(tab, url, secrets[Role.ANALYST])
    for name, path in PAGES:
        joiner = "&" if "?" in path else "?"
        tab.goto(f"{url}{path}{joiner}lang={lang}")
        tab.wait_for_load_state("networkidle")
        assert accessibility_problems(tab) == [], name
        screenshot(tab, f"{name}-{lang}-analyst")
    assert leaks == []


def test_the_accessibility_check_does_find_a_violation(
    audited: tuple[Page, list[str], list[str]],
) -> None:
    tab, _leaks, _dialogs = audited
    tab.set_content('<html lang="en"><title>t</title><main><input type="text"></main></html>')
    assert [p["id"] for p in accessibility_problems(tab)] == ["label"]


def test_an_editor_builds_an_event_count_segment_publishes_it_and_exports_it_for_email(
    site: tuple[str, dict[Role, str]],
    page: tuple[Page, list[str], list[str]],
    tmp_path: Path,
) -> None:
    url, secrets = site
    tab, leaks, _dialogs = page
    sign_in(tab, url, secrets[Role.EDITOR])
    tab.goto(f"{url}/segments/new")
    tab.get_by_label("Id").fill("browsers")
    tab.get_by_label("Name in English").fill("Browsers")
    tab.locator("[name='n.0.type']").select_option("event")  # htmx re-renders it
    event = tab.locator("[name='n.0.event']")
    expect(event).to_be_visible()
    event.fill("product_viewed")
    tab.locator("[name='n.0.count_op']").select_option(">=")
    tab.locator("[name='n.0.count']").fill("1")
    tab.get_by_role("button", name="Preview").click()
    shown = tab.locator("#preview-size")
    expect(shown).to_be_visible()
    screenshot(tab, "builder-en")
    definition = tmp_path / "browsers.json"
    definition.write_text(
        json.dumps(
            {
                "id": "browsers",
                "name": "Browsers",
                "where": {"all": [{"event": "product_viewed", "count": {"op": ">=", "value": 1}}]},
            }
        )
    )
    # The CLI goes through the served workspace: the same count.
    cli = subprocess.run(
        [*CIBLE, "segments", "preview", str(definition), "--json", "--workspace", site_folder(url)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(shown.inner_text()) == json.loads(cli.stdout)["size"]

    tab.get_by_role("button", name="Publish").click()
    expect(tab).to_have_url(re.compile(r"/segments/browsers$"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Browsers")
    tab.get_by_label("Export for").select_option("email")
    with tab.expect_download() as download:
        tab.get_by_role("button", name="Export members").click()
    saved = tmp_path / "browsers.csv"
    download.value.save_as(saved)
    header = saved.read_text().splitlines()[0]
    assert "email" in header
    screenshot(tab, "segment-published")
    assert leaks == []


ADMIN_PAGES = [
    ("jobs", "/admin/jobs"),
    ("audit", "/admin/audit"),
    ("tokens", "/admin/tokens"),
    ("segments-drafts", "/segments"),
]


def test_an_admin_saves_a_draft_continues_it_and_the_admin_pages_pass_axe(
    site: tuple[str, dict[Role, str]], audited: tuple[Page, list[str], list[str]]
) -> None:
    url, secrets = site
    tab, leaks, _dialogs = audited
    sign_in(tab, url, secrets[Role.ADMIN])
    tab.goto(f"{url}/segments/new")
    tab.wait_for_load_state("networkidle")
    tab.get_by_label("Id").fill("half-done")
    tab.get_by_role("button", name="Save as draft").click()  # htmx posts the button's value
    expect(tab.get_by_role("status")).to_contain_text("Draft saved")
    tab.goto(f"{url}/segments")
    tab.get_by_role("link", name="Continue half-done").click()
    expect(tab.get_by_label("Id")).to_have_value("half-done")
    for name, path in ADMIN_PAGES:
        tab.goto(f"{url}{path}")
        tab.wait_for_load_state("networkidle")
        assert accessibility_problems(tab) == [], name
        screenshot(tab, f"admin-{name}")
    assert leaks == []

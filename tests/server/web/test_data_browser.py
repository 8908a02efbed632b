"""The data pages in a real browser against a real `cible serve`: an editor uploads a
CSV with a French header, maps the id the CLI does not recognise, imports it and reads
its rejects, on a page axe-core finds accessible."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from cible import Workspace
from cible.access.roles import Role
from tests.server.processes import serving
from tests.server.web.browser import accessibility_problems, chromium, offline, screenshot

pytestmark = pytest.mark.slow

#: A French export; line 3 has a date that does not exist, line 4 no id.
FRENCH = (
    "Identifiant client;Courriel;Prénom;Date d'inscription\n"
    "C1;anne@example.com;Anne;12/03/2024\n"
    "C2;bob@example.com;Bob;31/02/2024\n"
    ";zoe@example.com;Zoé;01/01/2024\n"
    "C4;luc@example.com;Luc;02/05/2024\n"
).encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("data-browser")
    with Workspace.create(folder / "shop") as ws:
        secret = ws.tokens.create("editor-data", Role.EDITOR)[0]
    with serving(folder / "shop", folder / "serve.log") as url:
        yield url, secret


def test_an_editor_uploads_a_french_csv_and_sees_its_rejects(site: tuple[str, str]) -> None:
    url, secret = site
    leaks: list[str] = []
    with chromium() as browser:
        # bypass_csp lets axe-core be injected; the pages' own scripts are all files.
        context = browser.new_context(locale="en-GB", bypass_csp=True)
        tab = context.new_page()
        offline(tab, leaks)
        tab.goto(f"{url}/data/upload")
        tab.locator("#token").fill(secret)
        tab.locator("form[action='/sign-in'] button[type=submit]").click()
        expect(tab).to_have_url(re.compile(r"/data/upload$"))

        assert accessibility_problems(tab) == [], "upload"
        tab.get_by_label("Kind of file").select_option("customers")
        tab.get_by_label("File", exact=True).set_input_files(
            {"name": "clients.csv", "mimeType": "text/csv", "buffer": FRENCH}
        )
        tab.get_by_role("button", name="Upload").click()
        expect(tab.get_by_role("heading", level=1)).to_have_text("Preview of clients.csv")
        expect(tab.get_by_label("Courriel")).to_have_value("email")
        expect(
            tab.get_by_text("Choose a column for each required field: customer_id.")
        ).to_be_visible()
        tab.wait_for_load_state()  # htmx starts once the page has loaded
        tab.get_by_label("Identifiant client").select_option("customer_id")
        # htmx previews the new mapping: nothing required is missing any more.
        expect(tab.get_by_text("Choose a column for each required field")).to_have_count(0)
        tab.get_by_label("Date d'inscription").select_option("created_at")
        assert accessibility_problems(tab) == [], "preview"
        screenshot(tab, "data-preview-en")
        tab.get_by_role("button", name="Import", exact=True).click()

        expect(tab).to_have_url(re.compile(r"/data/jobs/\d+$"))
        status = tab.get_by_text("clients.csv: 4 rows read, 2 loaded, 2 rejected.")
        expect(status).to_be_visible(timeout=30_000)  # htmx polled the job to its end
        rows = tab.locator("table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("31/02/2024")
        expect(rows.nth(1)).to_contain_text("missing customer_id")
        screenshot(tab, "data-import-en")
        assert accessibility_problems(tab) == []

        tab.goto(f"{url}/data?lang=fr")
        expect(tab.locator("html")).to_have_attribute("lang", "fr")
        tab.locator("a[href$='/rejects']").first.click()
        expect(tab.locator("table tbody tr")).to_have_count(2)
        screenshot(tab, "data-rejects-fr")
        assert accessibility_problems(tab) == []
        context.close()
    assert leaks == []

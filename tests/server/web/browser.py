"""Debian's Chromium driven by Playwright, headless, for the web UI tests.

The browser is the distribution's (``/usr/bin/chromium``, installed by ``make test``);
Playwright never downloads one. Requests leaving 127.0.0.1 are aborted and counted:
a page must work offline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Dialog, Page, Route, expect, sync_playwright

from cible.server.web.vendor import Asset, checksum

CHROMIUM = Path(os.environ.get("CIBLE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: axe-core, the accessibility checker, vendored for the tests from the npm registry
#: (``fetch(VENDOR, (AXE,))`` of :mod:`cible.server.web.vendor` fetches it again).
AXE = Asset(
    "axe-core",
    "4.10.2",
    "package/axe.min.js",
    "b511cd9dec01c76f4b2ad1723b66b6db37d4c2eb4ed199076e1829d9ee7b75e3",
)
VENDOR = Path(__file__).parent / "vendor"
#: Where the test run saves a screenshot of each page it visits.
SCREENSHOTS = Path(os.environ.get("CIBLE_SCREENSHOTS", "build/screenshots"))


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; a clear failure when the distribution's browser is missing."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `make test` installs Debian's chromium package "
        "(apt-get install chromium)."
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline(page: Page, leaks: list[str]) -> None:
    """Abort (and note in ``leaks``) every request that does not go to 127.0.0.1."""

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            leaks.append(route.request.url)
            route.abort()

    page.route("**/*", guard)


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``SCREENSHOTS/name.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_problems(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page (WCAG 2.1 A and AA)."""
    script = VENDOR / AXE.file
    assert checksum(script) == AXE.sha256, "the vendored axe-core is not the pinned one"
    page.add_script_tag(path=str(script))
    found = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: "tag",
               values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})).violations
           .filter(v => v.impact === "serious" || v.impact === "critical")
           .map(v => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    return list(found)


@contextmanager
def open_tab(browser: Browser, bypass_csp: bool) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A tab (English locale) whose requests away from 127.0.0.1 are refused and listed
    in ``leaks``, and whose dialogs are dismissed and listed; ``bypass_csp`` lets the
    axe check inject its script."""
    context = browser.new_context(locale="en-GB", bypass_csp=bypass_csp)
    opened = context.new_page()
    leaks: list[str] = []
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:  # a script in a name would open one
        dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", refuse)
    offline(opened, leaks)
    try:
        yield opened, leaks, dialogs
    finally:
        context.close()


def sign_in(page: Page, url: str, secret: str) -> None:
    """Sign in on the page the overview redirects to, with an API token."""
    page.goto(f"{url}/overview")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.locator("#token").fill(secret)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/overview$"))

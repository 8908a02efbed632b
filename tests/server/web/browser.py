"""Debian's Chromium driven by Playwright, headless, for the web UI tests.

The browser is the distribution's (``/usr/bin/chromium``, installed by ``make test``);
Playwright never downloads one. Requests leaving 127.0.0.1 are aborted and counted:
a page must work offline.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path(os.environ.get("CIBLE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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

"""Fixtures for the browser tests: one Chromium per session, one fresh context per test.

We drive Debian's /usr/bin/chromium (Playwright's own browser download is not available
everywhere we run), and write our own fixtures rather than depend on pytest-playwright.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Tab:
    """A page plus what the browser complained about while we used it."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def screenshots(self, name: str) -> list[Path]:
        """Full-page screenshots at phone and desktop width; leaves the desktop viewport set."""
        ARTIFACTS.mkdir(exist_ok=True)
        paths = []
        for viewport in (PHONE, DESKTOP):
            self.page.set_viewport_size(viewport)
            path = ARTIFACTS / f"{name}-{viewport['width']}.png"
            self.page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        return paths

    def scroll_width(self) -> int:
        return self.page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture(scope="module")
def browser(_orm_beside_playwright: None) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # A failure, not a skip: a run without its browser tests must not pass as complete.
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio event loop running in this thread while the
    browser is open; Django then refuses ORM calls (factories, reading a user). Allowed for
    the browser tests' modules only, and the browser closes with the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def tab(browser: Browser, live_server) -> Iterator[Tab]:
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    tab = Tab(page=page)

    def on_console(message: ConsoleMessage) -> None:
        # CSP violations (an inline script or style slipping in) are reported here.
        if message.type == "error":
            tab.errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: tab.errors.append(f"{page.url}: {exc}"))
    yield tab
    context.close()

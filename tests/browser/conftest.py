"""Playwright against Debian's chromium (never a downloaded browser build).

`make test-browser` installs chromium with apt-get when it is missing and sets
CUSTODY_REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CUSTODY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CUSTODY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: run `make test-browser` (it installs Debian's chromium).")
        pytest.skip(f"{CHROMIUM} is not installed; `make test-browser` installs it")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django's ORM would refuse
    # to run beside it without this (the live server runs in its own thread anyway).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB",
                                  timezone_id="Asia/Dubai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Problems a user would not see but we want to: script errors, CSP refusals, broken links to
    # static files. Failed loads are listed by URL from the responses (the console omits the URL).
    page.problems = []

    def on_console(msg):
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            page.problems.append(msg.text)

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            page.problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("response", on_response)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

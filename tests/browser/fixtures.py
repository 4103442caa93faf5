"""Browser fixtures for every Playwright test (loaded by the root conftest.py as a pytest plugin).

Debian's chromium only, never a downloaded browser. `make test-browser` installs it with apt-get when
missing and sets CUSTODY_REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping.
"""

import os

import pytest

CHROMIUM = os.environ.get("CUSTODY_CHROMIUM", "/usr/bin/chromium")
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
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CUSTODY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: run `make test-browser` (it installs Debian's chromium).")
        pytest.skip(f"{CHROMIUM} is not installed; `make test-browser` installs it")
    from django.db import connections
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
                # While Playwright's loop runs, Django hands out other connection objects (asgiref Local
                # is context-aware); close them or PostgreSQL cannot drop the test database.
                connections.close_all()


def track_problems(page) -> None:
    """Collect what a user would not see but we want to: script errors, CSP refusals, failed loads
    (listed by URL from the responses, since the console omits it)."""
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


def log_in(client, user, attempts: int = 30) -> None:
    """force_login, again while SQLite's shared in-memory test database reports the users table locked:
    the live server's thread may still be answering an earlier page's requests, and a shared-cache
    lock fails at once instead of waiting (seen once in CI: "database table is locked: accounts_user")."""
    import time

    from django.db import OperationalError

    for attempt in range(attempts):
        try:
            client.force_login(user)
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


@pytest.fixture
def open_page(browser):
    """open_page(live_server=None, user=None, phone=False) → a new page; logged in as `user` when given."""
    contexts = []

    def make(live_server=None, user=None, phone=False):
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            has_touch=phone,
            is_mobile=phone,
            locale="en-GB",
            timezone_id="Asia/Dubai",
        )
        context.set_default_timeout(15_000)
        if user is not None:
            from django.conf import settings
            from django.test import Client

            client = Client()
            log_in(client, user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url,
                    }
                ]
            )
        contexts.append(context)
        page = context.new_page()
        track_problems(page)
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(open_page):
    return open_page()

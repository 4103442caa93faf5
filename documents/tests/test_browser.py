"""The documents panel and the signing page in a real browser (Debian's chromium through Playwright):
HTMX upload with progress, and signing with touch on a 375 px phone and with a mouse on a desktop.
Run with `make test-browser`; skipped when chromium is not installed.
"""

import os

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from accounts.choices import Role
from documents.models import Document, Signature

from .conftest import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CUSTODY_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser_page():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CUSTODY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    contexts = []

    def open_page(session_cookie, live_server, phone=False):
        context = chromium.new_context(
            viewport={"width": 375, "height": 812} if phone else {"width": 1280, "height": 800},
            has_touch=phone, is_mobile=phone, locale="en-GB", timezone_id="Asia/Dubai")
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie,
                              "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        page.on("console", lambda msg: page.problems.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        return page

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                yield open_page
            finally:
                for context in contexts:
                    context.close()
                chromium.close()
                # While Playwright's loop runs, Django hands out other connection objects (asgiref Local
                # is context-aware); close them here or PostgreSQL cannot drop the test database.
                connections.close_all()


def session_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def canvas_box(page):
    canvas = page.locator("canvas[data-signature-pad]")
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def test_sign_with_a_finger_on_a_phone(browser_page, live_server, make_draft, users):
    from playwright.sync_api import expect

    custody = make_draft()
    page = browser_page(session_for(users[Role.OPERATOR]), live_server, phone=True)
    page.goto(f"{live_server.url}/documents/custody/{custody.id}/sign/customer_acknowledgment/")
    expect(page.locator("[data-sign-text]")).to_contain_text(custody.custody_no)

    page.get_by_role("button", name="Sign", exact=True).click()  # nothing drawn yet: stays, says why
    expect(page.locator("[data-signature-error]")).to_have_text("Sign in the box first.")
    assert not Signature.objects.exists()

    box = canvas_box(page)
    cdp = page.context.new_cdp_session(page)
    points = [(box["x"] + 30 + i * 12, box["y"] + 40 + (i % 5) * 15) for i in range(20)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0],
                                                                                 "y": points[0][1]}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the signing page scrolls sideways by {overflow}px at 375px"
    page.get_by_label("Signer's full name").fill("Ahmed Al Mansoori")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(lambda url: "/sign/" not in url)
    signature = Signature.objects.get(custody=custody)
    assert (signature.status, signature.signer_name) == ("signed", "Ahmed Al Mansoori")
    assert signature.image.content_type == "image/png" and signature.image.size > 500
    assert page.problems == []


def test_upload_with_htmx_then_sign_with_a_mouse(browser_page, live_server, make_draft, users):
    from playwright.sync_api import expect

    custody = make_draft()
    phone = browser_page(session_for(users[Role.OPERATOR]), live_server, phone=True)
    phone.goto(f"{live_server.url}/documents/custody/{custody.id}/")
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the documents panel scrolls sideways by {overflow}px at 375px"

    page = browser_page(session_for(users[Role.OPERATOR]), live_server)
    page.goto(f"{live_server.url}/documents/custody/{custody.id}/")
    page.locator("input[type=file][name=file]").set_input_files(
        [{"name": "police-report.pdf", "mimeType": "application/pdf", "buffer": PDF},
         {"name": "second.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(page.locator("[data-file-list] li")).to_have_count(2)
    page.get_by_label("Type").select_option("police_report")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#documents-list")).to_contain_text("2 documents uploaded.")
    expect(page.locator("#documents-list")).to_contain_text("police-report.pdf")
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    assert Document.objects.filter(custody=custody, document_type="police_report").count() == 3

    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"\x7fELF\x02\x01\x01" + b"\x00" * 60})
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#documents-list .alert-danger")).to_contain_text("it looks like a Linux program")

    page.goto(f"{live_server.url}/documents/custody/{custody.id}/sign/customer_acknowledgment/")
    box = canvas_box(page)
    page.mouse.move(box["x"] + 20, box["y"] + 60)
    page.mouse.down()
    for i in range(1, 15):
        page.mouse.move(box["x"] + 20 + i * 20, box["y"] + 60 + (-1) ** i * 25, steps=3)
    page.mouse.up()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(lambda url: "/sign/" not in url)
    assert Signature.objects.get(custody=custody).status == "signed"
    assert page.problems == []

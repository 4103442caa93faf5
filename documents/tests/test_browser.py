"""The documents panel and the signing page in a real browser (Debian's chromium through Playwright):
HTMX upload with progress, and signing with touch on a 375 px phone and with a mouse on a desktop.
Run with `make test-browser`; skipped when chromium is not installed.
"""

import pytest

from accounts.choices import Role
from documents.models import Document, Signature

from .conftest import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def canvas_box(page):
    canvas = page.locator("canvas[data-signature-pad]")
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def test_sign_with_a_finger_on_a_phone(open_page, live_server, make_draft, users):
    from playwright.sync_api import expect

    custody = make_draft()
    page = open_page(live_server, users[Role.OPERATOR], phone=True)
    page.goto(f"{live_server.url}/documents/custody/{custody.id}/sign/customer_acknowledgment/")
    expect(page.locator("[data-sign-text]")).to_contain_text(custody.custody_no)

    page.get_by_role("button", name="Sign", exact=True).click()  # nothing drawn yet: stays, says why
    expect(page.locator("[data-signature-error]")).to_have_text("Sign in the box first.")
    assert not Signature.objects.exists()

    box = canvas_box(page)
    cdp = page.context.new_cdp_session(page)
    points = [(box["x"] + 30 + i * 12, box["y"] + 40 + (i % 5) * 15) for i in range(20)]
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]},
    )
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


def test_upload_with_htmx_then_sign_with_a_mouse(open_page, live_server, make_draft, users):
    from playwright.sync_api import expect

    custody = make_draft()
    phone = open_page(live_server, users[Role.OPERATOR], phone=True)
    phone.goto(f"{live_server.url}/documents/custody/{custody.id}/")
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the documents panel scrolls sideways by {overflow}px at 375px"

    page = open_page(live_server, users[Role.OPERATOR])
    page.goto(f"{live_server.url}/documents/custody/{custody.id}/")
    page.locator("input[type=file][name=file]").set_input_files(
        [
            {"name": "police-report.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "second.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    expect(page.locator("[data-file-list] li")).to_have_count(2)
    page.get_by_label("Type").select_option("police_report")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#documents-list")).to_contain_text("2 documents uploaded.")
    expect(page.locator("#documents-list")).to_contain_text("police-report.pdf")
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    assert Document.objects.filter(custody=custody, document_type="police_report").count() == 3

    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"\x7fELF\x02\x01\x01" + b"\x00" * 60}
    )
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

"""Issue 12 at the counter, in a real browser at phone width: damage marked on the car diagram with a
camera photo at handover, compared zone by zone at return, and the signed bilingual handover form
rendered to an image with the signature and the Arabic text on it."""

import io

import pypdfium2
import pytest
from django.utils import translation
from PIL import Image

from accounts.choices import Role
from custodies import services as custody_services
from documents.choices import DamageSeverity
from documents.models import DamageMark, Document

from .test_browser import canvas_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def camera_photo(width=3000, height=1600) -> bytes:
    """What a phone camera hands over: a JPEG bigger than the 2,000 px the page uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 40)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture
def screenshots():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def approved(users, make_draft):
    from django.test import Client

    Client().get("/accounts/login/")  # import the URL modules before the live server's first request
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody_services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    return custody


def mark_on_diagram(page, zone: str, damage_type: str, severity: str, photo: bytes | None = None):
    from playwright.sync_api import expect

    page.locator(f'.car-diagram [data-zone="{zone}"]').click()
    expect(page.get_by_label("Zone", exact=True)).to_have_value(zone)
    page.locator("#damage_type").select_option(damage_type)
    page.locator("#severity").select_option(severity)
    if photo is not None:
        with page.expect_file_chooser() as chooser:
            page.get_by_label("Photo (optional)").click()
        chooser.value.set_files({"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo})
        expect(page.locator("[data-preview]")).to_be_visible()
    page.get_by_role("button", name="Mark damage").click()
    expect(page.locator(f'#marks [data-mark="{zone}"]')).to_be_visible()


def test_damage_marked_at_handover_is_compared_at_return(
    open_page, live_server, users, approved, screenshots
):
    from playwright.sync_api import expect

    operator = users[Role.OPERATOR]
    page = open_page(live_server, operator, phone=True)
    page.goto(f"{live_server.url}/documents/custody/{approved.pk}/condition/handover/")
    page.get_by_label("Odometer (km)").fill("22710")
    page.get_by_label("Fuel level").select_option("7")
    page.get_by_role("button", name="Save readings").click()
    expect(page.get_by_label("Odometer (km)")).to_have_value("22710")

    mark_on_diagram(page, "front", "scratch", "minor", photo=camera_photo())
    expect(page.locator('#marks [data-mark="front"] img')).to_be_visible()
    expect(page.locator('.car-diagram [data-count-for="front"]')).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(screenshots / "counter-condition-handover-375.png"), full_page=True)

    photo = DamageMark.objects.get(zone="front").photo
    with photo.file.open("rb") as stored:
        assert max(Image.open(stored).size) <= 2000, "the phone resizes the photo before uploading"

    # The handover dialog starts from the readings typed on the checklist.
    from custodies.tests.conftest import attach

    attach(approved, "handover_checklist")
    page.goto(f"{live_server.url}/custodies/{approved.pk}/")
    assert page.locator('input[name="odometer_km"]').first.get_attribute("value") == "22710"
    custody_services.hand_over_custody(operator, approved.id, {"odometer_km": 22710, "fuel_level": 7})

    page.goto(f"{live_server.url}/documents/custody/{approved.pk}/condition/return/")
    mark_on_diagram(page, "front", "scratch", "minor")  # the same scratch: not new
    mark_on_diagram(page, "rear", "dent", "major")
    compare = page.locator("#compare")
    expect(compare.locator('[data-zone-row="rear"]')).to_have_class("table-danger")
    expect(compare.locator('[data-zone-row="rear"]')).to_contain_text("New")
    expect(compare.locator('[data-zone-row="front"]')).not_to_have_class("table-danger")
    expect(page.get_by_label("Damage charge for the new damage")).to_have_value("Rear: Dent (Major)")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(screenshots / "counter-condition-return-375.png"), full_page=True)
    assert page.problems == []


def test_the_signed_handover_form_prints_bilingual_with_the_signature(
    open_page, live_server, users, approved, screenshots
):
    from fleet.models import CompanyProfile

    CompanyProfile.objects.create(
        name="Gulf Rent A Car LLC", name_ar="الخليج لتأجير السيارات", trn="100123456700003"
    )
    page = open_page(live_server, users[Role.OPERATOR], phone=True)
    page.goto(f"{live_server.url}/documents/custody/{approved.pk}/condition/handover/")
    page.get_by_label("Odometer (km)").fill("22710")
    page.get_by_role("button", name="Save readings").click()
    mark_on_diagram(page, "left", "dent", "moderate")

    # The checklist starts from the readings typed on the condition page, then the customer signs.
    page.goto(f"{live_server.url}/documents/custody/{approved.pk}/sign/handover_checklist/")
    from playwright.sync_api import expect

    expect(page.get_by_label("Odometer (km)")).to_have_value("22710")
    page.get_by_role("button", name="Continue to signature").click()
    box = canvas_box(page)
    cdp = page.context.new_cdp_session(page)
    points = [(box["x"] + 20 + i * 14, box["y"] + 30 + (i % 4) * 18) for i in range(18)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [dict(zip("xy", points[0]))]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.get_by_label("Signer's full name").fill("Ahmed Al Mansoori")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(lambda url: "/sign/" not in url)

    signed = Document.objects.get(custody=approved, document_type="handover_checklist")
    assert signed.content_type == "application/pdf"
    pdf = pypdfium2.PdfDocument(signed.file.read())
    text = "\n".join(p.get_textpage().get_text_range() for p in pdf).replace("\u200f", "")
    assert "Gulf Rent A Car LLC" in text and "Ahmed Al Mansoori" in text
    assert "السيارات" in text, "the Arabic half of the form is there"
    # The readings signed on the checklist are the ones in the condition table (typed once).
    assert text.count("8/8") == 2 and "22710" in text
    with translation.override("ar"):  # (no lam-alef: text extraction splits that ligature)
        assert str(DamageSeverity.MODERATE.label) in text, "the damage is described in Arabic too"
    # Render every page and look at the embedded signature: it is on the page and carries ink.
    signatures = []
    for number, pdf_page in enumerate(pdf):
        rendered = pdf_page.render(scale=2).to_pil().convert("L")
        rendered.save(screenshots / f"counter-handover-form-page{number + 1}.png")
        height = pdf_page.get_height()
        for image in pdf_page.get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]):
            left, bottom, right, top = image.get_bounds()
            area = rendered.crop(
                (int(left * 2), int((height - top) * 2), int(right * 2), int((height - bottom) * 2))
            )
            signatures.append(area.getextrema()[0])
    assert signatures, "the drawn signature is embedded in the form"
    assert min(signatures) < 100, "the signature's ink shows on the rendered page"
    assert page.problems == []

"""Helpers for the end-to-end browser tests; `browser`, `page` and `open_page` come from
tests/browser/fixtures.py (shared with the apps' browser tests)."""

import re
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---- helpers for the end-to-end flows (test_custody_flow.py, test_settlement_flow.py) -----------


def small_pdf(title: str) -> bytes:
    """A small, well-formed one-page PDF (correct xref offsets) with `title` written on it."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 16 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture
def pdf_file(tmp_path):
    """pdf_file("incident-report.pdf", "Incident report") -> path of a small valid PDF on disk."""

    def make(name: str, title: str) -> str:
        path = tmp_path / name
        path.write_bytes(small_pdf(title))
        return str(path)

    return make


@pytest.fixture
def shot(screenshots):
    """shot(page, "login") saves var/screenshots/flow-NN-login.png; NN counts up from `shot.count` + 1."""

    def take(page, step: str) -> None:
        take.count += 1
        page.screenshot(path=str(screenshots / f"flow-{take.count:02d}-{step}.png"), full_page=True)

    take.count = 0
    return take


def log_in_as(page, live_server, email: str, password: str, next_path: str = "/") -> None:
    """Through the real login page, as a user would; lands on `next_path`."""
    page.goto(f"{live_server.url}{next_path}")
    assert "/accounts/login/" in page.url
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{next_path}")


def log_out(page, live_server) -> None:
    """Through the user menu in the header (opening the phone menu first when it is collapsed)."""
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def horizontal_overflow(page) -> int:
    """How far the page scrolls sideways (0 when it fits the viewport)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def open_tab(page, name: str):
    """Click a custody detail tab and wait until its pane has faded in and its content has loaded (a tab
    that is not the page's open one loads when first shown), so screenshots show it."""
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    pane = page.locator(f"#{tab.get_attribute('aria-controls')}")
    expect(pane).to_have_class(re.compile(r"\bshow\b"))
    expect(pane).to_have_css("opacity", "1")
    expect(pane.locator("[data-lazy-tab]")).to_have_count(0)
    return pane


@pytest.fixture
def seeded_rules(transactional_db):
    """The default SLA policies, approval rules and document rules (DESIGN §5–§7) as the migrations
    seed them. A transactional test empties the database when it ends, so a live-server test that
    relies on them seeds them again (the seed functions are idempotent)."""
    from importlib import import_module

    from django.apps import apps

    for module in (
        "custodies.migrations.0002_postgres_sequence_exclusion_and_sla_defaults",
        "approvals.migrations.0003_default_rules",
        "documents.migrations.0002_default_rules",
    ):
        seed = import_module(module)
        (getattr(seed, "seed_sla", None) or seed.seed)(apps, None)


# The live server that handles one request at a time lives in the root conftest.py (all live-server tests).

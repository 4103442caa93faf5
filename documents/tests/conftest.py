"""Fixtures for the documents tests: real tiny files of each kind and custodies in several states."""

import base64
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from accounts.choices import Role
from audit.context import acting_as
from custodies import services as custody_services
from custodies.tests.conftest import PDF, attach, draft_data, make_draft  # noqa: F401

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 100


def image_bytes(fmt: str, size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def docx_bytes(macro: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document><w:body><w:p/></w:body></w:document>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\x00" * 16)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def signature_png(blank: bool = False, size=(300, 100)) -> bytes:
    image = Image.new("RGBA", size, (255, 255, 255, 255))
    if not blank:
        ImageDraw.Draw(image).line(
            [(10, 80), (80, 20), (150, 70), (290, 15)], fill=(10, 10, 10, 255), width=4
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def data_url(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


@pytest.fixture
def operator_user(users):
    return users[Role.OPERATOR]


@pytest.fixture
def draft(make_draft):  # noqa: F811
    return make_draft()


@pytest.fixture
def submitted(make_draft, users):  # noqa: F811
    custody = make_draft()
    with acting_as(users[Role.OPERATOR], "web"):
        custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    return custody


@pytest.fixture
def active(submitted, users):
    with acting_as(users[Role.SUPERVISOR], "web"):
        custody_services.approve_custody(users[Role.SUPERVISOR], submitted.id)
    attach(submitted, "handover_checklist")
    with acting_as(users[Role.OPERATOR], "web"):
        custody_services.hand_over_custody(
            users[Role.OPERATOR], submitted.id, {"odometer_km": 15000, "fuel_level": 8}
        )
    submitted.refresh_from_db()
    assert submitted.status == "active"
    return submitted


@pytest.fixture
def voided(make_draft, users):  # noqa: F811
    custody = make_draft()
    with acting_as(users[Role.OPERATOR], "web"):
        custody_services.void_custody(users[Role.OPERATOR], custody.id, "opened by mistake")
    custody.refresh_from_db()
    return custody

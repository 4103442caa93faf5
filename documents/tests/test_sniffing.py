import io

import pytest

from documents import sniffing
from documents.services import clean_file_name

from .conftest import ELF, PDF, docx_bytes, image_bytes, xlsx_bytes

HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
ANDROID_HEIC_HEAD = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1miafheic" + b"\x00" * 64


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (PDF, "application/pdf"),
        (image_bytes("PNG"), "image/png"),
        (image_bytes("JPEG"), "image/jpeg"),
        (image_bytes("WEBP"), "image/webp"),
        (HEIC_HEAD, "image/heic"),
        (ANDROID_HEIC_HEAD, "image/heic"),
        (docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_allowed_kinds_are_recognised_from_their_bytes(content, content_type):
    assert sniffing.sniff(io.BytesIO(content)).content_type == content_type


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (ELF, "a Linux program"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "a Windows program"),
        (b"#!/bin/sh\nrm -rf /\n", "a script"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "a web page (HTML)"),
        (b"Dear customer, this is only text.\n", "plain text"),
        (xlsx_bytes(), "an Excel workbook"),
        (image_bytes("GIF"), "Graphics interchange format"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 40, "MPEG-4"),
    ],
)
def test_other_content_is_refused_with_what_it_looks_like(content, looks_like):
    with pytest.raises(sniffing.NotAllowed) as exc:
        sniffing.sniff(io.BytesIO(content))
    assert exc.value.message.startswith("This file is not a PDF, image or Word document (it looks like")
    assert looks_like in exc.value.message


def test_empty_damaged_and_macro_files_are_refused():
    with pytest.raises(sniffing.NotAllowed, match="empty"):
        sniffing.sniff(io.BytesIO(b""))
    with pytest.raises(sniffing.NotAllowed, match="damaged"):
        sniffing.sniff(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"<html>not an image</html>" * 4))
    with pytest.raises(sniffing.NotAllowed, match="macros"):
        sniffing.sniff(io.BytesIO(docx_bytes(macro=True)))


def test_the_name_gets_the_extension_of_the_real_content():
    assert sniffing.name_for(sniffing.PNG, "damage.png") == "damage.png"
    assert sniffing.name_for(sniffing.JPEG, "IMG_0001.JPEG") == "IMG_0001.JPEG"
    assert sniffing.name_for(sniffing.PNG, "photo.pdf") == "photo.png"
    assert sniffing.name_for(sniffing.PDF, "scan") == "scan.pdf"
    assert sniffing.name_for(sniffing.PDF, "police report v1.2") == "police report v1.2.pdf"


def test_file_names_are_made_safe_to_show_and_to_send_in_a_header():
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("C:\\Users\\ahmed\\report.pdf") == "report.pdf"
    assert clean_file_name("invoice\u202efdp.exe") == "invoicefdp.exe"  # right-to-left override removed
    assert clean_file_name('a"b;\r\nc.pdf') == "a_b_c.pdf"
    assert clean_file_name("   ") == "document"
    assert clean_file_name("تقرير الحادث.pdf") == "تقرير الحادث.pdf"
    long = clean_file_name("x" * 300 + ".pdf")
    assert len(long) <= 200 and long.endswith(".pdf")

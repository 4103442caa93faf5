"""What a file really is, from its bytes (never its name or the type the browser declared).

Allowed (DESIGN §7): PDF, JPEG, PNG, WebP, HEIC and DOCX. Everything else is refused with a
message that says what the file looks like, so the user knows why ("a Windows program").
"""

import zipfile
from dataclasses import dataclass

import puremagic
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Kind:
    key: str
    content_type: str
    extensions: tuple[str, ...]  # the first is used when a name needs one
    label: str


PDF = Kind("pdf", "application/pdf", (".pdf",), "PDF")
JPEG = Kind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), "JPEG image")
PNG = Kind("png", "image/png", (".png",), "PNG image")
WEBP = Kind("webp", "image/webp", (".webp",), "WebP image")
HEIC = Kind("heic", "image/heic", (".heic", ".heif"), "HEIC image")
DOCX = Kind(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    "Word document",
)

ALLOWED_KINDS = (PDF, JPEG, PNG, WEBP, HEIC, DOCX)
_BY_MIME = {
    "application/pdf": PDF,
    "image/jpeg": JPEG,
    "image/png": PNG,
    "image/webp": WEBP,
    "image/heic": HEIC,
    "image/heif": HEIC,
}
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
# ISO-BMFF brands of HEIC/HEIF still images (iPhone photos are `heic`; many Android phones `mif1` + `heic`).
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_OOXML_PARTS = (("xl/", "an Excel workbook"), ("ppt/", "a PowerPoint presentation"))


class NotAllowed(Exception):
    """The bytes are not an allowed kind; `message` is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _refuse(looks_like: str) -> NotAllowed:
    return NotAllowed(
        _("This file is not a PDF, image or Word document (it looks like %(kind)s).") % {"kind": looks_like}
    )


def _executable(head: bytes) -> str | None:
    if head.startswith(b"MZ"):
        return _("a Windows program")
    if head.startswith(b"\x7fELF"):
        return _("a Linux program")
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return _("a macOS or Java program")
    if head.startswith(b"#!"):
        return _("a script")
    return None


def _heic(head: bytes) -> bool:
    # ftyp box: size(4) 'ftyp' major(4) minor(4) compatible brands(4 each) up to the box size.
    if head[4:8] != b"ftyp":
        return False
    size = int.from_bytes(head[0:4], "big")
    box = head[8 : min(max(size, 16), 256)]
    brands = {box[0:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}
    return bool(brands & _HEIC_BRANDS)


def _describe(head: bytes, candidates: list) -> str:
    text = head.lstrip()[:512].lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<script" in text:
        return _("a web page (HTML)")
    if text.startswith(b"<?xml") or text.startswith(b"<svg"):
        return _("an XML or SVG file")
    if candidates:
        name = candidates[0].name or candidates[0].extension.lstrip(".").upper()
        if name:
            article = "an" if name[0].lower() in "aeiou" else "a"
            return f"{article} {name}"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return _("an unknown format")
    return _("plain text")


def _zip_kind(fileobj) -> Kind:
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(_("a damaged ZIP archive")) from exc
    finally:
        fileobj.seek(0)
    if "word/document.xml" in names and "[Content_Types].xml" in names:
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise NotAllowed(
                _("Word documents with macros are not accepted; save it as a plain .docx or PDF.")
            )
        return DOCX
    for prefix, label in _OOXML_PARTS:
        if any(name.startswith(prefix) for name in names):
            raise _refuse(label)
    raise _refuse(_("a ZIP archive"))


def _check_image(fileobj, kind: Kind) -> None:
    """The header must parse as the image it claims to be (cheap: no pixel decoding)."""
    fileobj.seek(0)
    try:
        with Image.open(fileobj) as image:
            ok = image.format == _PILLOW_FORMATS[kind.key]
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        ok = False
    finally:
        fileobj.seek(0)
    if not ok:
        raise NotAllowed(_("The image is damaged or incomplete."))


def sniff(fileobj) -> Kind:
    """The allowed kind of a seekable binary file, or NotAllowed with a message for the user."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    if not head:
        raise NotAllowed(_("The file is empty."))
    program = _executable(head)
    if program:
        raise _refuse(program)
    if _heic(head):
        return HEIC
    try:
        candidates = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        candidates = []
    if candidates:
        best = max(c.confidence for c in candidates)
        top = [c for c in candidates if c.confidence == best]
        for candidate in top:
            kind = _BY_MIME.get(candidate.mime_type)
            if kind is not None:
                if kind.key in _PILLOW_FORMATS:
                    _check_image(fileobj, kind)
                return kind
        if head.startswith(b"PK\x03\x04"):
            return _zip_kind(fileobj)
    raise _refuse(_describe(head, candidates))


_KNOWN_EXTENSIONS = {ext for kind in ALLOWED_KINDS for ext in kind.extensions} | {
    ".doc",
    ".gif",
    ".tif",
    ".tiff",
    ".bmp",
    ".txt",
    ".rtf",
    ".odt",
    ".exe",
    ".zip",
    ".html",
    ".htm",
}


def name_for(kind: Kind, file_name: str) -> str:
    """Keep the user's name but make its extension match what the file really is."""
    stem, dot, ext = file_name.rpartition(".")
    if dot and f".{ext.lower()}" in kind.extensions:
        return file_name
    if dot and stem and f".{ext.lower()}" in _KNOWN_EXTENSIONS:
        return f"{stem}{kind.extensions[0]}"
    return f"{file_name}{kind.extensions[0]}"

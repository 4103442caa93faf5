"""Document rules and storage. Upload, supersede and signatures live here too (DESIGN §7).

Every change: the custody row locked, the change audited (with custody_id) and, for uploads and
signatures, its event written to the outbox in the same transaction. Files are written to the
default storage *before* the transaction (so the row lock is short) and removed again when the
transaction fails; a deleted draft document's file is removed after the commit.
"""

import base64
import binascii
import functools
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_ipv46_address
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageChops, UnidentifiedImageError

from accounts import permissions
from audit import services as audit
from core import dates, rawsql
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.events import emit
from custodies.choices import TERMINAL_STATUSES, CustodyStatus
from custodies.models import Custody

from . import sniffing
from .choices import SIGNABLE_TYPES, DocumentType, SignatureStatus
from .models import Document, DocumentRule, Signature

logger = logging.getLogger(__name__)

# Types of which a custody normally has several current documents: a new one is added, never
# replaces the others automatically (several damage photos, policy + claim form, ...).
ADDITIVE_TYPES = frozenset(
    {DocumentType.PHOTOS, DocumentType.INSURANCE_DOCS, DocumentType.OTHER, DocumentType.SIGNATURE}
)
# Signatures come from the signing page, not from an upload.
UPLOADABLE_TYPES = tuple(t for t in DocumentType if t != DocumentType.SIGNATURE)
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_SIGNATURE_PIXELS = 4096 * 4096
ACCEPT = ",".join(
    [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
        ".pdf",
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
        ".heic",
        ".heif",
        ".docx",
    ]
)
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
STAGE_BY_STATUS = {
    CustodyStatus.DRAFT: "submit",
    CustodyStatus.APPROVED: "handover",
    CustodyStatus.ACTIVE: "close",
}


REPLACED_BY = audit.message_template(gettext_lazy("%(old)s replaced by %(new)s"))


# ---- rules (used by custodies.rules / services) ---------------------------------------------------


def _rules(reason_code: str, stage: str) -> QuerySet[DocumentRule]:
    return DocumentRule.objects.filter(active=True, stage=stage).filter(
        Q(reason_code=reason_code) | Q(reason_code="")
    )


def _current(custody) -> QuerySet[Document]:
    return Document.objects.filter(custody=custody, superseded_at__isnull=True)


def required_types(reason_code: str, stage: str) -> list[str]:
    return sorted(set(_rules(reason_code, stage).values_list("document_type", flat=True)))


def present_types(custody) -> set[str]:
    return set(_current(custody).values_list("document_type", flat=True))


@functools.cache
def _missing_sql(alias: str) -> str:
    connection = connections[alias]
    rules, rule_type, active, rule_stage, reason = rawsql.names(
        connection, DocumentRule, "document_type", "active", "stage", "reason_code"
    )
    documents, document_type, custody, superseded = rawsql.names(
        connection, Document, "document_type", "custody", "superseded_at"
    )
    return (
        f"SELECT DISTINCT {rule_type} FROM {rules} WHERE {active} AND {rule_stage} = %s "  # noqa: S608
        f"AND ({reason} = %s OR {reason} = '') AND {rule_type} NOT IN "
        f"(SELECT {document_type} FROM {documents} WHERE {custody} = %s AND {superseded} IS NULL)"
    )


def missing_documents(custody, stage: str) -> list[str]:
    """Document types the rules require at `stage` that the custody does not have (current versions):
    required_types less present_types, in one hand-written query (core.rawsql): every submission,
    handover and close asks it, and the querysets cost ~2 ms of CPU (test_rules_sql compares them)."""
    connection = rawsql.read_connection(DocumentRule)
    custody_id = Document._meta.get_field("custody").get_db_prep_value(custody.pk, connection)
    rows = rawsql.fetch(connection, _missing_sql(connection.alias), [stage, custody.reason_code, custody_id])
    return sorted(row[0] for row in rows)


# ---- reads ----------------------------------------------------------------------------------------


def documents_for(user) -> QuerySet[Document]:
    """Documents of the custodies in the user's branches (others simply do not exist for them)."""
    from custodies.selectors import custodies_for

    return Document.objects.select_related("custody", "uploaded_by").filter(
        custody__in=custodies_for(user).values("pk")
    )


def may_change_documents(user, custody: Custody) -> bool:
    return custody.status not in TERMINAL_STATUSES and permissions.can(user, "document.upload", custody)


def upload_type_choices() -> list[tuple[str, str]]:
    return [(t.value, t.label) for t in UPLOADABLE_TYPES]


def panel_context(user, custody: Custody) -> dict:
    """Everything documents/_panel.html needs; the custody detail page merges it into its context."""
    documents = list(
        Document.objects.filter(custody=custody)
        .select_related("uploaded_by")
        .order_by(F("superseded_at").asc(nulls_first=True), "document_type", "-uploaded_at")
    )
    may_upload = may_change_documents(user, custody)
    latest: dict[str, Signature] = {}
    for signature in Signature.objects.filter(custody=custody).order_by("-created_at"):
        latest.setdefault(signature.document_type, signature)
    signable = [
        {
            "type": t.value,
            "label": t.label,
            "signature": latest.get(t.value),
            "may_sign": may_upload and signing_problem(custody, t.value) is None,
        }
        for t in SIGNABLE_TYPES
    ]
    stage = STAGE_BY_STATUS.get(custody.status)
    missing = missing_documents(custody, stage) if stage else []
    return {
        "custody": custody,
        "documents": documents,
        "document_types": upload_type_choices(),
        "may_upload": may_upload,
        "may_delete": may_upload and custody.status == CustodyStatus.DRAFT,
        "max_upload_bytes": settings.CUSTODY_MAX_UPLOAD_BYTES,
        "upload_accept": ACCEPT,
        "missing_documents": [DocumentType(t).label for t in missing],
        "signable": signable,
        "today": timezone.localdate(),
    }


# ---- helpers --------------------------------------------------------------------------------------

_UNSAFE_NAME_CHARS = re.compile(r'[<>:"/\\|?*;]')


def clean_file_name(name: str, default: str = "document") -> str:
    """The user's file name made safe to show and to put in a download header (never used as a path)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Control and format characters (including right-to-left overrides that disguise extensions).
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        name = default
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:190]}.{ext[:9]}" if dot and stem and len(ext) <= 9 else name[:200]
    return name


def _lock(custody) -> Custody:
    return Custody.objects.select_for_update().get(pk=custody.pk)


def _check_open(custody: Custody) -> None:
    if custody.status in TERMINAL_STATUSES:
        raise InvalidTransition(
            _("The custody is %(status)s: its documents can no longer change.")
            % {"status": custody.get_status_display().lower()},
            {"status": custody.status},
        )


def _check_upload_type(document_type) -> str:
    value = str(document_type or "").strip()
    if value == DocumentType.SIGNATURE:
        raise ValidationFailed(
            _("Signatures are captured on the signing page."),
            {"document_type": [_("Signatures are captured on the signing page.")]},
        )
    if value not in {t.value for t in UPLOADABLE_TYPES}:
        message = _("Choose the document type.") if not value else _("Unknown document type.")
        raise ValidationFailed(message, {"document_type": [message]})
    return value


def clean_expiry(expires_on) -> date | None:
    if expires_on in (None, ""):
        return None
    if isinstance(expires_on, datetime):
        expires_on = expires_on.date()
    if not isinstance(expires_on, date):
        try:
            parsed = parse_date(str(expires_on).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationFailed(
                _("The expiry date is not valid."), {"expires_on": [_("Enter a date as YYYY-MM-DD.")]}
            )
        expires_on = parsed
    if expires_on < timezone.localdate():
        raise ValidationFailed(
            _("The expiry date is in the past."), {"expires_on": [_("The expiry date is in the past.")]}
        )
    return expires_on


@dataclass
class _Prepared:
    file: object
    file_name: str
    kind: sniffing.Kind
    sha256: str
    size: int


def _prepare(uploaded_file) -> _Prepared:
    """Size and SHA-256 (computed while streaming the chunks, stopping at the limit) and the sniffed
    content of one upload; ValidationFailed on `file`."""
    limit = settings.CUSTODY_MAX_UPLOAD_BYTES

    def refuse(message):
        return ValidationFailed(message, {"file": [message]})

    if uploaded_file is None:
        raise refuse(_("Choose a file."))
    too_big = _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise refuse(too_big)
    digest = hashlib.sha256()
    size = 0
    uploaded_file.seek(0)
    for chunk in (
        uploaded_file.chunks()
        if hasattr(uploaded_file, "chunks")
        else iter(lambda: uploaded_file.read(64 * 1024), b"")
    ):
        size += len(chunk)
        if size > limit:
            raise refuse(too_big)
        digest.update(chunk)
    uploaded_file.seek(0)
    try:
        kind = sniffing.sniff(uploaded_file)
    except sniffing.NotAllowed as exc:
        raise refuse(exc.message) from exc
    original = clean_file_name(getattr(uploaded_file, "name", "") or "")
    return _Prepared(uploaded_file, sniffing.name_for(kind, original), kind, digest.hexdigest(), size)


def _store(custody: Custody, file, name: str) -> str:
    """Write the bytes under a random private name (documents.models.document_path); returns that name."""
    probe = Document(custody=custody)
    probe.file.save(name, file, save=False)
    return probe.file.name


def _discard(names: list[str]) -> None:
    storage = Document._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # best effort: `custody verify` reports files without a row
            logger.warning("could not remove document file %s", name, exc_info=True)


def _document_data(document: Document) -> dict:
    return {
        "id": str(document.pk),
        "document_type": document.document_type,
        "file_name": document.file_name,
        "size": document.size,
        "content_type": document.content_type,
        "sha256": document.sha256,
        "uploaded_at": document.uploaded_at,
        "expires_on": document.expires_on,
        "uploaded_by_id": str(document.uploaded_by_id) if document.uploaded_by_id else None,
        "download_url": f"/api/v1/documents/{document.pk}/download",
    }


def _custody_data(custody: Custody) -> dict:
    return {
        "id": str(custody.pk),
        "custody_no": custody.custody_no,
        "status": custody.status,
        "branch_id": str(custody.branch_id),
    }


def _create(
    custody: Custody,
    user,
    document_type: str,
    stored_name: str,
    file_name: str,
    size: int,
    content_type: str,
    sha256: str,
    expires_on=None,
    now=None,
) -> Document:
    document = Document(
        custody=custody,
        document_type=document_type,
        file_name=file_name,
        size=size,
        content_type=content_type,
        sha256=sha256,
        expires_on=expires_on,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        uploaded_at=now or timezone.now(),
    )
    document.file.name = stored_name
    document.save()
    audit.record(
        "document.uploaded",
        document,
        object_type="document",
        custody_id=custody.pk,
        changes={
            k: [None, v]
            for k, v in _document_data(document).items()
            if k in ("document_type", "file_name", "size", "content_type", "sha256", "expires_on")
        },
        message=file_name,
    )
    return document


def _supersede(old_documents, new: Document, now) -> None:
    for old in old_documents:
        old.superseded_by = new
        old.superseded_at = now
        old.save(update_fields=["superseded_by", "superseded_at"])
        audit.record(
            "document.superseded",
            old,
            object_type="document",
            custody_id=old.custody_id,
            changes={"superseded_by_id": [None, str(new.pk)], "superseded_at": [None, now]},
            message=(REPLACED_BY, {"old": old.file_name, "new": new.file_name}),
        )


def _current_of_type(custody: Custody, document_type: str) -> list[Document]:
    return list(
        Document.objects.filter(custody=custody, document_type=document_type, superseded_at__isnull=True)
    )


# ---- upload, supersede, delete ----------------------------------------------------------------------


@dataclass
class UploadResult:
    documents: list[Document] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)  # file name → messages


def upload_documents(user, custody: Custody, files, document_type, expires_on=None) -> UploadResult:
    """Several files of one type (the upload form). Each refused file is reported by name; the others are
    stored. After submission the batch replaces the current documents of a single-document type."""
    permissions.require(user, "document.upload", custody)
    _check_open(custody)
    document_type = _check_upload_type(document_type)
    expires_on = clean_expiry(expires_on)
    files = [f for f in files if f is not None]
    if not files:
        raise ValidationFailed(_("Choose a file."), {"file": [_("Choose a file.")]})
    result = UploadResult()
    prepared: list[_Prepared] = []
    for uploaded_file in files:
        try:
            prepared.append(_prepare(uploaded_file))
        except ValidationFailed as exc:
            name = clean_file_name(getattr(uploaded_file, "name", "") or "", default=_("(no name)"))
            result.errors.setdefault(name, []).extend(exc.details.get("file", [exc.message]))
    if not prepared:
        return result
    result.documents = _save_batch(user, custody, prepared, document_type, expires_on, replace="auto")
    return result


def _save_batch(
    user, custody, prepared: list[_Prepared], document_type, expires_on, replace
) -> list[Document]:
    stored: list[str] = []
    try:
        for item in prepared:
            stored.append(_store(custody, item.file, item.file_name))
        with transaction.atomic():
            locked = _lock(custody)
            _check_open(locked)
            now = timezone.now()
            if replace == "auto":
                replaced = (
                    []
                    if locked.status == CustodyStatus.DRAFT or document_type in ADDITIVE_TYPES
                    else _current_of_type(locked, document_type)
                )
            else:  # the id of the one document an explicit supersede replaces
                old = Document.objects.select_for_update().get(pk=replace, custody=locked)
                if old.superseded_at is not None:
                    raise Conflict(_("This document was already replaced."), {"document_id": [str(old.pk)]})
                replaced = [old]
            documents = [
                _create(
                    locked,
                    user,
                    document_type,
                    name,
                    item.file_name,
                    item.size,
                    item.kind.content_type,
                    item.sha256,
                    expires_on,
                    now,
                )
                for name, item in zip(stored, prepared, strict=True)
            ]
            _supersede(replaced, documents[0], now)
            for document in documents:
                emit(
                    "document.uploaded",
                    {
                        "document": _document_data(document),
                        "custody": _custody_data(locked),
                        "supersedes": [str(d.pk) for d in replaced],
                    },
                )
    except BaseException:
        _discard(stored)
        raise
    return documents


def upload_document(user, custody: Custody, uploaded_file, document_type, expires_on=None) -> Document:
    """One file (API). Refused content, size or type → ValidationFailed; closed/voided → InvalidTransition."""
    permissions.require(user, "document.upload", custody)
    _check_open(custody)
    document_type = _check_upload_type(document_type)
    expires_on = clean_expiry(expires_on)
    item = _prepare(uploaded_file)
    return _save_batch(user, custody, [item], document_type, expires_on, replace="auto")[0]


def supersede_document(user, document: Document, new_file, expires_on=None) -> Document:
    """Replace one document by a new file of the same type; the old one is kept and marked superseded."""
    custody = document.custody
    permissions.require(user, "document.upload", custody)
    _check_open(custody)
    if document.document_type == DocumentType.SIGNATURE:
        raise ValidationFailed(
            _("A signature is replaced by signing again."),
            {"document_type": [_("A signature is replaced by signing again.")]},
        )
    if document.superseded_at is not None:
        raise Conflict(_("This document was already replaced."), {"document_id": [str(document.pk)]})
    expires_on = clean_expiry(expires_on)
    item = _prepare(new_file)
    return _save_batch(user, custody, [item], document.document_type, expires_on, replace=document.pk)[0]


def delete_document(user, document: Document) -> None:
    """Draft custodies only; afterwards documents are never deleted, only superseded (DESIGN §7)."""
    with transaction.atomic():
        custody = _lock(document.custody)
        permissions.require(user, "document.upload", custody)
        _check_open(custody)
        if custody.status != CustodyStatus.DRAFT:
            raise InvalidTransition(
                _("Documents of a submitted custody are never deleted, only superseded."),
                {"status": custody.status},
            )
        document = Document.objects.select_for_update().get(pk=document.pk)
        if Signature.objects.filter(image=document).exists():
            raise ValidationFailed(
                _("A signature image is kept with its signature."),
                {"document": [_("A signature image is kept with its signature.")]},
            )
        # Deleting a replacement brings back the version it replaced.
        restored = list(Document.objects.filter(superseded_by=document))
        for previous in restored:
            previous.superseded_by = None
            previous.superseded_at = None
            previous.save(update_fields=["superseded_by", "superseded_at"])
        name = document.file.name
        snapshot = _document_data(document)
        document_id = document.pk
        document.delete()
        audit.record(
            "document.deleted",
            None,
            object_type="document",
            object_id=str(document_id),
            custody_id=custody.pk,
            changes={k: [snapshot[k], None] for k in ("document_type", "file_name", "size", "sha256")},
            message=snapshot["file_name"]
            + (" " + _("(restored %(n)s earlier version)") % {"n": len(restored)} if restored else ""),
        )
        transaction.on_commit(lambda: _discard([name]))


# ---- signatures -------------------------------------------------------------------------------------

CHECKLIST_ITEMS = [
    ("exterior", "Exterior (body, glass, lights)"),
    ("interior", "Interior (seats, dashboard, cleanliness)"),
    ("tyres", "Tyres"),
    ("spare_wheel", "Spare wheel"),
    ("jack", "Jack and tools"),
    ("documents", "Vehicle documents (registration card)"),
]
CHECKLIST_STATES = {"ok": "OK", "issue": "Damaged / issue", "missing": "Missing"}


def signing_problem(custody: Custody, document_type: str) -> str | None:
    if custody.status in TERMINAL_STATUSES:
        return _("The custody is finished.")
    if document_type == DocumentType.RETURN_CHECKLIST and custody.status != CustodyStatus.ACTIVE:
        return _("The return checklist is signed when the replacement vehicle comes back (active custody).")
    return None


def _local(value, tz) -> str:
    return dates.datetime_text(value, tz)


def _vehicle_line(vehicle) -> str:
    if vehicle is None:
        return "none"
    return f"{vehicle.plate} · {vehicle.make} {vehicle.model} {vehicle.year}".strip()


def sign_text(custody: Custody, document_type: str, checklist: dict | None = None) -> str:
    """The text shown to the signer (and hashed): documents/sign_texts/<type>.txt, in the branch's time zone."""
    if document_type not in SIGNABLE_TYPES:
        raise ValidationFailed(_("This document cannot be signed."), {"document_type": [_("Not signable.")]})
    try:
        tz = ZoneInfo(custody.branch.timezone or settings.TIME_ZONE)
    except (KeyError, ValueError):
        tz = ZoneInfo(settings.TIME_ZONE)
    checklist = checklist or {}
    vehicle = custody.replacement_vehicle or custody.original_vehicle
    items = [
        {
            "label": label,
            "state": CHECKLIST_STATES.get(checklist.get(f"item_{key}"), "not checked"),
            "note": checklist.get(f"note_{key}", ""),
        }
        for key, label in CHECKLIST_ITEMS
    ]
    context = {
        "custody": custody,
        "tz": str(tz),
        "customer": custody.customer,
        "original_vehicle": _vehicle_line(custody.original_vehicle),
        "replacement_vehicle": _vehicle_line(custody.replacement_vehicle),
        "checklist_vehicle": _vehicle_line(vehicle),
        "checklist_vehicle_role": "replacement" if custody.replacement_vehicle_id else "original",
        "reason": custody.get_reason_code_display(),
        "reason_detail": custody.get_reason_subcode_display() if custody.reason_subcode else "",
        "incident_at": _local(custody.incident_at, tz),
        "period_from": _local(custody.effective_from, tz),
        "period_until": (
            _local(custody.expected_return_at, tz)
            if custody.expected_return_at
            else "until the original vehicle is ready"
        ),
        "damage_hold": f"{custody.damage_hold_amount:,.2f} {settings.CUSTODY_CURRENCY}",
        "deposit_carryover": f"{custody.deposit_carryover:,.2f} {settings.CUSTODY_CURRENCY}",
        "rate_policy": custody.get_rate_policy_display(),
        "items": items,
        "fuel_level": checklist.get("fuel_level"),
        "odometer_km": f"{checklist['odometer_km']:,}" if checklist.get("odometer_km") is not None else "",
        "notes": checklist.get("notes", ""),
    }
    text = render_to_string(f"documents/sign_texts/{document_type}.txt", context)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def content_sha256(text) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else bytes(text)).hexdigest()


def decode_signature_png(image_data_url: str) -> bytes:
    """The PNG bytes of a signature pad's data URL; ValidationFailed on `signature` unless it is a real,
    non-empty PNG of at most 1 MB."""

    def refuse(message):
        return ValidationFailed(message, {"signature": [message]})

    if not image_data_url or not isinstance(image_data_url, str):
        raise refuse(_("Sign in the box first."))
    header, comma, payload = image_data_url.partition(",")
    if not comma or header.strip().lower() != "data:image/png;base64":
        raise refuse(_("The signature must be a PNG image."))
    if len(payload) > (MAX_SIGNATURE_BYTES * 4) // 3 + 8:
        raise refuse(_("The signature image is larger than 1 MB."))
    try:
        raw = base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise refuse(_("The signature image is not valid.")) from exc
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise refuse(_("The signature image is larger than 1 MB."))
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise refuse(_("The signature must be a PNG image."))
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG":
                raise refuse(_("The signature must be a PNG image."))
            width, height = image.size
            if width * height > MAX_SIGNATURE_PIXELS or width < 16 or height < 16:
                raise refuse(_("The signature image has an unexpected size."))
            image.load()
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, rgba.getpixel((0, 0)))
            blank = ImageChops.difference(rgba, background).getbbox(alpha_only=False) is None
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise refuse(_("The signature image is not valid.")) from exc
    if blank:
        raise refuse(_("The signature is empty: sign in the box."))
    return raw


def _clean_signer(signer_name) -> str:
    name = re.sub(
        r"\s+", " ", "".join(ch for ch in str(signer_name or "") if unicodedata.category(ch)[0] != "C")
    )
    name = name.strip()
    if not name:
        raise ValidationFailed(
            _("Enter the signer's name."), {"signer_name": [_("Enter the signer's name.")]}
        )
    if len(name) > 200:
        raise ValidationFailed(_("The name is too long."), {"signer_name": [_("At most 200 characters.")]})
    return name


def _clean_ip(ip) -> str | None:
    try:
        validate_ipv46_address(ip)
    except (DjangoValidationError, TypeError):
        return None
    return ip


def _check_signable(user_or_none, custody: Custody, document_type) -> str:
    document_type = str(document_type or "")
    if document_type not in SIGNABLE_TYPES:
        raise ValidationFailed(
            _("This document cannot be signed."),
            {"document_type": [_("Only the acknowledgment and the checklists are signed.")]},
        )
    if user_or_none is not None:
        permissions.require(user_or_none, "document.upload", custody)
    problem = signing_problem(custody, document_type)
    if problem:
        raise InvalidTransition(problem, {"status": custody.status, "document_type": document_type})
    return document_type


def _signature_data(signature: Signature) -> dict:
    return {
        "id": str(signature.pk),
        "document_type": signature.document_type,
        "status": signature.status,
        "signer_name": signature.signer_name,
        "signed_at": signature.signed_at,
        "signer_ip": signature.signer_ip,
        "signed_content_sha256": signature.signed_content_sha256,
        "image_id": str(signature.image_id) if signature.image_id else None,
    }


def _open_signature(custody: Custody, document_type: str) -> Signature | None:
    """The latest signature request still waiting (pending or declined) for this document, if any."""
    latest = (
        Signature.objects.select_for_update()
        .filter(custody=custody, document_type=document_type)
        .order_by("-created_at")
        .first()
    )
    return latest if latest is not None and latest.status != SignatureStatus.SIGNED else None


def sign_document(
    user_or_none,
    custody: Custody,
    document_type: str,
    signer_name: str,
    image_data_url: str,
    ip,
    signed_content: bytes,
) -> Signature:
    """Record an e-signature: the pad's PNG (a `signature` document), the signed text (a document of the
    signed type, so it counts as present), signer, time, IP and SHA-256 of the text. `user_or_none` is
    None when the customer signs through a link (the caller has checked the link)."""
    document_type = _check_signable(user_or_none, custody, document_type)
    signer_name = _clean_signer(signer_name)
    png = decode_signature_png(image_data_url)
    if isinstance(signed_content, str):
        signed_content = signed_content.encode("utf-8")
    if not signed_content:
        raise ValidationFailed(_("There is nothing to sign."), {"signed_content": [_("Required.")]})
    text_sha = hashlib.sha256(signed_content).hexdigest()
    ip = _clean_ip(ip)
    label = document_type.replace("_", "-")
    image_name = f"signature-{label}-{custody.custody_no}.png"
    # The signed paper is a bilingual PDF with the drawn signature in it (not a text file beside a PNG).
    from .printing import form_pdf

    pdf = form_pdf(
        custody,
        document_type,
        text=signed_content.decode("utf-8", "replace"),
        signature_png=png,
        signer_name=signer_name,
        signed_at=timezone.now(),
        text_sha256=text_sha,
    )
    text_name = f"{label}-{custody.custody_no}.pdf"
    stored: list[str] = []
    try:
        stored.append(_store(custody, ContentFile(png), image_name))
        stored.append(_store(custody, ContentFile(pdf), text_name))
        with transaction.atomic():
            locked = _lock(custody)
            _check_signable(user_or_none, locked, document_type)
            now = timezone.now()
            image = _create(
                locked,
                user_or_none,
                DocumentType.SIGNATURE,
                stored[0],
                image_name,
                len(png),
                "image/png",
                hashlib.sha256(png).hexdigest(),
                now=now,
            )
            replaced = [] if locked.status == CustodyStatus.DRAFT else _current_of_type(locked, document_type)
            text_document = _create(
                locked,
                user_or_none,
                document_type,
                stored[1],
                text_name,
                len(pdf),
                "application/pdf",
                hashlib.sha256(pdf).hexdigest(),
                now=now,
            )
            _supersede(replaced, text_document, now)
            previous = (
                Signature.objects.filter(
                    custody=locked,
                    document_type=document_type,
                    status=SignatureStatus.SIGNED,
                    image__superseded_at__isnull=True,
                )
                .select_related("image")
                .first()
            )
            if previous is not None and previous.image is not None:
                _supersede([previous.image], image, now)
            signature = _open_signature(locked, document_type) or Signature(
                custody=locked,
                document_type=document_type,
                requested_by=user_or_none if getattr(user_or_none, "is_authenticated", False) else None,
            )
            before = _signature_data(signature) if signature.pk else {}
            signature.status = SignatureStatus.SIGNED
            signature.signer_name = signer_name
            signature.signed_at = now
            signature.signer_ip = ip
            signature.signed_content_sha256 = text_sha
            signature.image = image
            signature.decline_reason = ""
            signature.save()
            after = _signature_data(signature)
            audit.record(
                "document.signed",
                signature,
                object_type="signature",
                custody_id=locked.pk,
                changes=audit.diff(before, after),
                message=f"{signature.get_document_type_display()}: {signer_name}",
            )
            # The signer's IP stays in the audit log; it is not sent to integrations.
            emit(
                "document.signed",
                {
                    "signature": {k: v for k, v in after.items() if k != "signer_ip"},
                    "document": _document_data(text_document),
                    "image": _document_data(image),
                    "custody": _custody_data(locked),
                },
            )
    except BaseException:
        _discard(stored)
        raise
    return signature


def decline_signature(
    user_or_none, custody: Custody, document_type: str, signer_name: str, reason: str, ip=None
) -> Signature:
    """The signer refuses to sign; the reason is kept (and audited)."""
    document_type = _check_signable(user_or_none, custody, document_type)
    signer_name = _clean_signer(signer_name)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for declining."), {"reason": [_("Required.")]})
    ip = _clean_ip(ip)
    with transaction.atomic():
        locked = _lock(custody)
        _check_signable(user_or_none, locked, document_type)
        signature = _open_signature(locked, document_type) or Signature(
            custody=locked,
            document_type=document_type,
            requested_by=user_or_none if getattr(user_or_none, "is_authenticated", False) else None,
        )
        before = _signature_data(signature) if signature.pk else {}
        signature.status = SignatureStatus.DECLINED
        signature.signer_name = signer_name
        signature.signer_ip = ip
        signature.decline_reason = reason[:2000]
        signature.save()
        audit.record(
            "document.signature_declined",
            signature,
            object_type="signature",
            custody_id=locked.pk,
            changes=audit.diff(before, {**_signature_data(signature), "decline_reason": reason}),
            message=reason[:500],
        )
    return signature


# ---- required-document rules (admin configuration page) ---------------------------------------------

DOCUMENT_RULE_FIELDS = ["reason_code", "stage", "document_type", "active"]


@transaction.atomic
def save_document_rule(user, rule: DocumentRule | None, data: dict) -> DocumentRule:
    """Create or change a required-document rule (admins); checked at the next submission, hand over or close."""
    from custodies.choices import ReasonCode

    permissions.require(user, "settings.manage")
    rule = DocumentRule.objects.select_for_update().get(pk=rule.pk) if rule is not None else DocumentRule()
    creating = rule._state.adding
    before = {} if creating else audit.snapshot(rule, DOCUMENT_RULE_FIELDS)
    for name, value in data.items():
        if name in DOCUMENT_RULE_FIELDS:
            setattr(rule, name, value)
    rule.reason_code = rule.reason_code or ""
    if rule.reason_code and rule.reason_code not in ReasonCode.values:
        raise ValidationFailed(_("Unknown reason."), {"reason_code": [_("Unknown reason.")]})
    twin = DocumentRule.objects.filter(
        reason_code=rule.reason_code, stage=rule.stage, document_type=rule.document_type
    ).exclude(pk=rule.pk)
    if twin.exists():
        message = _("This document is already required for this reason and stage: edit that rule.")
        raise ValidationFailed(message, {"document_type": [message]})
    try:
        rule.full_clean(validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("The rule is not valid."), exc.message_dict) from exc
    rule.save()
    audit.record(
        "documentrule.created" if creating else "documentrule.updated",
        rule,
        object_type="document_rule",
        changes=audit.diff(before, audit.snapshot(rule, DOCUMENT_RULE_FIELDS)),
    )
    return rule

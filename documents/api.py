"""Document endpoints (DESIGN §7, §15.1): multipart upload, list per custody, metadata, download.

A custody or document outside the caller's branches is 404 NOT_FOUND; refused content, size,
type or expiry is 422 VALIDATION_ERROR with per-field details; a closed/voided custody is 409.
"""

from datetime import date, datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.responses import Status

from core.pagination import paginate
from custodies.selectors import custodies_for

from . import services
from .choices import DocumentType
from .models import Document
from .views import file_response

router = Router(tags=["documents"])

ORDERINGS = {"uploaded_at", "document_type", "file_name", "size", "expires_on"}


class DocumentOut(Schema):
    id: UUID
    custody_id: UUID
    document_type: str
    file_name: str
    size: int
    content_type: str
    sha256: str
    uploaded_at: datetime
    uploaded_by_id: UUID | None
    expires_on: date | None
    superseded_at: datetime | None
    superseded_by_id: UUID | None
    download_url: str


class DocumentList(Schema):
    items: list[DocumentOut]
    count: int
    next: str | None


class DocumentFilters(Schema):
    document_type: DocumentType | None = None
    current: bool | None = Field(None, description="true: only current versions; false: only superseded ones")
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


def _out(document: Document) -> dict:
    return {
        "id": document.pk,
        "custody_id": document.custody_id,
        "document_type": document.document_type,
        "file_name": document.file_name,
        "size": document.size,
        "content_type": document.content_type,
        "sha256": document.sha256,
        "uploaded_at": document.uploaded_at,
        "uploaded_by_id": document.uploaded_by_id,
        "expires_on": document.expires_on,
        "superseded_at": document.superseded_at,
        "superseded_by_id": document.superseded_by_id,
        "download_url": reverse("api:document_download", kwargs={"document_id": document.pk}),
    }


def _custody(request, custody_id):
    return get_object_or_404(custodies_for(request.user), pk=custody_id)


@router.post(
    "custodies/{custody_id}/documents",
    response={201: DocumentOut},
    summary="Upload a document (multipart: file, document_type, expires_on?)",
)
def upload_document(
    request,
    custody_id: UUID,
    file: File[UploadedFile] = None,
    document_type: Form[str] = "",
    expires_on: Form[str] = "",
):
    custody = _custody(request, custody_id)
    document = services.upload_document(request.user, custody, file, document_type, expires_on or None)
    return Status(201, _out(document))


@router.get("custodies/{custody_id}/documents", response=DocumentList, summary="A custody's documents")
def list_documents(request, custody_id: UUID, filters: Query[DocumentFilters]):
    custody = _custody(request, custody_id)
    qs = Document.objects.filter(custody=custody)
    if filters.document_type:
        qs = qs.filter(document_type=filters.document_type)
    if filters.current is not None:
        qs = qs.filter(superseded_at__isnull=filters.current)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings=ORDERINGS,
        default_ordering="-uploaded_at",
    )
    return {"items": [_out(d) for d in page.items], "count": page.count, "next": page.next}


@router.get("documents/{document_id}", response=DocumentOut, summary="A document's metadata")
def get_document(request, document_id: UUID):
    return _out(get_object_or_404(services.documents_for(request.user), pk=document_id))


@router.get(
    "documents/{document_id}/download",
    url_name="document_download",
    summary="The file (attachment, content type as sniffed at upload)",
)
def download_document(request, document_id: UUID):
    return file_response(get_object_or_404(services.documents_for(request.user), pk=document_id))

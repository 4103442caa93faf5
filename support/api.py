"""Support API (DESIGN §15.2): tickets, comments, feedback."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import Http404
from ninja import Field, Router, Schema
from ninja.responses import Status

from accounts.api import ErrorOut
from accounts.models import User
from core.pagination import paginate

from . import selectors, services
from .models import SupportTicket

router = Router(tags=["support"])

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PersonRef(Schema):
    id: UUID
    email: str
    full_name: str


class TicketOut(Schema):
    id: UUID
    ticket_no: str
    status: str
    severity: str
    subject: str
    description: str
    page_url: str
    request_id: str
    reporter: PersonRef
    assignee_id: UUID | None
    assignee: PersonRef | None
    has_attachment: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    allowed_statuses: list[str] = Field(default_factory=list, description="Statuses you may move it to now.")


class TicketList(Schema):
    items: list[TicketOut]
    count: int
    next: str | None


class TicketIn(Schema):
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    severity: Literal["low", "normal", "high", "urgent"] = "normal"
    page_url: str = Field("", max_length=500)


class TicketPatch(Schema):
    status: Literal["open", "in_progress", "resolved", "closed"] | None = None
    assignee_id: UUID | None = None
    version: int | None = Field(None, description="Optimistic lock: the version you read (or send If-Match).")


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=10_000)


class CommentOut(Schema):
    id: UUID
    author: PersonRef
    body: str
    created_at: datetime


class FeedbackIn(Schema):
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)
    ticket_id: UUID | None = Field(
        None, description="The resolved ticket rated; omit for the general survey."
    )


class FeedbackOut(Schema):
    id: UUID
    score: int
    comment: str
    ticket_id: UUID | None
    created_at: datetime


def _out(request, ticket: SupportTicket) -> TicketOut:
    out = TicketOut.from_orm(ticket)
    out.allowed_statuses = services.allowed_statuses(request.user, ticket)
    return out


def _ticket(request, ticket_id) -> SupportTicket:
    try:
        return selectors.ticket_for(request.user, ticket_id)
    except SupportTicket.DoesNotExist as exc:
        raise Http404 from exc


def _request_id(request) -> str:
    return request.META.get("HTTP_X_REQUEST_ID") or str(getattr(request, "request_id", "") or "")


@router.post("support-tickets", response={201: TicketOut, **ERRORS}, summary="Report a problem")
def create_ticket(request, payload: TicketIn):
    ticket = services.create_ticket(
        request.user,
        **payload.dict(),
        request_id=_request_id(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return Status(201, _out(request, ticket))


@router.get(
    "support-tickets",
    response={200: TicketList, **ERRORS},
    summary="Support tickets: your own, or all for admins (?status= may repeat, q, assigned_to_me)",
)
def list_tickets(request, q: str = "", assigned_to_me: bool = False):
    qs = selectors.tickets_for(
        request.user, status=request.GET.getlist("status"), q=q, assigned_to_me=assigned_to_me
    )
    page = paginate(qs, params=request.GET, path=request.path, allowed_orderings=selectors.TICKET_ORDERINGS)
    return {"items": [_out(request, t) for t in page.items], "count": page.count, "next": page.next}


@router.get("support-tickets/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="One support ticket")
def get_ticket(request, ticket_id: UUID):
    return _out(request, _ticket(request, ticket_id))


@router.patch(
    "support-tickets/{ticket_id}",
    response={200: TicketOut, **ERRORS},
    summary="Change the status (open → in_progress → resolved → closed) or the assignee (admins)",
)
def update_ticket(request, ticket_id: UUID, payload: TicketPatch):
    ticket = _ticket(request, ticket_id)
    data = payload.dict(exclude_unset=True)
    version = data.get("version")
    if_match = request.headers.get("If-Match", "").strip('"')
    if version is None and if_match.isdigit():
        version = int(if_match)
    if "assignee_id" in data:
        assignee = None
        if data["assignee_id"] is not None:
            assignee = User.objects.filter(pk=data["assignee_id"], is_active=True).first()
            if assignee is None:
                from core.errors import ValidationFailed

                raise ValidationFailed("Unknown user.", {"assignee_id": ["No such active user."]})
        ticket = services.assign(request.user, ticket, assignee)
        version = None  # the assignment took the version the caller sent
    if data.get("status"):
        ticket = services.change_status(request.user, ticket, data["status"], version=version)
    return _out(request, ticket)


@router.get(
    "support-tickets/{ticket_id}/comments", response={200: list[CommentOut], **ERRORS}, summary="Comments"
)
def list_comments(request, ticket_id: UUID):
    return list(_ticket(request, ticket_id).comments.select_related("author"))


@router.post(
    "support-tickets/{ticket_id}/comments", response={201: CommentOut, **ERRORS}, summary="Add a comment"
)
def add_comment(request, ticket_id: UUID, payload: CommentIn):
    return Status(201, services.add_comment(request.user, _ticket(request, ticket_id), payload.body))


@router.post(
    "feedback",
    response={201: FeedbackOut, **ERRORS},
    summary="Satisfaction: a score 1–5 and a comment (after a resolved ticket, or the monthly survey)",
)
def submit_feedback(request, payload: FeedbackIn):
    ticket = _ticket(request, payload.ticket_id) if payload.ticket_id else None
    return Status(201, services.submit_feedback(request.user, payload.score, payload.comment, ticket=ticket))

"""Notifications REST endpoints (DESIGN §15): the caller's own inbox."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Query, Router, Schema

from core.pagination import paginate

from . import services

router = Router(tags=["notifications"])


class CustodyRef(Schema):
    id: UUID
    custody_no: str


class NotificationOut(Schema):
    id: UUID
    kind: str
    title: str
    body: str
    url: str
    custody_id: UUID | None
    custody: CustodyRef | None
    created_at: datetime
    read_at: datetime | None
    read: bool

    @staticmethod
    def resolve_read(obj) -> bool:
        return obj.read_at is not None


class NotificationList(Schema):
    items: list[NotificationOut]
    count: int
    next: str | None


class NotificationFilters(Schema):
    unread: bool | None = None
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


class ReadAllOut(Schema):
    updated: int


@router.get("notifications", response=NotificationList)
def list_notifications(request, filters: Query[NotificationFilters]):
    """The caller's notifications, newest first; `?unread=true` for unread only, `?unread=false` for read."""
    qs = services.inbox(request.user)
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings={"created_at"},
        default_ordering="-created_at",
    )
    return {"items": page.items, "count": page.count, "next": page.next}


@router.post("notifications/read-all", response=ReadAllOut)
def read_all(request):
    return {"updated": services.mark_all_read(request.user)}


@router.post("notifications/{notification_id}/read", response=NotificationOut)
def read_one(request, notification_id: UUID):
    return services.inbox(request.user).get(pk=services.mark_read(request.user, notification_id).pk)

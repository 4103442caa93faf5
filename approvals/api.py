"""A custody's approval levels in the REST API (DESIGN §15: /custodies/{id}/approvals)."""

from datetime import datetime
from uuid import UUID

from django.http import Http404
from ninja import Router, Schema

from custodies.selectors import custody_detail

from .models import Approval

router = Router(tags=["custodies"])


class ApprovalOut(Schema):
    id: UUID
    round: int
    level: int
    role: str
    rule_name: str
    status: str
    decided_by_id: UUID | None
    decided_at: datetime | None
    notes: str
    due_at: datetime | None
    escalated_at: datetime | None


@router.get(
    "custodies/{custody_id}/approvals",
    response=list[ApprovalOut],
    summary="Approval levels, all rounds",
    operation_id="custodies_api_list_approvals",  # its id from when custodies served it
)
def list_approvals(request, custody_id: UUID):
    custody = custody_detail(request.user, custody_id)
    if custody is None:
        raise Http404  # config.api answers it: 404 NOT_FOUND
    return list(Approval.objects.filter(custody=custody).order_by("round", "level"))

"""Quote reads shared by the list page, the API, exports and the approvals inbox: branch-scoped, N+1-free."""

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from django.db.models import Q, QuerySet

from accounts import permissions
from accounts.permissions import scope_to_branches

from .choices import CostSheetStatus, QuoteStatus
from .models import CostSheet, Quote

LIST_ORDERINGS = {"created_at", "quote_no", "status", "valid_until", "total"}


def quotes_for(user) -> QuerySet[Quote]:
    return scope_to_branches(Quote.objects.select_related("branch", "customer"), user)


def cost_sheets_for(user) -> QuerySet[CostSheet]:
    return scope_to_branches(
        CostSheet.objects.select_related("quote", "quote__customer", "quote__branch"),
        user,
        field="quote__branch",
    )


@dataclass
class QuoteFilters:
    status: list[str] = field(default_factory=list)
    customer_id: UUID | None = None
    branch_id: UUID | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    q: str | None = None

    def errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        bad = [s for s in self.status if s not in QuoteStatus.values]
        if bad:
            errors["status"] = [f"Unknown status: {', '.join(bad)}."]
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = ["Must not be before valid_from."]
        return errors


def filter_quotes(qs: QuerySet[Quote], f: QuoteFilters) -> QuerySet[Quote]:
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.branch_id:
        qs = qs.filter(branch_id=f.branch_id)
    if f.valid_from:
        qs = qs.filter(valid_until__gte=f.valid_from)
    if f.valid_to:
        qs = qs.filter(valid_until__lte=f.valid_to)
    if f.q:
        term = f.q.strip()
        upper = term.upper()
        qs = qs.filter(
            Q(quote_no=upper)
            | Q(quote_no=f"QT-{term}")
            | Q(customer__full_name__icontains=term)
            | Q(customer__customer_no=upper)
        )
    return qs


def awaiting_decision(user):
    """Quotes and cost sheets waiting for this user's approval (never their own submissions)."""
    if not permissions.may(user, "quote.approve"):
        return Quote.objects.none(), CostSheet.objects.none()
    quotes = (
        quotes_for(user)
        .filter(status=QuoteStatus.PENDING_APPROVAL)
        .exclude(submitted_by=user)
        .select_related("submitted_by")
        .order_by("submitted_at")
    )
    sheets = (
        cost_sheets_for(user)
        .filter(status=CostSheetStatus.PENDING_APPROVAL)
        .exclude(submitted_by=user)
        .select_related("submitted_by")
        .order_by("submitted_at")
    )
    return quotes, sheets

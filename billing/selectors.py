"""Charge reads shared by the finance list page, the API and exports."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.permissions import scope_to_branches
from core.dates import on_days

from .choices import BILLED_STATUSES
from .models import Charge, Invoice, Payment

ORDERINGS = {"created_at", "posted_at", "total", "status", "charge_type"}


def charges_for(user) -> QuerySet[Charge]:
    return scope_to_branches(
        Charge.objects.select_related(
            "custody", "custody__branch", "custody__customer", "created_by", "posted_by"
        ),
        user,
        field="custody__branch",
    )


def payments_for(user) -> QuerySet[Payment]:
    """Payments (refunds are negative) of custodies in the user's branches."""
    return scope_to_branches(
        Payment.objects.select_related("custody", "custody__branch", "custody__customer", "recorded_by"),
        user,
        field="custody__branch",
    )


def filter_payments(qs: QuerySet[Payment], f) -> QuerySet[Payment]:
    """The finance page's branch and date filters, on the day each payment was received."""
    if getattr(f, "branch_id", None):
        qs = qs.filter(custody__branch_id=f.branch_id)
    return qs.filter(on_days("received_at", getattr(f, "date_from", None), getattr(f, "date_to", None)))


def filter_charges(qs: QuerySet[Charge], f) -> QuerySet[Charge]:
    """`f` has list attributes status/charge_type/responsibility and branch_id, custody_id, date_from, date_to."""
    if getattr(f, "status", None):
        qs = qs.filter(status__in=[str(s) for s in f.status])
    if getattr(f, "charge_type", None):
        qs = qs.filter(charge_type__in=[str(s) for s in f.charge_type])
    if getattr(f, "responsibility", None):
        qs = qs.filter(responsibility__in=[str(s) for s in f.responsibility])
    if getattr(f, "branch_id", None):
        qs = qs.filter(custody__branch_id=f.branch_id)
    if getattr(f, "custody_id", None):
        qs = qs.filter(custody_id=f.custody_id)
    return qs.filter(on_days("created_at", getattr(f, "date_from", None), getattr(f, "date_to", None)))


def invoices_for(user) -> QuerySet[Invoice]:
    """Invoices of custodies in the user's branches."""
    return scope_to_branches(
        Invoice.objects.select_related(
            "custody__customer", "custody__replacement_vehicle", "custody__branch"
        ),
        user,
        "custody__branch",
    )


def with_custody_amounts(qs):
    """Custodies with their billed charges (`export_charged`) and payments (`export_paid`), as subqueries
    (a join would multiply the rows): the custody list's export (`custodies.hooks.CustodyBilling`)."""

    def total(model, field, **extra):
        sums = (
            model.objects.filter(custody=OuterRef("pk"), **extra)
            .order_by()
            .values("custody")
            .annotate(s=Sum(field))
            .values("s")
        )
        return Coalesce(
            Subquery(sums, output_field=DecimalField()), Value(Decimal("0")), output_field=DecimalField()
        )

    return qs.annotate(
        export_charged=total(Charge, "total", status__in=BILLED_STATUSES),
        export_paid=total(Payment, "amount"),
    )

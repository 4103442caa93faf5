"""Approvals inbox (DESIGN §16): the levels waiting for this user, decided in place with HTMX."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import scope_to_branches
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.exports import ExportColumn, export_list
from custodies import display, rules, selectors, services

from . import bulk
from . import services as approvals
from .models import Approval

INBOX_LIMIT = 200

APPROVAL_EXPORT = [
    ExportColumn(gettext_lazy("Custody no."), lambda a: a.custody.custody_no),
    ExportColumn(gettext_lazy("Branch"), lambda a: a.custody.branch.code),
    ExportColumn(gettext_lazy("Customer"), lambda a: a.custody.customer.full_name, width=28),
    ExportColumn(gettext_lazy("Reason"), lambda a: a.custody.get_reason_code_display()),
    ExportColumn(gettext_lazy("Level"), lambda a: a.level, "int"),
    ExportColumn(gettext_lazy("Role"), lambda a: display.role_label(a.role)),
    ExportColumn(gettext_lazy("Status"), lambda a: a.get_status_display()),
    ExportColumn(gettext_lazy("Submitted"), lambda a: a.custody.submitted_at, "datetime"),
    ExportColumn(
        gettext_lazy("Submitted by"),
        lambda a: a.custody.submitted_by.full_name if a.custody.submitted_by_id else "",
    ),
    ExportColumn(gettext_lazy("Due"), lambda a: a.due_at, "datetime"),
    ExportColumn(gettext_lazy("Escalated"), lambda a: a.escalated_at, "datetime"),
]


def _quote_approvals(user):
    """Quotes and cost sheets waiting for this user (the quotes app's own selector; empty without it)."""
    from django.apps import apps

    if not apps.is_installed("quotes"):
        return [], []
    from quotes.selectors import awaiting_decision

    quotes, sheets = awaiting_decision(user)
    return list(quotes[:INBOX_LIMIT]), list(sheets[:INBOX_LIMIT])


def _rows(approvals_list, now, user=None):
    problems = rules.replacement_problems([a.custody for a in approvals_list])
    rows = []
    for a in approvals_list:
        problem = problems.get(a.custody.pk)
        rows.append(
            {
                "approval": a,
                "custody": a.custody,
                "sla": display.current_sla_badge(a.custody, now),
                "escalation": display.level_due_badge(a, now),
                "role": display.role_label(a.role),
                "problem": problem,
                # The approver can give another car right here instead of only rejecting.
                "alternatives": replacement_alternatives(user, a.custody) if (problem and user) else [],
            }
        )
    return rows


def replacement_alternatives(user, custody, limit=8):
    end = None if custody.until_original_ready else custody.expected_return_at
    return selectors.replacement_options(user, custody, custody.effective_from, end, limit=limit)


@login_required
@require_GET
def inbox(request):
    now = timezone.now()
    qs = approvals.inbox_for(request.user)
    if request.session.get("branch_id"):
        qs = qs.filter(custody__branch_id=request.session["branch_id"])
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        # Every level waiting for this user (the page shows the most urgent INBOX_LIMIT of them).
        return export_list(request, qs, "approvals.views.APPROVAL_EXPORT", "approvals", fmt)
    items = list(qs[:INBOX_LIMIT])
    quotes, sheets = _quote_approvals(request.user)
    return render(
        request,
        "approvals/inbox.html",
        {
            "rows": _rows(items, now, request.user),
            "truncated": len(items) >= INBOX_LIMIT,
            "quote_rows": quotes,
            "sheet_rows": sheets,
        },
    )


@login_required
@require_GET
def inbox_count(request):
    """The nav badge: how many levels wait for me (loaded with HTMX, empty when none)."""
    quotes, sheets = _quote_approvals(request.user)
    count = approvals.inbox_for(request.user).count() + len(quotes) + len(sheets)
    if not count:
        return HttpResponse("")
    label = _("%(n)s waiting") % {"n": count}
    return HttpResponse(
        format_html('<span class="badge rounded-pill text-bg-warning" title="{}">{}</span>', label, count)
    )


@login_required
@require_POST
def decide(request, pk, decision):
    if decision not in ("approve", "reject"):
        raise Http404
    user = request.user
    level = get_object_or_404(
        scope_to_branches(
            Approval.objects.select_related(
                "custody", "custody__branch", "custody__customer", "custody__submitted_by"
            ),
            user,
            field="custody__branch",
        ),
        pk=pk,
    )
    custody = level.custody
    text = (request.POST.get("notes") if decision == "approve" else request.POST.get("reason")) or ""
    error = None
    result = None
    current = approvals.current_level(custody)
    if current is None or current.pk != level.pk:
        error = _("This level was already decided or is no longer waiting.")
    elif decision == "reject" and not text.strip():
        error = _("Give a reason for the rejection.")
    else:
        try:
            if decision == "approve":
                result = services.approve_custody(user, custody.pk, notes=text.strip())
            else:
                result = services.reject_custody(user, custody.pk, text)
        except ValidationFailed as exc:
            error = "; ".join(exc.messages())
        except (InvalidTransition, Conflict) as exc:
            error = exc.message
        except PermissionDenied as exc:
            if not request.htmx:
                raise
            error = str(exc) or _("You may not decide this level.")

    if request.htmx:
        if error:
            level.refresh_from_db()
            row = _rows([level], timezone.now(), user)[0]
            return render(
                request,
                "approvals/_row.html",
                {"row": row, "error": error, "decision": decision, "text": text},
            )
        response = render(
            request,
            "approvals/_result.html",
            {"custody": result.custody, "decision": decision, "level": level},
        )
        response["HX-Trigger"] = "approvals-changed"  # the nav badge counts again
        return response
    if error:
        messages.error(request, f"{custody.custody_no}: {error}")
    elif decision == "approve":
        messages.success(request, _("You approved %(no)s.") % {"no": custody.custody_no})
    else:
        messages.success(request, _("You rejected %(no)s.") % {"no": custody.custody_no})
    return redirect("approvals:inbox")


@login_required
@require_POST
def approve_selected(request):
    """Approve the ticked levels (approvals.bulk: role first, then each level's eligibility and state).

    With HTMX: a summary above the list, approved rows become their result line and refused rows show
    why, in place. Without: a page listing each level's outcome.
    """
    user = request.user
    outcomes = bulk.approve_levels(user, request.POST.getlist("approval_id"), request.POST.get("notes", ""))
    approved = [o for o in outcomes if o.approved]
    refused = [o for o in outcomes if not o.approved]
    context = {"outcomes": outcomes, "approved": approved, "refused": refused}
    if not request.htmx:
        return render(request, "approvals/bulk_result.html", context, status=200 if outcomes else 400)
    reasons = {o.level.pk: o.message for o in refused}
    fresh = Approval.objects.select_related(
        "custody__branch",
        "custody__customer",
        "custody__submitted_by",
        "custody__original_vehicle",
        "custody__replacement_vehicle",
    ).in_bulk(list(reasons))
    context["refused_rows"] = [
        (row, reasons[row["approval"].pk])
        for row in _rows([fresh[pk] for pk in reasons if pk in fresh], timezone.now(), user)
    ]
    response = render(request, "approvals/_bulk_result.html", context)
    if approved:
        response["HX-Trigger"] = "approvals-changed"  # the nav badge counts again
    return response


@login_required
@require_POST
def change_replacement(request, pk):
    """The approver swaps an unavailable replacement for an available car, from the inbox row."""
    user = request.user
    level = get_object_or_404(
        scope_to_branches(
            Approval.objects.select_related("custody", "custody__branch", "custody__replacement_vehicle"),
            user,
            field="custody__branch",
        ),
        pk=pk,
    )
    error = None
    try:
        services.change_replacement(user, level.custody_id, request.POST.get("replacement_vehicle_id"))
    except (ValidationFailed, Conflict, InvalidTransition) as exc:
        error = " ".join(exc.messages())
    except PermissionDenied as exc:
        if not request.htmx:
            raise  # a plain form post by a role that may not: 403, as everywhere
        error = str(exc) or _("You may not decide this level.")
    level = Approval.objects.select_related(
        "custody__branch",
        "custody__customer",
        "custody__submitted_by",
        "custody__replacement_vehicle",
        "custody__original_vehicle",
    ).get(pk=level.pk)
    if not request.htmx:
        if error:
            messages.error(request, f"{level.custody.custody_no}: {error}")
        else:
            messages.success(request, _("Replacement changed on %(no)s.") % {"no": level.custody.custody_no})
        return redirect("approvals:inbox")
    row = _rows([level], timezone.now(), user)[0]
    return render(request, "approvals/_row.html", {"row": row, "error": error, "swapped": not error})

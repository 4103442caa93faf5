"""Custody pages (DESIGN §16): list, new-custody wizard, detail with actions and tabs.

Views parse input with custodies.forms and call custodies.services; every rule and state change
lives in the services, whose errors are shown next to the fields they name.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from audit import present as audit_present
from audit.models import AuditEntry
from audit.selectors import csv_response, filter_entries
from core import switches
from core.errors import Conflict, DomainError, InvalidTransition, ValidationFailed
from core.exports import ExportColumn, export_list
from core.pagination import COUNT_CAP, MAX_LIMIT, paginate
from fleet import selectors as fleet_selectors

from . import display, hooks, rules, selectors, services, sla
from .choices import SUBCODES_BY_REASON, CustodianType, CustodyStatus, ReasonSubcode
from .forms import (
    ACTION_FORMS,
    FUEL_CHOICES,
    STEP_FORMS,
    AgreementStepForm,
    CustodyFilterForm,
    HandoverForm,
    ReplacementStepForm,
    add_service_errors,
)
from .models import Custody
from .transitions import role_refusal, state_refusal, transition_for

LIST_SORTS = selectors.LIST_ORDERINGS | {"reason_code"}
PICKER_LIMIT = 10
REPLACEMENT_LIMIT = 200

STEPS = [
    ("agreement", gettext_lazy("Agreement & vehicle")),
    ("reason", gettext_lazy("Reason & incident")),
    ("custodian", gettext_lazy("Custodian")),
    ("replacement", gettext_lazy("Replacement & period")),
    ("rate", gettext_lazy("Rate & deposit")),
    ("documents", gettext_lazy("Documents")),
    ("review", gettext_lazy("Review & submit")),
]
STEP_NAMES = [name for name, _label in STEPS]

FIELD_STEPS = rules.FIELD_STEPS

ACTION_DONE = {
    "submit": gettext_lazy("%(no)s was submitted for approval."),
    "approve": gettext_lazy("You approved %(no)s."),
    "reject": gettext_lazy("You rejected %(no)s; it is back in draft."),
    "handover": gettext_lazy("%(no)s was handed over."),
    "close": gettext_lazy("%(no)s was closed."),
    "void": gettext_lazy("%(no)s was voided."),
}
ACTION_BUTTONS = {
    "submit": "primary",
    "approve": "success",
    "reject": "outline-danger",
    "handover": "primary",
    "close": "primary",
    "void": "outline-danger",
}


# ---- shared helpers ------------------------------------------------------------------------------


def _get_custody(request, pk) -> Custody:
    """A custody of the user's branches; anything else does not exist for them (404)."""
    return get_object_or_404(selectors.custodies_for(request.user), pk=pk)


def _with_documents(context: dict, user, custody) -> dict:
    """The documents app's panel (documents/_panel.html) on the detail page and the wizard's step."""
    for key, value in hooks.documents.panel(user, custody).items():
        context.setdefault(key, value)
    return context


def _display(custody, name):
    value = getattr(custody, name)
    if hasattr(custody, f"get_{name}_display") and value not in (None, ""):
        return getattr(custody, f"get_{name}_display")()
    return format_value(value)


def format_value(value):
    """Dates in the user's time zone, money with 2 places; booleans and None are left to the template."""
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, Decimal):
        return formats.number_format(value, 2, use_l10n=True)
    return value


def overview_groups(custody) -> list[dict]:
    """All custody fields grouped as an operator reads them (overview tab and wizard review)."""
    meta = Custody._meta

    def row(name, value=None):
        label = meta.get_field(name).verbose_name
        return {"label": label, "value": _display(custody, name) if value is None else value, "name": name}

    period = custody.expected_return_at
    if custody.until_original_ready:
        period = _("Until the original is ready")
    groups = [
        {
            "title": _("Agreement & vehicle"),
            "step": "agreement",
            "rows": [
                row("branch"),
                row("agreement"),
                row("customer"),
                row("original_vehicle"),
            ],
        },
        {
            "title": _("Reason & incident"),
            "step": "reason",
            "rows": [
                row("reason_code"),
                row("reason_subcode"),
                row("incident_at"),
                row("incident_ref"),
                row("incident_location"),
                row("incident_odometer_km"),
                row("incident_narrative"),
            ],
        },
        {
            "title": _("Custodian"),
            "step": "custodian",
            "rows": [
                row("custodian_type"),
                row("custodian_name"),
                row("custodian_phone"),
                row("custodian_email"),
                row("custodian_id_no"),
            ],
        },
        {
            "title": _("Replacement & period"),
            "step": "replacement",
            "rows": [
                row("replacement_vehicle", custody.replacement_vehicle or _("None")),
                row("effective_from"),
                row("expected_return_at", format_value(period)),
                row("original_ready_at"),
            ],
        },
        {
            "title": _("Rate & deposit"),
            "step": "rate",
            "rows": [
                row("rate_policy"),
                row("special_rate_code"),
                row("deposit_carryover"),
                row("damage_hold_amount"),
                row("damage_hold_ref"),
            ],
        },
        {
            "title": _("Insurance"),
            "step": "rate",
            "rows": [
                row("insurer_name"),
                row("insurance_policy_no"),
                row("claim_no"),
                row("claim_status"),
                row("insurer_authorization_no"),
                row("authorized_daily_rate_cap"),
                row("authorized_max_days"),
            ],
        },
        {"title": _("Notes"), "step": "rate", "rows": [row("notes")]},
    ]
    return groups


def _record_groups(custody) -> list[dict]:
    """Who did what when (overview tab)."""
    users = selectors.record_users(custody)
    rows = [
        (_("Created"), custody.created_at, custody.created_by_id),
        (_("Submitted"), custody.submitted_at, custody.submitted_by_id),
        (_("Approved"), custody.approved_at, None),
        (_("Handed over"), custody.handed_over_at, custody.handed_over_by_id),
        (_("Returned"), custody.returned_at, None),
        (_("Closed"), custody.closed_at, custody.closed_by_id),
        (_("Voided"), custody.voided_at, custody.voided_by_id),
    ]
    return [{"label": label, "at": at, "by": users.get(by)} for label, at, by in rows if at]


def _page_numbers(page) -> list[int | None]:
    """1 … 4 5 [6] 7 8 … 20 (None = gap)."""
    if page is None:
        return []
    current, last = page.page or 1, page.num_pages
    wanted = {1, *range(max(1, current - 2), min(last, current + 2) + 1)}
    if not page.count_capped:  # a capped count does not know the last page
        wanted.add(last)
    result: list[int | None] = []
    previous = 0
    for number in sorted(wanted):
        if number - previous > 1:
            result.append(None)
        result.append(number)
        previous = number
    return result


# ---- list ----------------------------------------------------------------------------------------


def _recent_customers(user, selected: str | None) -> list[tuple]:
    """Customers of recent custodies (for the customer filter), plus the selected one."""
    seen: dict = {}
    for pk, name in selectors.recent_customers(user, 300):
        if pk not in seen:
            seen[pk] = name
        if len(seen) >= 100:
            break
    if selected and selected not in {str(pk) for pk in seen}:
        customer = (
            fleet_selectors.customers_for(user).filter(pk=selected).values_list("pk", "full_name").first()
            if _is_uuid(selected)
            else None
        )
        if customer:
            seen[customer[0]] = customer[1]
    return sorted(seen.items(), key=lambda item: (item[1] or "").lower())


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


CUSTODY_EXPORT = [
    ExportColumn(gettext_lazy("Custody no."), lambda c: c.custody_no),
    ExportColumn(gettext_lazy("Status"), lambda c: c.get_status_display()),
    ExportColumn(gettext_lazy("Branch"), lambda c: c.branch.code),
    ExportColumn(gettext_lazy("Customer"), lambda c: c.customer.full_name, width=28),
    ExportColumn(gettext_lazy("Agreement no."), lambda c: c.agreement.agreement_no if c.agreement_id else ""),
    ExportColumn(gettext_lazy("Custodian type"), lambda c: c.get_custodian_type_display()),
    ExportColumn(gettext_lazy("Custodian"), lambda c: c.custodian_name, width=24),
    ExportColumn(gettext_lazy("Custodian phone"), lambda c: c.custodian_phone),
    ExportColumn(gettext_lazy("Reason"), lambda c: c.get_reason_code_display()),
    ExportColumn(
        gettext_lazy("Reason detail"), lambda c: c.get_reason_subcode_display() if c.reason_subcode else ""
    ),
    ExportColumn(
        gettext_lazy("Original vehicle"), lambda c: c.original_vehicle.plate if c.original_vehicle_id else ""
    ),
    ExportColumn(
        gettext_lazy("Replacement vehicle"),
        lambda c: c.replacement_vehicle.plate if c.replacement_vehicle_id else "",
    ),
    ExportColumn(gettext_lazy("Rate policy"), lambda c: c.get_rate_policy_display()),
    ExportColumn(gettext_lazy("Incident time"), lambda c: c.incident_at, "datetime"),
    ExportColumn(gettext_lazy("Effective from"), lambda c: c.effective_from, "datetime"),
    ExportColumn(gettext_lazy("Expected return"), lambda c: c.expected_return_at, "datetime"),
    ExportColumn(gettext_lazy("Handed over"), lambda c: c.handed_over_at, "datetime"),
    ExportColumn(gettext_lazy("Returned"), lambda c: c.returned_at, "datetime"),
    ExportColumn(gettext_lazy("Closed"), lambda c: c.closed_at, "datetime"),
    ExportColumn(gettext_lazy("Created"), lambda c: c.created_at, "datetime"),
    ExportColumn(gettext_lazy("Damage hold"), lambda c: c.damage_hold_amount, "money"),
    ExportColumn(gettext_lazy("Charged"), lambda c: c.export_charged, "money"),
    ExportColumn(gettext_lazy("Paid"), lambda c: c.export_paid, "money"),
    ExportColumn(gettext_lazy("Outstanding"), lambda c: c.export_charged - c.export_paid, "money"),
]


def list_filter_form(user, data, branches=None) -> CustodyFilterForm:
    """The list's filter form bound to `data`: the page's, and what a saved filter may hold (accounts.lists)."""
    if branches is None:
        branches = fleet_selectors.branch_list(user)
    return CustodyFilterForm(
        data, branches=branches, customers=_recent_customers(user, data.get("customer_id"))
    )


@login_required
@require_GET
def custody_list(request):
    user = request.user
    branches = fleet_selectors.branch_list(user)
    data = request.GET.copy()
    session_branch = request.session.get("branch_id")
    if "branch_id" not in data and session_branch and session_branch in {str(b.pk) for b in branches}:
        # The header's branch switcher narrows the list until a branch filter says otherwise.
        data["branch_id"] = session_branch
    form = list_filter_form(user, data, branches=branches)
    page, error, rows = None, None, ""
    now = timezone.now()
    if form.is_valid():
        cd = form.cleaned_data
        filters = selectors.CustodyFilters(
            status=cd["status"],
            reason_code=cd["reason_code"] or None,
            branch_id=cd["branch_id"] or None,
            custodian_type=cd["custodian_type"] or None,
            customer_id=cd["customer_id"] or None,
            plate=cd["plate"] or None,
            date_from=cd["date_from"],
            date_to=cd["date_to"],
            sla_state=cd["sla_state"] or None,
            overdue=cd["overdue"] == "1",
            q=cd["q"] or None,
        )
        qs = selectors.filter_custodies(selectors.custodies_for(user), filters, now)
        if cd["agreement_no"]:
            number = cd["agreement_no"].strip()
            qs = qs.filter(Q(agreement__agreement_no=number) | Q(agreement__agreement_no=number.upper()))
        if request.GET.get("format") in ("csv", "xlsx"):
            return export_list(
                request,
                hooks.billing.with_amounts(qs).order_by("-created_at"),
                "custodies.views.CUSTODY_EXPORT",
                "custodies",
                request.GET["format"],
            )
        try:
            page = paginate(
                selectors.list_rows(qs, selectors.page_columns(request.GET.get("ordering"))),
                params=request.GET,
                path=request.path,
                allowed_orderings=LIST_SORTS,
                default_ordering="-created_at",
                count_cap=COUNT_CAP,
                count_from=qs,  # the filters without the rows' joins
            )
        except ValidationFailed as exc:
            error = exc.message
        else:
            rows = display.ListRows(now).html(selectors.ListRow(r) for r in page.items)
    else:
        error = _("Some filters are not valid: %(fields)s.") % {
            "fields": ", ".join(
                str(form.fields[name].label) if name in form.fields else name for name in form.errors
            )
        }
    active = any(value for key, value in request.GET.items() if key not in ("ordering", "page", "limit"))
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "error": error,
        "filtered": active,
        "page_numbers": _page_numbers(page),
        "ordering": page.ordering if page else "-created_at",
        "columns": [
            ("custody_no", _("Custody no."), ""),
            ("status", _("Status"), ""),
            ("", _("SLA"), ""),
            ("reason_code", _("Reason"), ""),
            ("", _("Customer"), ""),
            ("custodian_name", _("Custodian"), "cell-xxl"),
            ("", _("Original"), ""),
            ("", _("Replacement"), ""),
            ("", _("Branch"), "cell-lg"),
            ("created_at", _("Created"), ""),
        ],
        "may_create": permissions.may(user, "custody.create"),
        "more_filters_open": any(
            request.GET.get(name)
            for name in (
                "reason_code",
                "branch_id",
                "custodian_type",
                "customer_id",
                "agreement_no",
                "plate",
                "date_from",
                "date_to",
                "sla_state",
                "overdue",
            )
        ),
    }
    partial = request.htmx and request.htmx.target == "list-results"
    template = "custodies/_list_results.html" if partial else "custodies/list.html"
    status = 200 if (partial or error is None) else 400
    return render(request, template, context, status=status)


@login_required
@require_POST
def export_selected(request):
    """The rows ticked on the list page, as CSV or XLSX through the list's export (same columns).

    A POST because a page of ids does not fit in an address (a read: maintenance lets it through). Only
    custodies the user may see are exported: an id of another branch, or no id at all, is not there.
    """
    back = request.POST.get("next") or ""
    if not (
        back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    ):
        back = reverse("custodies:list")  # the list this came from; never an address elsewhere
    fmt = request.POST.get("format")
    ids = [value for value in request.POST.getlist("id") if _is_uuid(value)]
    error = None
    if fmt not in ("csv", "xlsx"):
        error = _("Choose CSV or XLSX.")
    elif not ids:
        error = _("Tick the custodies to export first.")
    elif len(ids) > MAX_LIMIT:
        error = _("Export at most %(n)d custodies at a time, or export the whole filtered list.") % {
            "n": MAX_LIMIT
        }
    if error:
        messages.warning(request, error)
        return redirect(back)
    qs = selectors.custodies_for(request.user).filter(pk__in=ids)
    return export_list(
        request,
        hooks.billing.with_amounts(qs).order_by("-created_at", "-pk"),
        "custodies.views.CUSTODY_EXPORT",
        "custodies-selected",
        fmt,
    )


# ---- pickers (HTMX search) -----------------------------------------------------------------------


@login_required
@require_GET
def pick_agreements(request):
    q = request.GET.get("q", "").strip()
    qs = fleet_selectors.agreements_for(request.user, q)
    if request.session.get("branch_id"):
        qs = qs.filter(branch_id=request.session["branch_id"])
    qs = qs.annotate(
        inactive=Case(When(status="active", then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("inactive", "-start_at")
    return render(
        request, "custodies/pickers/_agreements.html", {"items": list(qs[:PICKER_LIMIT]) if q else [], "q": q}
    )


@login_required
@require_GET
def pick_customers(request):
    q = request.GET.get("q", "").strip()
    qs = fleet_selectors.customers_for(request.user, q).filter(active=True).order_by("full_name")
    return render(
        request, "custodies/pickers/_customers.html", {"items": list(qs[:PICKER_LIMIT]) if q else [], "q": q}
    )


@login_required
@require_GET
def pick_vehicles(request):
    q = request.GET.get("q", "").strip()
    qs = fleet_selectors.vehicles_for(request.user, q).order_by("plate")
    return render(
        request, "custodies/pickers/_vehicles.html", {"items": list(qs[:PICKER_LIMIT]) if q else [], "q": q}
    )


# ---- wizard --------------------------------------------------------------------------------------


def _initial(custody: Custody, form_class) -> dict:
    initial = {"version": custody.version}
    for name in form_class.base_fields:
        if name == "version" or not hasattr(custody, name):
            continue
        value = getattr(custody, name)
        initial[name] = str(value) if name.endswith("_id") and value else value
    return initial


def _step_url(custody, step: str) -> str:
    return reverse("custodies:wizard", args=[custody.pk, step])


def _neighbours(step: str) -> tuple[str | None, str | None]:
    index = STEP_NAMES.index(step)
    previous = STEP_NAMES[index - 1] if index > 0 else None
    following = STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None
    return previous, following


def _after_save(request, custody, step: str):
    if request.POST.get("nav") == "save":
        messages.success(request, _("Draft %(no)s saved.") % {"no": custody.custody_no})
        return redirect(_step_url(custody, step))
    _previous, following = _neighbours(step)
    return redirect(_step_url(custody, following or step))


def _wizard_context(request, custody, step, **extra) -> dict:
    index = STEP_NAMES.index(step)
    previous, following = _neighbours(step)
    context = {
        "custody": custody,
        "step": step,
        "step_label": dict(STEPS)[step],
        "step_number": index + 1,
        "step_count": len(STEPS),
        "progress": int((index + 1) * 100 / len(STEPS)),
        "steps": [
            {
                "name": name,
                "label": label,
                "number": i + 1,
                "current": name == step,
                "done": i < index,
                "url": _step_url(custody, name) if custody else None,
            }
            for i, (name, label) in enumerate(STEPS)
        ],
        "previous_url": _step_url(custody, previous) if (custody and previous) else None,
        "following": following,
    }
    context.update(extra)
    return context


def _picked_labels(user, values: dict) -> dict:
    """Display labels of the picked agreement/customer/vehicle (ids from the form)."""
    labels = {}
    agreement_id = values.get("agreement_id")
    if agreement_id and _is_uuid(agreement_id):
        a = fleet_selectors.agreements_for(user).filter(pk=agreement_id).first()
        if a:
            labels["agreement_id"] = f"{a.agreement_no} · {a.customer.full_name} · {a.vehicle.plate}"
    customer_id = values.get("customer_id")
    if customer_id and _is_uuid(customer_id):
        customer = fleet_selectors.customers_for(user).filter(pk=customer_id).first()
        if customer:
            labels["customer_id"] = customer.full_name
    vehicle_id = values.get("original_vehicle_id")
    if vehicle_id and _is_uuid(vehicle_id):
        v = fleet_selectors.vehicles_for(user).filter(pk=vehicle_id).first()
        if v:
            labels["original_vehicle_id"] = f"{v.plate} · {v.make} {v.model}"
    return labels


def _save_step(request, form, custody, save):
    """Run a save, mapping service errors onto the form. Returns the saved custody or None."""
    try:
        return save()
    except ValidationFailed as exc:
        add_service_errors(form, exc.details, exc.message)
    except Conflict as exc:
        form.add_error(None, exc.message)
        if custody is not None:
            # Show the latest version so a second save is a deliberate overwrite.
            data = form.data.copy()
            data["version"] = Custody.objects.filter(pk=custody.pk).values_list("version", flat=True).first()
            form.data = data
    except InvalidTransition as exc:
        form.add_error(None, exc.message)
    except DomainError as exc:  # maintenance / new custodies off
        form.add_error(None, exc.message)
    return None


def _agreement_step(request, custody: Custody | None):
    user = request.user
    creating = custody is None
    branches = list(fleet_selectors.branches_for(user).filter(active=True).order_by("code"))
    if request.method == "POST":
        form = AgreementStepForm(request.POST, branches=branches, creating=creating)
    else:
        if creating:
            default_branch = request.session.get("branch_id") or (
                str(branches[0].pk) if len(branches) == 1 else ""
            )
            initial = {"branch_id": default_branch}
            agreement_id = request.GET.get("agreement")
            if agreement_id and _is_uuid(agreement_id):
                agreement = fleet_selectors.agreements_for(user).filter(pk=agreement_id).first()
                if agreement:
                    initial.update(
                        agreement_id=str(agreement.pk),
                        customer_id=str(agreement.customer_id),
                        original_vehicle_id=str(agreement.vehicle_id),
                        branch_id=str(agreement.branch_id),
                    )
        else:
            initial = _initial(custody, AgreementStepForm)
        form = AgreementStepForm(initial=initial, branches=branches, creating=creating)

    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        agreement = None
        if data.get("agreement_id"):
            agreement = fleet_selectors.agreements_for(user).filter(pk=data["agreement_id"]).first()
        if agreement is not None:
            # The agreement decides the customer and the branch; its vehicle is the usual original.
            data["customer_id"] = agreement.customer_id
            data["branch_id"] = agreement.branch_id
            data["original_vehicle_id"] = data.get("original_vehicle_id") or agreement.vehicle_id

        def save():
            if creating:
                now = timezone.now()
                return services.create_custody(
                    user,
                    {
                        **data,
                        "custodian_type": CustodianType.CUSTOMER,
                        "custodian_name": "",
                        "incident_at": now,
                        "effective_from": now,
                    },
                )
            changes = dict(data)
            if custody.custodian_type == CustodianType.CUSTOMER and str(changes.get("customer_id")) != str(
                custody.customer_id
            ):
                # A different customer: the custodian follows (prefilled again by the service).
                changes.update(custodian_name="", custodian_phone="", custodian_email="", custodian_id_no="")
            return services.update_custody(
                user, custody.pk, changes, expected_version=form.cleaned_data.get("version")
            )

        saved = _save_step(request, form, custody, save)
        if saved is not None:
            if creating:
                messages.success(
                    request, _("Draft %(no)s created. It is saved at every step.") % {"no": saved.custody_no}
                )
            return _after_save(request, saved, "agreement")

    values = {
        name: (form.data.get(name) if form.is_bound else form.initial.get(name))
        for name in ("agreement_id", "customer_id", "original_vehicle_id")
    }
    context = _wizard_context(
        request, custody, "agreement", form=form, creating=creating, picked=_picked_labels(user, values)
    )
    return render(request, "custodies/wizard.html", context, status=422 if form.is_bound else 200)


replacement_options = selectors.replacement_options


def _replacement_context(user, custody, start, end, until_ready, selected) -> dict:
    vehicles = replacement_options(user, custody, start, None if until_ready else end)
    current = custody.replacement_vehicle
    current_problem = None
    if current is not None and all(v.pk != current.pk for v in vehicles):
        current_problem = rules.replacement_problem(custody) or _("Not available for this period.")
    return {
        "vehicles": vehicles,
        "current": current,
        "current_problem": current_problem,
        "selected": str(selected or ""),
    }


def _shadow(custody: Custody, form) -> Custody:
    """The draft as it would be with the fields of this step that parsed (nothing is saved)."""
    shadow = Custody.objects.get(pk=custody.pk)
    for name in getattr(form, "service_fields", ()):
        if name in getattr(form, "cleaned_data", {}) and hasattr(shadow, name):
            setattr(shadow, name, form.cleaned_data[name])
    return shadow


def _add_step_problems(form, custody: Custody, step: str) -> list[dict]:
    """Every rule this step can already be checked against, added to the form at once; the warnings."""
    report = rules.step_report(custody, step, timezone.now())
    errors = {name: msgs for name, msgs in report.errors.items() if name not in form.errors}
    if errors:
        add_service_errors(form, errors)
    return report.warnings


def _form_step(request, custody: Custody, step: str):
    user = request.user
    form_class = STEP_FORMS[step]
    step_warnings: list[dict] = []
    if request.method == "POST":
        form = form_class(request.POST)
    else:
        form = form_class(initial=_initial(custody, form_class))
    if request.method == "POST" and form.is_valid():
        saved = _save_step(
            request,
            form,
            custody,
            lambda: services.update_custody(
                user, custody.pk, form.service_data(), expected_version=form.cleaned_data.get("version")
            ),
        )
        if saved is not None:
            custody = saved
            data = form.data.copy()
            data["version"] = saved.version
            form.data = data
            step_warnings = _add_step_problems(form, saved, step)
            if not form.errors or request.POST.get("nav") == "save":
                for warning in step_warnings:
                    messages.warning(request, warning["message"])
                return _after_save(request, saved, step)
            messages.info(
                request, _("Draft %(no)s saved. Fix these before going on.") % {"no": saved.custody_no}
            )
        else:
            # The service refused a field (a future incident, say): show the step's other rules too.
            step_warnings = _add_step_problems(form, _shadow(custody, form), step)
    elif request.method == "POST":
        # Show the rule errors of this step together with the form's own, not one round later.
        step_warnings = _add_step_problems(form, _shadow(custody, form), step)
    extra = {"form": form, "step_warnings": step_warnings}
    if step == "replacement":
        extra["replacement_expected"] = rules.REPLACEMENT_EXPECTED
        if form.is_bound:
            start = form.cleaned_data.get("effective_from") if hasattr(form, "cleaned_data") else None
            end = form.cleaned_data.get("expected_return_at") if hasattr(form, "cleaned_data") else None
            until = bool(form.data.get("until_original_ready"))
            selected = form.data.get("replacement_vehicle_id", "")
        else:
            start, end = custody.effective_from, custody.expected_return_at
            until, selected = custody.until_original_ready, custody.replacement_vehicle_id
        extra.update(
            _replacement_context(user, custody, start or custody.effective_from, end, until, selected)
        )
    if step == "reason":
        reason_of = {code: reason for reason, codes in SUBCODES_BY_REASON.items() for code in codes}
        extra["subcode_options"] = [
            (value, label, reason_of.get(value, "")) for value, label in ReasonSubcode.choices
        ]
    if step == "custodian":
        extra["customer"] = custody.customer
    if step == "rate":
        extra["insurance_open"] = any(form[name].value() for name in form.insurance_fields) or any(
            name in form.errors for name in form.insurance_fields
        )
    context = _wizard_context(request, custody, step, **extra)
    return render(request, "custodies/wizard.html", context, status=422 if form.is_bound else 200)


def _review_step(request, custody: Custody):
    user = request.user
    errors: dict = {}
    warnings: list = []
    submit_error = None
    if request.method == "POST":
        try:
            result = services.submit_custody(
                user, custody.pk, expected_version=request.POST.get("version") or None
            )
        except ValidationFailed as exc:
            submit_error = exc.message
        except (Conflict, InvalidTransition) as exc:
            submit_error = exc.message
        else:
            _announce(request, "submit", result)
            return redirect("custodies:detail", pk=custody.pk)
        custody = _get_custody(request, custody.pk)
    report = rules.check_submission(custody, timezone.now())
    errors, warnings = report.errors, report.warnings
    next_needs = rules.next_stage_needs(custody)
    error_rows = [
        {"field": name, "messages": msgs, "url": _step_url(custody, FIELD_STEPS.get(name, "agreement"))}
        for name, msgs in errors.items()
    ]
    context = _wizard_context(
        request,
        custody,
        "review",
        groups=overview_groups(custody),
        error_rows=error_rows,
        warnings=warnings,
        next_needs=next_needs,
        submit_error=submit_error,
        may_submit="submit" in services.allowed_actions(user, custody),
    )
    _with_documents(context, user, custody)
    return render(request, "custodies/wizard.html", context, status=422 if submit_error else 200)


def _documents_step(request, custody: Custody):
    if request.method == "POST":
        return redirect(_step_url(custody, "review"))
    context = _wizard_context(request, custody, "documents", sign_next=_step_url(custody, "documents"))
    _with_documents(context, request.user, custody)
    return render(request, "custodies/wizard.html", context)


@login_required
def wizard_new(request):
    permissions.require(request.user, "custody.create")
    current = switches.state()
    if not current.new_custodies_enabled and not current.maintenance_mode:
        messages.warning(request, switches.new_custodies_reason())
        return redirect("custodies:list")
    return _agreement_step(request, None)


@login_required
def wizard_step(request, pk, step):
    if step not in STEP_NAMES:
        raise Http404
    custody = _get_custody(request, pk)
    if custody.status != CustodyStatus.DRAFT:
        messages.info(
            request,
            _("%(no)s is no longer a draft, so it cannot be edited in the wizard.")
            % {"no": custody.custody_no},
        )
        return redirect("custodies:detail", pk=custody.pk)
    permissions.require(request.user, "custody.edit", custody)
    if step == "agreement":
        return _agreement_step(request, custody)
    if step == "documents":
        return _documents_step(request, custody)
    if step == "review":
        return _review_step(request, custody)
    return _form_step(request, custody, step)


@login_required
@require_GET
def wizard_replacements(request, pk):
    """The replacement picker for the period typed so far (HTMX)."""
    custody = _get_custody(request, pk)
    form = ReplacementStepForm(request.GET)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    start = cleaned.get("effective_from") or custody.effective_from
    end = cleaned.get("expected_return_at")
    until = bool(request.GET.get("until_original_ready"))
    context = {
        "custody": custody,
        **_replacement_context(
            request.user, custody, start, end, until, request.GET.get("replacement_vehicle_id", "")
        ),
    }
    return render(request, "custodies/wizard/_replacement_options.html", context)


# ---- detail --------------------------------------------------------------------------------------


def _timeline(custody: Custody) -> list[dict]:
    """Real events in time order, in words: audit entries of the custody plus approval decisions."""
    events = []
    entries = (
        AuditEntry.objects.filter(custody_id=custody.pk)
        .exclude(action="approval.decided")
        .select_related("actor")
        .order_by("id")
    )
    for entry in audit_present.present(entries[:500]):
        events.append(
            {
                "at": entry.at,
                "seq": entry.id,
                "actor": entry.actor,
                "title": entry.title,
                "action": entry.action,
                "subject": _timeline_subject(entry),
                # A new record's every value is on the audit tab; the timeline lists what changed.
                "changes": [] if entry.created or entry.action == "custody.created" else entry.changes,
                "detail": entry.message if entry.message != custody.custody_no else "",
                "colour": display.event_colour(entry.action),
            }
        )
    events.extend(hooks.approvals.timeline(custody))
    events.sort(key=lambda e: (e["at"], e["seq"]))
    return events


def _timeline_subject(entry) -> str:
    """What the entry is about when it is not the custody itself (a vehicle, a charge, a document)."""
    if entry.action.startswith("custody."):
        return ""
    return entry.object_repr


def _vehicle_cards(custody: Custody) -> list[dict]:
    cards = []
    original = custody.original_vehicle
    cards.append(
        {
            "title": _("Original vehicle"),
            "vehicle": original,
            "readings": [
                (_("Odometer at incident"), custody.incident_odometer_km, "km"),
            ],
            "km_driven": None,
        }
    )
    replacement = custody.replacement_vehicle
    km_driven = None
    if custody.return_odometer_km is not None and custody.handover_odometer_km is not None:
        km_driven = custody.return_odometer_km - custody.handover_odometer_km
    cards.append(
        {
            "title": _("Replacement vehicle"),
            "vehicle": replacement,
            "readings": [
                (_("Odometer at handover"), custody.handover_odometer_km, "km"),
                (_("Fuel at handover"), _fuel(custody.handover_fuel_level), ""),
                (_("Odometer at return"), custody.return_odometer_km, "km"),
                (_("Fuel at return"), _fuel(custody.return_fuel_level), ""),
            ],
            "km_driven": km_driven,
            "handover_notes": custody.handover_notes,
            "return_notes": custody.return_notes,
        }
    )
    return cards


def _fuel(level):
    if level is None:
        return None
    return dict(FUEL_CHOICES).get(level, level)


def _audit_entries(request, custody: Custody):
    qs = filter_entries(AuditEntry.objects.filter(custody_id=custody.pk).select_related("actor"), request.GET)
    params = request.GET.copy()
    params.pop("ordering", None)
    try:
        page = paginate(
            qs,
            params=params,
            path=reverse("custodies:audit", args=[custody.pk]),
            allowed_orderings={"id"},
            default_ordering="-id",
        )
    except ValidationFailed:
        return None
    page.items = audit_present.present(page.items)
    return page


def _action_form(action: str, custody: Custody, data=None, vehicles=()):
    form_class = ACTION_FORMS[action]
    now = timezone.localtime().replace(second=0, microsecond=0)
    if action == "handover":
        replacement = custody.replacement_vehicle
        # Readings are typed once, on the handover condition page; the dialog starts from them.
        odometer, fuel = hooks.documents.readings(custody, "handover")
        initial = {
            "replacement_vehicle_id": str(custody.replacement_vehicle_id or ""),
            "handed_over_at": now,
            "odometer_km": odometer
            if odometer is not None
            else (replacement.odometer_km if replacement else None),
            "fuel_level": fuel if fuel is not None else (replacement.fuel_level if replacement else None),
        }
        return HandoverForm(data, initial=initial, vehicles=vehicles)
    if action == "close":
        odometer, fuel = hooks.documents.readings(custody, "return")
        return form_class(data, initial={"returned_at": now, "odometer_km": odometer, "fuel_level": fuel})
    if action == "submit":
        return form_class(data, initial={"version": custody.version})
    return form_class(data)


def _handover_vehicles(user, custody: Custody) -> list:
    vehicles = replacement_options(
        user,
        custody,
        custody.effective_from,
        None if custody.until_original_ready else custody.expected_return_at,
    )
    if custody.replacement_vehicle_id and all(v.pk != custody.replacement_vehicle_id for v in vehicles):
        vehicles.insert(0, custody.replacement_vehicle)
    return vehicles


# ---- detail tabs: each tab's context is built only when that tab is shown --------------------------


def _overview_tab(request, custody: Custody, now) -> dict:
    return {"groups": overview_groups(custody), "records": _record_groups(custody)}


def _timeline_tab(request, custody: Custody, now) -> dict:
    return {"timeline": _timeline(custody)}


def _vehicles_tab(request, custody: Custody, now) -> dict:
    return {"vehicle_cards": _vehicle_cards(custody)}


def _documents_tab(request, custody: Custody, now) -> dict:
    return _with_documents({}, request.user, custody)


def _approvals_tab(request, custody: Custody, now) -> dict:
    return {"rounds": hooks.approvals.rounds(custody, now)}


def _notifications_tab(request, custody: Custody, now) -> dict:
    notifications = custody.notifications.select_related("user").order_by("-created_at")[:100]
    return {"custody_notifications": list(notifications)}


def _audit_tab(request, custody: Custody, now) -> dict:
    return {
        "audit_page": _audit_entries(request, custody),
        "audit_actions": audit_present.action_choices(audit_present.CUSTODY_ACTION_PREFIXES),
    }


@dataclass(frozen=True)
class DetailTab:
    """A tab of the detail page: its title, the partial that renders it and the context that partial reads.

    Only the open tab (?tab=) is rendered with the page; every other one loads its partial when it is
    first shown (custody_tab). A tab without a template belongs to an app above this one, which serves
    it at `served_by` (a URL name taking the custody's id).
    """

    title: str
    template: str | None = None
    context: Callable[..., dict] | None = None
    served_by: str | None = None

    def url(self, custody: Custody, name: str) -> str:
        if self.served_by:
            return reverse(self.served_by, args=[custody.pk])
        return reverse("custodies:tab", args=[custody.pk, name])

    def context_for(self, request, custody: Custody, now) -> dict:
        """What the tab's partial reads (the page and custody_tab both take it from here)."""
        return {"custody": custody, **(self.context(request, custody, now) if self.context else {})}


# The detail page's tabs in their order, by the name in ?tab=.
DETAIL_TABS = {
    "overview": DetailTab(gettext_lazy("Overview"), "custodies/detail/_overview.html", _overview_tab),
    "timeline": DetailTab(gettext_lazy("Timeline"), "custodies/detail/_timeline.html", _timeline_tab),
    "vehicles": DetailTab(gettext_lazy("Vehicles"), "custodies/detail/_vehicles.html", _vehicles_tab),
    "documents": DetailTab(gettext_lazy("Documents"), "documents/_panel.html", _documents_tab),
    "charges": DetailTab(gettext_lazy("Charges & payments"), served_by="billing:custody_tab"),
    "approvals": DetailTab(gettext_lazy("Approvals"), "approvals/_custody_rounds.html", _approvals_tab),
    "notifications": DetailTab(
        gettext_lazy("Notifications"), "custodies/detail/_notifications.html", _notifications_tab
    ),
    "audit": DetailTab(gettext_lazy("Audit"), "custodies/detail/_audit_tab.html", _audit_tab),
}


def _tab_panes(request, custody: Custody, active: str) -> list[dict]:
    """The tab bar and its panes: the open one rendered here, the others loaded when first shown."""
    page_url = reverse("custodies:detail", args=[custody.pk])
    # The page's other parameters (the audit filters) go along to a tab that loads later.
    query = request.GET.copy()
    query.pop("tab", None)
    carried = f"?{query.urlencode()}" if query else ""
    panes = []
    for name, tab in DETAIL_TABS.items():
        rendered = name == active and tab.template is not None
        panes.append(
            {
                "name": name,
                "title": str(tab.title),
                "active": name == active,
                "template": tab.template if rendered else None,
                "url": tab.url(custody, name) + ("" if tab.served_by else carried),
                "page_url": f"{page_url}?tab={name}",
                "fallback": tab.served_by is None,
            }
        )
    return panes


def _render_detail(
    request, custody: Custody, *, bound_action=None, bound_form=None, status=200, error=None, warnings=None
):
    user = request.user
    now = timezone.now()
    allowed = services.allowed_actions(user, custody)
    modal_actions = [a for a in allowed if a in ACTION_FORMS]
    vehicles = _handover_vehicles(user, custody) if "handover" in modal_actions else []
    actions = []
    for action in modal_actions:
        form = bound_form if action == bound_action else _action_form(action, custody, vehicles=vehicles)
        transition = transition_for(custody.status, action)
        label = _("Close custody") if action == "close" else (transition.label if transition else action)
        actions.append(
            {
                "name": action,
                "label": label,
                "form": form,
                "colour": ACTION_BUTTONS.get(action, "outline-secondary"),
                "open": action == bound_action,
                "url": reverse("custodies:action", args=[custody.pk, action]),
            }
        )
    sla_badges = []
    for view in sla.all_views(custody, now):
        badge = display.sla_badge(view)
        if badge:
            sla_badges.append(badge)
    tab = request.GET.get("tab", "overview")
    if tab not in DETAIL_TABS:
        tab = "overview"
    context = {
        "custody": custody,
        "status_colour": display.status_colour(custody.status),
        "sla_badges": sla_badges,
        "actions": actions,
        "may_edit": "edit" in allowed,
        "error": error,
        "warnings": warnings or [],
        "tab": tab,
        "panes": _tab_panes(request, custody, tab),
        "blocking_charges": hooks.billing.blocking_drafts(custody) if "close" in allowed else [],
    }
    for key, value in DETAIL_TABS[tab].context_for(request, custody, now).items():
        context.setdefault(key, value)
    return render(request, "custodies/detail.html", context, status=status)


@login_required
@require_GET
def custody_detail(request, pk):
    return _render_detail(request, _get_custody(request, pk))


@login_required
@require_GET
def custody_tab(request, pk, name):
    """One tab of the detail page, loaded when it is first shown (HTMX); the same branch scope as the page."""
    tab = DETAIL_TABS.get(name)
    if tab is None or tab.template is None:
        raise Http404
    custody = _get_custody(request, pk)
    return render(request, tab.template, tab.context_for(request, custody, timezone.now()))


@login_required
@require_GET
def custody_audit(request, pk):
    custody = _get_custody(request, pk)
    if request.GET.get("format") == "csv":
        qs = filter_entries(AuditEntry.objects.filter(custody_id=custody.pk), request.GET).order_by("id")
        return csv_response(qs, f"{custody.custody_no}-audit.csv")
    if request.htmx:
        return render(
            request,
            "custodies/detail/_audit.html",
            {"custody": custody, "audit_page": _audit_entries(request, custody)},
        )
    query = request.GET.copy()
    query["tab"] = "audit"
    return redirect(f"{reverse('custodies:detail', args=[custody.pk])}?{query.urlencode()}")


def _announce(request, action: str, result) -> None:
    custody = result.custody
    messages.success(request, str(ACTION_DONE[action]) % {"no": custody.custody_no})
    if action == "submit" and custody.status == CustodyStatus.APPROVED:
        messages.info(request, _("It was approved automatically by the approval rules."))
    for warning in result.warnings or []:
        messages.warning(request, warning.get("message", ""))


def _run_action(user, custody: Custody, action: str, form):
    data = form.cleaned_data
    if action == "submit":
        return services.submit_custody(user, custody.pk, expected_version=data.get("version"))
    if action == "approve":
        return services.approve_custody(user, custody.pk, notes=data.get("notes", ""))
    if action == "reject":
        return services.reject_custody(user, custody.pk, data.get("reason", ""))
    if action == "void":
        return services.void_custody(user, custody.pk, data.get("reason", ""))
    if action == "handover":
        return services.hand_over_custody(user, custody.pk, form.service_data())
    if action == "close":
        data = form.service_data()
        returned_at, handed_over_at = data.get("returned_at"), custody.handed_over_at
        if (
            returned_at
            and handed_over_at
            and handed_over_at.replace(second=0, microsecond=0) <= returned_at < handed_over_at
        ):
            # The page asks for minutes: "returned in the minute it was handed over" is not before it.
            data["returned_at"] = handed_over_at
        return services.close_custody(user, custody.pk, data)
    raise Http404


@login_required
@require_POST
def custody_action(request, pk, action):
    if action not in ACTION_FORMS:
        raise Http404
    user = request.user
    custody = _get_custody(request, pk)
    if action not in services.allowed_actions(user, custody):
        if transition_for(custody.status, action) is None:
            return _render_detail(
                request,
                custody,
                status=409,
                error=state_refusal(custody, action),
            )
        raise PermissionDenied(role_refusal(action))
    vehicles = _handover_vehicles(user, custody) if action == "handover" else []
    form = _action_form(action, custody, data=request.POST, vehicles=vehicles)
    if not form.is_valid():
        return _render_detail(request, custody, bound_action=action, bound_form=form, status=422)
    try:
        result = _run_action(user, custody, action, form)
    except ValidationFailed as exc:
        add_service_errors(form, exc.details, exc.message)
        warnings = exc.details.get("warnings") if isinstance(exc.details, dict) else None
        return _render_detail(
            request,
            _get_custody(request, pk),
            bound_action=action,
            bound_form=form,
            status=422,
            warnings=warnings,
        )
    except (InvalidTransition, Conflict) as exc:
        return _render_detail(request, _get_custody(request, pk), status=409, error=exc.message)
    _announce(request, action, result)
    return redirect("custodies:detail", pk=custody.pk)

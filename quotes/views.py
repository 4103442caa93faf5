"""Quote pages (DESIGN §16): list, editor with live totals, cost sheet beside the lines, approvals, sending.

Views parse input and call quotes.services; every figure on a page comes from quotes.pricing (through
the services), the same formula the API and the PDF use.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from audit.models import AuditEntry
from billing.money import default_tax_rate
from core.errors import DomainError
from core.exports import ExportColumn, export_list
from core.pagination import page_for_request
from fleet import selectors as fleet_selectors
from fleet.choices import VehicleStatus
from fleet.models import Customer

from . import pdf, pricing, selectors, services
from .choices import COST_SHEET_COLOURS, QUOTE_COLOURS, QuoteStatus
from .forms import LineFormSet, QuoteFilterForm, QuoteHeaderForm
from .models import CostSheet, CostSheetLine, Quote, QuoteLine
from .transitions import COST_SHEET_TRANSITIONS, QUOTE_TRANSITIONS

QUOTE_EXPORT = [
    ExportColumn(gettext_lazy("Quote no."), lambda q: q.quote_no),
    ExportColumn(gettext_lazy("Status"), lambda q: q.get_status_display()),
    ExportColumn(gettext_lazy("Customer"), lambda q: q.customer.full_name),
    ExportColumn(gettext_lazy("Customer no."), lambda q: q.customer.customer_no),
    ExportColumn(gettext_lazy("Branch"), lambda q: q.branch.code),
    ExportColumn(gettext_lazy("Valid until"), lambda q: q.valid_until),
    ExportColumn(gettext_lazy("Subtotal"), lambda q: q.subtotal),
    ExportColumn(gettext_lazy("VAT"), lambda q: q.vat_amount),
    ExportColumn(gettext_lazy("Total"), lambda q: q.total),
    ExportColumn(gettext_lazy("Created"), lambda q: timezone.localtime(q.created_at)),
]
LIST_COLUMNS = [
    ("quote_no", gettext_lazy("Quote no."), ""),
    ("status", gettext_lazy("Status"), ""),
    ("", gettext_lazy("Customer"), ""),
    ("", gettext_lazy("Branch"), "d-none d-lg-table-cell"),
    ("valid_until", gettext_lazy("Valid until"), ""),
    ("total", gettext_lazy("Total / month"), "text-end"),
    ("created_at", gettext_lazy("Created"), "d-none d-md-table-cell"),
]
ACTION_DONE = {
    "submit": gettext_lazy("%(no)s was submitted for approval."),
    "approve": gettext_lazy("You approved %(no)s."),
    "reject": gettext_lazy("You rejected %(no)s; it is back in draft."),
    "send": gettext_lazy("%(no)s is on its way to the customer."),
}


def _quote(request, pk) -> Quote:
    return get_object_or_404(selectors.quotes_for(request.user), pk=pk)


def _show_errors(request, exc) -> None:
    if isinstance(exc, DomainError):
        for message in exc.messages():
            messages.error(request, message)
    else:
        messages.error(request, str(exc) or _("You may not do this."))


# ---- list ---------------------------------------------------------------------------------------------


def _customers_with_quotes(user):
    ids = selectors.quotes_for(user).values("customer_id")
    return list(
        Customer.objects.filter(pk__in=ids).order_by("full_name").values_list("pk", "full_name")[:300]
    )


def quote_filter_form(user, data) -> QuoteFilterForm:
    """The quotes list's filter form: the page's, and what a saved filter may hold (accounts.lists)."""
    branches = list(fleet_selectors.branches_for(user).order_by("code"))
    return QuoteFilterForm(data, branches=branches, customers=_customers_with_quotes(user))


@login_required
@require_GET
def quote_list(request):
    user = request.user
    form = quote_filter_form(user, request.GET)
    page, error = None, None
    if form.is_valid():
        cd = form.cleaned_data
        filters = selectors.QuoteFilters(
            status=cd["status"],
            customer_id=cd["customer_id"] or None,
            branch_id=cd["branch_id"] or None,
            valid_from=cd["valid_from"],
            valid_to=cd["valid_to"],
            q=cd["q"] or None,
        )
        qs = selectors.filter_quotes(selectors.quotes_for(user), filters)
        if request.GET.get("format") in ("csv", "xlsx"):
            return export_list(
                request,
                qs.order_by("-created_at"),
                "quotes.views.QUOTE_EXPORT",
                "quotes",
                request.GET["format"],
            )
        page, error = page_for_request(
            request, qs, allowed_orderings=selectors.LIST_ORDERINGS, default_ordering="-created_at"
        )
    else:
        error = _("Some filters are not valid.")
    rows = [
        {"quote": q, "colour": QUOTE_COLOURS.get(q.status, "secondary")} for q in (page.items if page else [])
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "error": error,
        "columns": LIST_COLUMNS,
        "ordering": page.ordering if page else "-created_at",
        "filtered": any(v for k, v in request.GET.items() if k not in ("ordering", "page", "limit")),
        "may_create": permissions.may(user, "quote.create"),
    }
    template = "quotes/_list_results.html" if request.htmx else "quotes/list.html"
    return render(request, template, context)


# ---- new ---------------------------------------------------------------------------------------------


def _header_form(request, data=None, initial=None):
    customers = fleet_selectors.customers_for(request.user).filter(active=True).order_by("full_name")[:500]
    branches = fleet_selectors.branches_for(request.user).filter(active=True).order_by("code")
    return QuoteHeaderForm(data, initial=initial, customers=customers, branches=branches)


@login_required
@require_http_methods(["GET", "POST"])
def quote_new(request):
    permissions.require(request.user, "quote.create")
    initial = {
        "valid_until": timezone.localdate() + timedelta(days=30),
        "vat_rate": default_tax_rate(),
        "branch_id": request.session.get("branch_id", ""),
        "customer_id": request.GET.get("customer_id", ""),
    }
    form = _header_form(request, request.POST or None, initial)
    if request.method == "POST" and form.is_valid():
        try:
            quote = services.create_quote(request.user, form.cleaned_data)
        except DomainError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Quote %(no)s created; add its lines.") % {"no": quote.quote_no})
            return redirect("quotes:detail", quote.pk)
    return render(request, "quotes/new.html", {"form": form})


def _add_errors(form, exc: DomainError) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, errors in details.items():
        if name in form.fields and isinstance(errors, list):
            for error in errors:
                form.add_error(name, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# ---- the editor ---------------------------------------------------------------------------------------


def _line_choices(user, quote):
    classes = list(fleet_selectors.vehicle_classes().order_by("code"))
    vehicles = list(
        fleet_selectors.vehicles_for(user)
        .filter(branch_id=quote.branch_id)
        .order_by("plate")
        .only("pk", "plate", "make", "model", "vehicle_class_id", "branch_id")[:300]
    )
    return classes, vehicles


def _line_initial(line: QuoteLine) -> dict:
    return {
        "id": str(line.pk),
        "vehicle_class_id": str(line.vehicle_class_id or ""),
        "vehicle_id": str(line.vehicle_id or ""),
        "description": line.description,
        "quantity": line.quantity,
        "term_months": line.term_months,
        "monthly_rate": line.monthly_rate,
        "maintenance_included": line.maintenance_included,
        "roadside_included": line.roadside_included,
        "replacement_included": line.replacement_included,
        "line_total": line.line_total,
    }


def _formset(request, quote, data=None):
    classes, vehicles = _line_choices(request.user, quote)
    initial = [_line_initial(line) for line in quote.lines.all()] if data is None else None
    return LineFormSet(
        data, initial=initial, prefix="lines", form_kwargs={"classes": classes, "vehicles": vehicles}
    )


def _lines_from(formset) -> list[dict]:
    lines = []
    for form in formset.forms:
        if not form.has_changed() and not form.cleaned_data.get("id"):
            continue
        if form.cleaned_data.get("DELETE"):
            continue
        data = {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
        if not data.get("id"):
            data.pop("id", None)
        lines.append(data)
    return lines


def _sheet_context(user, quote, sheet, rows=None) -> dict:
    if sheet is None:
        return {"sheet": None}
    rows = rows if rows is not None else services.sheet_rows(sheet)
    summary = services.sheet_summary(rows)
    lowest = next((r for r in rows if r.quote_line_id == summary.lowest_margin_line), None)
    return {
        "sheet": sheet,
        "sheet_rows": rows,
        "summary": summary,
        "lowest_row": lowest,
        "summary_colour": pricing.margin_colour(summary.average_margin_pct, sheet.target_margin_pct),
        "sheet_colour": COST_SHEET_COLOURS.get(sheet.status, "secondary"),
        "sheet_actions": [
            (a, COST_SHEET_TRANSITIONS[(sheet.status, a)].label)
            for a in services.allowed_sheet_actions(user, sheet)
            if a != "edit"
        ],
        "sheet_editable": "edit" in services.allowed_sheet_actions(user, sheet),
        "warnings": [r for r in rows if r.warning],
    }


def _detail_context(request, quote, formset=None, header=None) -> dict:
    user = request.user
    actions = services.allowed_quote_actions(user, quote)
    editable = "edit" in actions
    sheet = services.current_sheet(quote)
    context = {
        "quote": quote,
        "colour": QUOTE_COLOURS.get(quote.status, "secondary"),
        "lines": list(quote.lines.select_related("vehicle_class", "vehicle").prefetch_related("assignments")),
        "actions": [
            (a, QUOTE_TRANSITIONS[(quote.status, a)].label) for a in actions if a not in ("edit", "convert")
        ],
        "editable": editable,
        "may_convert": "convert" in actions,
        "may_new_sheet": quote.status == QuoteStatus.DRAFT
        and permissions.can(user, "cost_sheet.edit", quote)
        and quote.lines.exists(),
        "sheets": list(quote.cost_sheets.order_by("-version")),
        "audit": list(AuditEntry.objects.filter(object_id__in=[str(quote.pk)]).order_by("-id")[:30]),
        "corporate": quote.customer.kind == "company",
    }
    context.update(_sheet_context(user, quote, sheet))
    if editable:
        context["formset"] = formset or _formset(request, quote)
        context["header"] = header or _header_form(
            request,
            initial={
                "customer_id": str(quote.customer_id),
                "branch_id": str(quote.branch_id),
                "valid_until": quote.valid_until,
                "vat_rate": quote.vat_rate,
                "notes": quote.notes,
            },
        )
    if context["may_convert"]:
        context["conversion"] = _conversion_rows(user, context["lines"])
    return context


def _conversion_rows(user, lines) -> list[dict]:
    rows = []
    for line in lines:
        assigned = list(line.assignments.select_related("vehicle", "agreement"))
        choices = []
        if not line.vehicle_id:
            choices = list(
                fleet_selectors.vehicles_for(user)
                .filter(vehicle_class_id=line.vehicle_class_id, status=VehicleStatus.AVAILABLE)
                .order_by("plate")[:200]
            )
            for a in assigned:
                if a.vehicle not in choices:
                    choices.append(a.vehicle)
        rows.append(
            {
                "line": line,
                "assigned": assigned,
                "choices": choices,
                "assigned_ids": {a.vehicle_id for a in assigned},
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def quote_detail(request, pk):
    quote = _quote(request, pk)
    if request.method == "POST":
        return _save_editor(request, quote)
    return render(request, "quotes/detail.html", _detail_context(request, quote))


def _save_editor(request, quote):
    header = _header_form(request, request.POST)
    formset = _formset(request, quote, request.POST)
    if header.is_valid() and formset.is_valid():
        data = {**header.cleaned_data, "lines": _lines_from(formset)}
        try:
            services.update_quote(
                request.user, quote.pk, data, expected_version=request.POST.get("version") or None
            )
        except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
            _show_errors(request, exc)
        else:
            messages.success(request, _("Saved %(no)s.") % {"no": quote.quote_no})
            return redirect("quotes:detail", quote.pk)
    else:
        messages.error(request, _("Check the highlighted fields."))
    quote = _quote(request, quote.pk)
    return render(request, "quotes/detail.html", _detail_context(request, quote, formset, header), status=400)


@login_required
@require_POST
def quote_preview(request, pk):
    """Live totals while the lines are edited: the same pricing as saving, nothing stored."""
    quote = _quote(request, pk)
    formset = _formset(request, quote, request.POST)
    rows, vat = [], quote.vat_rate
    try:
        vat = Decimal(request.POST.get("vat_rate") or quote.vat_rate)
        if not Decimal(0) <= vat <= Decimal(100):
            vat = quote.vat_rate
    except ArithmeticError:
        vat = quote.vat_rate
    for form in formset.forms:
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        if data.get("DELETE"):
            rows.append(None)  # keep the index: line-total-N is the N-th row of the form
            continue
        quantity, rate = data.get("quantity"), data.get("monthly_rate")
        if quantity and rate is not None:
            rows.append(pricing.line_total(quantity, rate))
        else:
            rows.append(None)
    totals = pricing.quote_totals([r for r in rows if r is not None], vat)
    return render(
        request, "quotes/_totals.html", {"line_totals": rows, "totals": totals, "vat_rate": vat, "live": True}
    )


@login_required
@require_POST
def quote_action(request, pk, action):
    quote = _quote(request, pk)
    user = request.user
    version = request.POST.get("version") or None
    try:
        if action == "submit":
            services.submit_quote(user, quote.pk, version)
        elif action == "approve":
            services.approve_quote(user, quote.pk, request.POST.get("notes", ""), version)
        elif action == "reject":
            services.reject_quote(user, quote.pk, request.POST.get("reason", ""), version)
        elif action == "send":
            services.send_quote(user, quote.pk, request.POST.get("email", ""), version)
        else:
            raise Http404
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(request, ACTION_DONE[action] % {"no": quote.quote_no})
    if request.POST.get("next") == "approvals":
        return redirect("approvals:inbox")
    return redirect("quotes:detail", quote.pk)


# ---- cost sheets ----------------------------------------------------------------------------------------


def _sheet_input(request, sheet) -> dict:
    data = {name: request.POST.get(name, "") for name in services.SHEET_PERCENTS}
    lines = []
    for line in sheet.lines.all():
        key = str(line.quote_line_id)
        values = {"quote_line_id": key}
        for name in services.COST_FIELDS:
            values[name] = request.POST.get(f"{name}-{key}", "")
        lines.append(values)
    data["lines"] = lines
    return data


@login_required
@require_POST
def sheet_new(request, pk):
    quote = _quote(request, pk)
    try:
        services.create_cost_sheet(request.user, {"quote_id": quote.pk})
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(request, _("A new cost sheet version was started from the default cost elements."))
    return redirect(reverse("quotes:detail", args=[quote.pk]) + "#cost-sheet")


def _sheet(request, pk) -> CostSheet:
    return get_object_or_404(selectors.cost_sheets_for(request.user), pk=pk)


@login_required
@require_POST
def sheet_preview(request, pk):
    """Live recalculation of an edited sheet: the pricing module on the typed values, nothing stored."""
    sheet = _sheet(request, pk)
    errors: dict = {}
    values = services._sheet_values(
        request.POST, errors, {n: getattr(sheet, n) for n in services.SHEET_PERCENTS}
    )
    for name, value in values.items():
        setattr(sheet, name, value)
    quote_lines = {str(q.pk): q for q in QuoteLine.objects.filter(quote_id=sheet.quote_id)}
    rows = []
    for line in sheet.lines.all():
        key = str(line.quote_line_id)
        for name in services.COST_FIELDS:
            number = services._decimal(request.POST.get(f"{name}-{key}", getattr(line, name)), name, errors)
            setattr(line, name, number if number is not None else getattr(line, name))
        rows.append(line)
    sheet_rows = _rows_for(sheet, rows, quote_lines)
    context = {
        "quote": sheet.quote,
        **_sheet_context(request.user, sheet.quote, sheet, sheet_rows),
        "live": True,
    }
    return render(request, "quotes/_sheet_figures.html", context)


def _rows_for(sheet, lines: list[CostSheetLine], quote_lines) -> list:
    rows = []
    for line in lines:
        cost = services.line_cost_of(sheet, line)
        quote_line = quote_lines.get(str(line.quote_line_id))
        quoted = quote_line.monthly_rate if quote_line is not None else Decimal("0.00")
        margin = pricing.margin_pct(quoted, cost.total_monthly_cost)
        rows.append(
            services.SheetRow(
                line=line,
                quote_line_id=line.quote_line_id,
                cost=cost,
                quoted_rate=quoted,
                actual_margin_pct=margin,
                colour=pricing.margin_colour(margin, sheet.target_margin_pct),
                warning=pricing.margin_warning(margin),
            )
        )
    return rows


@login_required
@require_POST
def sheet_save(request, pk):
    sheet = _sheet(request, pk)
    try:
        services.update_cost_sheet(
            request.user, sheet.pk, _sheet_input(request, sheet), request.POST.get("revision") or None
        )
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(request, _("Cost sheet saved."))
    return redirect(reverse("quotes:detail", args=[sheet.quote_id]) + "#cost-sheet")


@login_required
@require_POST
def sheet_action(request, pk, action):
    sheet = _sheet(request, pk)
    user = request.user
    done = {
        "submit": _("Cost sheet v%(n)s was submitted for approval."),
        "approve": _("You approved cost sheet v%(n)s."),
        "reject": _("You rejected cost sheet v%(n)s."),
        "apply": _("The suggested rates of v%(n)s are now the quote's rates."),
    }
    try:
        if action == "submit":
            services.submit_cost_sheet(user, sheet.pk)
        elif action == "approve":
            services.approve_cost_sheet(user, sheet.pk, request.POST.get("notes", ""))
        elif action == "reject":
            services.reject_cost_sheet(user, sheet.pk, request.POST.get("reason", ""))
        elif action == "apply":
            services.apply_cost_sheet(user, sheet.pk)
        else:
            raise Http404
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(request, done[action] % {"n": sheet.version})
    if request.POST.get("next") == "approvals":
        return redirect("approvals:inbox")
    return redirect(reverse("quotes:detail", args=[sheet.quote_id]) + "#cost-sheet")


# ---- documents: PDF and signature ---------------------------------------------------------------------------


@login_required
@require_GET
def quote_pdf(request, pk, language):
    if language not in ("en", "ar"):
        raise Http404
    quote = _quote(request, pk)
    response = HttpResponse(pdf.render_quote_pdf(quote, language), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.quote_no}-{language}.pdf"'
    return response


@login_required
@require_GET
def signature_image(request, pk):
    quote = _quote(request, pk)
    if not quote.signature_png:
        raise Http404
    response = HttpResponse(bytes(quote.signature_png), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


# ---- conversion into rental agreements ---------------------------------------------------------------------------


@login_required
@require_POST
def assign(request, pk, line_id):
    quote = _quote(request, pk)
    try:
        services.assign_vehicles(request.user, quote.pk, line_id, request.POST.getlist("vehicle_id"))
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(request, _("Vehicles assigned."))
    return redirect(reverse("quotes:detail", args=[quote.pk]) + "#conversion")


@login_required
@require_POST
def convert(request, pk):
    quote = _quote(request, pk)
    try:
        agreements = services.convert_quote(request.user, quote.pk)
    except DomainError as exc:  # a role that may not: PermissionDenied, a 403 as everywhere
        _show_errors(request, exc)
    else:
        messages.success(
            request,
            _("Created %(n)d rental agreements: %(list)s.")
            % {"n": len(agreements), "list": ", ".join(a.agreement_no for a in agreements)},
        )
    return redirect(reverse("quotes:detail", args=[quote.pk]) + "#conversion")

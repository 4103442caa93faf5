"""Charges & payments pages: the custody tab (HTMX), the finance list, the settlement PDF."""

from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import permissions
from core.errors import DomainError
from core.exports import ExportColumn, export_list
from core.pagination import page_for_request
from custodies.selectors import custodies_for
from fleet.selectors import branches_for

from . import rental, selectors, services
from .choices import BILLED_STATUSES, CHARGE_COLOURS, ChargeStatus, HoldStatus, Responsibility
from .forms import ChargeFilterForm, ChargeForm, HoldForm, PaymentForm
from .money import ZERO, default_tax_rate, vat_summary

RESPONSIBILITY_LABELS = dict(Responsibility.choices)


def _custody(request, custody_id):
    return get_object_or_404(custodies_for(request.user), pk=custody_id)


def tab_context(request, custody, **extra) -> dict:
    user = request.user
    charges = list(custody.charges.select_related("created_by", "posted_by").order_by("created_at"))
    for charge in charges:
        charge.colour = CHARGE_COLOURS.get(charge.status, "secondary")
        charge.may_edit = (
            charge.status == ChargeStatus.DRAFT
            and not charge.system_key
            and permissions.can(user, "charge.add", custody)
        )
        if charge.may_edit:
            charge.edit_form = ChargeForm(
                initial={
                    "charge_type": charge.charge_type,
                    "description": charge.description,
                    "quantity": charge.quantity,
                    "unit_price": charge.unit_price,
                    "tax_rate": charge.tax_rate,
                    "responsibility": charge.responsibility,
                },
                auto_id=f"edit-{charge.pk}-%s",
            )
        charge.may_void = (
            charge.status in (ChargeStatus.DRAFT, ChargeStatus.POSTED)
            and not (charge.system_key and charge.status == ChargeStatus.DRAFT)
            and (
                permissions.can(user, "charge.void", custody)
                or (charge.status == ChargeStatus.DRAFT and charge.created_by_id == user.pk)
            )
        )
    balance = services.balance(custody)
    return {
        "custody": custody,
        "charges": charges,
        "payments": list(custody.payments.select_related("recorded_by").order_by("received_at")),
        "holds": list(custody.damage_holds.order_by("created_at")),
        "balance": balance,
        "balance_rows": [
            (RESPONSIBILITY_LABELS.get(who, who), amounts)
            for who, amounts in balance.by_responsibility.items()
        ],
        "charge_form": extra.pop("charge_form", None) or ChargeForm(),
        "payment_form": extra.pop("payment_form", None) or PaymentForm(),
        "hold_form": extra.pop("hold_form", None) or HoldForm(),
        "may_add": permissions.can(user, "charge.add", custody) and custody.status != "voided",
        "may_post": permissions.can(user, "charge.post", custody)
        and custody.status not in ("draft", "voided"),
        "may_pay": permissions.can(user, "payment.record", custody)
        and custody.status not in ("draft", "voided"),
        "may_hold": permissions.can(user, "payment.record", custody) and not custody.is_terminal,
        "may_capture": permissions.can(user, "charge.post", custody),
        "held": HoldStatus.HELD,
        "has_drafts": any(c.status == ChargeStatus.DRAFT for c in charges),
        "default_tax_rate": default_tax_rate(),
        "pdf_url": reverse("billing:summary_pdf", args=[custody.pk]),
        "invoices": list(custody.invoices.order_by("issued_at", "invoice_no")),
        "may_invoice": permissions.can(user, "charge.invoice", custody)
        and any(
            c.status in (ChargeStatus.POSTED, ChargeStatus.PAID)
            and not c.invoice_ref
            and c.responsibility in services.INVOICED_PAYERS
            for c in charges
        ),
        **extra,
    }


def _render_tab(request, custody, status=200, **extra):
    custody.refresh_from_db()
    return render(request, "billing/_tab.html", tab_context(request, custody, **extra), status=status)


def _after_action(request, custody, error: str | None = None, **extra):
    """HTMX gets the refreshed tab; a plain form post goes back to the custody page."""
    if request.htmx:
        return _render_tab(request, custody, status=200, error=error, **extra)
    if error:
        messages.error(request, error)
    return redirect(reverse("custodies:detail", args=[custody.pk]) + "#charges")


def _error_text(exc: DomainError) -> str:
    return " ".join(exc.messages())


def _field_errors(form, exc: DomainError) -> bool:
    """Put a service's field errors on the form's fields; False when some are not about a field."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, errors in details.items():
        if name in form.fields and isinstance(errors, list | tuple):
            for error in errors:
                form.add_error(name, str(error))
            placed = True
    return placed


@login_required
def custody_tab(request, custody_id):
    return _render_tab(request, _custody(request, custody_id))


@login_required
@require_POST
def add_charge(request, custody_id):
    custody = _custody(request, custody_id)
    form = ChargeForm(request.POST)
    if not form.is_valid():
        return _after_action(request, custody, _("Check the charge fields."), charge_form=form)
    try:
        services.add_charge(request.user, custody.pk, form.cleaned_data)
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc), charge_form=form)
    return _after_action(request, custody)


@login_required
@require_POST
def edit_charge(request, custody_id, charge_id):
    custody = _custody(request, custody_id)
    charge = get_object_or_404(custody.charges, pk=charge_id)
    form = ChargeForm(request.POST)
    if not form.is_valid():
        return _after_action(request, custody, _("Check the charge fields."))
    try:
        services.update_charge(
            request.user,
            charge.pk,
            form.cleaned_data,
            expected_version=int(request.POST.get("version") or charge.version),
        )
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc))
    return _after_action(request, custody)


@login_required
@require_POST
def post_selected(request, custody_id):
    custody = _custody(request, custody_id)
    ids = request.POST.getlist("charge_id")
    if not ids:
        return _after_action(request, custody, _("Select the charges to post."))
    try:
        for charge_id in ids:
            services.post_charge(request.user, charge_id)
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc))
    return _after_action(request, custody)


@login_required
@require_POST
def void_charge(request, custody_id, charge_id):
    custody = _custody(request, custody_id)
    get_object_or_404(custody.charges, pk=charge_id)
    try:
        services.void_charge(request.user, charge_id, request.POST.get("reason", ""))
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc))
    return _after_action(request, custody)


@login_required
@require_POST
def record_payment(request, custody_id):
    custody = _custody(request, custody_id)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        return _after_action(request, custody, _("Check the payment fields."), payment_form=form)
    data = dict(form.cleaned_data)
    if data.pop("kind") == "refund":
        data["amount"] = -data["amount"]
    try:
        services.record_payment(request.user, custody.pk, data)
    except DomainError as exc:
        error = None if _field_errors(form, exc) else _error_text(exc)
        return _after_action(request, custody, error, payment_form=form, payment_open=True)
    return _after_action(request, custody)


@login_required
@require_POST
def issue_invoices(request, custody_id):
    custody = _custody(request, custody_id)
    payers = [p for p in request.POST.getlist("payer") if p]
    try:
        invoices = services.issue_invoices(request.user, custody.pk, payers or None)
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc))
    if not request.htmx:
        messages.success(
            request,
            _("Invoice issued: %(numbers)s.") % {"numbers": ", ".join(i.invoice_no for i in invoices)},
        )
    return _after_action(request, custody)


def _render_pdf(request, template: str, context: dict, filename: str) -> HttpResponse:
    from weasyprint import HTML

    from fleet.models import CompanyProfile

    context = {"company": CompanyProfile.current(), "generated_at": timezone.now(), **context}
    html = render_to_string(template, context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def invoice_pdf(request, invoice_id):
    """One payer's tax invoice (UAE VAT): seller with TRN, bill-to, lines with VAT, VAT summary."""
    invoice = get_object_or_404(selectors.invoices_for(request.user), pk=invoice_id)
    lines = list(invoice.charges.order_by("posted_at", "created_at"))
    paid = sum((c.amount_paid for c in lines), ZERO)
    return _render_pdf(
        request,
        "billing/pdf/invoice.html",
        {
            "invoice": invoice,
            "custody": invoice.custody,
            "lines": lines,
            "vat": vat_summary(lines),
            "paid": paid,
            "due": invoice.total - paid,
        },
        f"{invoice.invoice_no}.pdf",
    )


@login_required
@require_POST
def hold_action(request, custody_id, action, hold_id=None):
    custody = _custody(request, custody_id)
    try:
        if action == "record":
            form = HoldForm(request.POST)
            if not form.is_valid():
                return _after_action(request, custody, _("Check the hold amount."), hold_form=form)
            services.record_hold(
                request.user, custody.pk, form.cleaned_data["amount"], form.cleaned_data["reference"]
            )
        elif action == "capture":
            get_object_or_404(custody.damage_holds, pk=hold_id)
            services.capture_hold(request.user, hold_id, request.POST.get("amount") or None)
        elif action == "release":
            get_object_or_404(custody.damage_holds, pk=hold_id)
            services.release_hold(request.user, hold_id)
        else:
            raise PermissionDenied
    except DomainError as exc:
        return _after_action(request, custody, _error_text(exc))
    return _after_action(request, custody)


@login_required
def close_suggestions(request, custody_id):
    """HTMX partial for the close dialog: fuel/excess-km charges suggested from the readings typed so far."""
    custody = _custody(request, custody_id)
    suggestions = []
    try:
        odometer = int(request.GET.get("odometer_km") or 0) or None
        fuel = int(request.GET["fuel_level"]) if request.GET.get("fuel_level", "") != "" else None
        suggestions = rental.close_suggestions(custody, timezone.now(), odometer, fuel)
    except ValueError:
        pass
    # First load: everything suggested is ticked; on reloads keep what the user left ticked, and tick a
    # suggestion that was not shown before (the dialog opens without readings, so suggestions appear on
    # a reload once the user types them).
    reloaded = "suggestions_loaded" in request.GET
    keys = {s.key for s in suggestions}
    ticked = set(request.GET.getlist("accept_suggestions")) if reloaded else keys
    if reloaded and "suggestions_shown" in request.GET:
        ticked |= keys - set(request.GET["suggestions_shown"].split(","))
    return render(
        request,
        "billing/_close_suggestions.html",
        {"suggestions": suggestions, "ticked": ticked, "shown": ",".join(sorted(keys))},
    )


PAYMENT_EXPORT = [
    ExportColumn(gettext_lazy("Custody no."), lambda p: p.custody.custody_no),
    ExportColumn(gettext_lazy("Branch"), lambda p: p.custody.branch.code),
    ExportColumn(gettext_lazy("Customer"), lambda p: p.custody.customer.full_name, width=28),
    ExportColumn(gettext_lazy("Received"), lambda p: p.received_at, "datetime"),
    ExportColumn(gettext_lazy("Amount"), lambda p: p.amount, "money"),
    ExportColumn(gettext_lazy("Method"), lambda p: p.get_method_display()),
    ExportColumn(gettext_lazy("Payer"), lambda p: p.get_payer_display()),
    ExportColumn(gettext_lazy("Reference"), lambda p: p.reference),
    ExportColumn(gettext_lazy("Reason"), lambda p: p.reason, width=32),
    ExportColumn(gettext_lazy("Recorded by"), lambda p: p.recorded_by.full_name if p.recorded_by_id else ""),
]

CHARGE_EXPORT = [
    ExportColumn(gettext_lazy("Custody no."), lambda c: c.custody.custody_no),
    ExportColumn(gettext_lazy("Branch"), lambda c: c.custody.branch.code),
    ExportColumn(gettext_lazy("Customer"), lambda c: c.custody.customer.full_name, width=28),
    ExportColumn(gettext_lazy("Type"), lambda c: c.get_charge_type_display()),
    ExportColumn(gettext_lazy("Description"), lambda c: c.description_text, width=32),
    ExportColumn(gettext_lazy("Quantity"), lambda c: c.quantity, "number"),
    ExportColumn(gettext_lazy("Unit price"), lambda c: c.unit_price, "money"),
    ExportColumn(gettext_lazy("Tax %"), lambda c: c.tax_rate, "percent"),
    ExportColumn(gettext_lazy("Subtotal"), lambda c: c.subtotal, "money"),
    ExportColumn(gettext_lazy("Tax"), lambda c: c.tax_amount, "money"),
    ExportColumn(gettext_lazy("Total"), lambda c: c.total, "money"),
    ExportColumn(gettext_lazy("Paid"), lambda c: c.amount_paid, "money"),
    ExportColumn(gettext_lazy("Responsibility"), lambda c: c.get_responsibility_display()),
    ExportColumn(gettext_lazy("Status"), lambda c: c.get_status_display()),
    ExportColumn(gettext_lazy("Invoice reference"), lambda c: c.invoice_ref),
    ExportColumn(gettext_lazy("Created"), lambda c: c.created_at, "datetime"),
    ExportColumn(gettext_lazy("Posted"), lambda c: c.posted_at, "datetime"),
]


def charge_filter_form(user, data) -> ChargeFilterForm:
    """The charges list's filter form: the page's, and what a saved filter may hold (accounts.lists)."""
    form = ChargeFilterForm(data)
    form.fields["branch_id"].widget.choices = [("", _("All my branches"))] + [
        (str(b.id), b.code) for b in branches_for(user)
    ]
    return form


@login_required
def finance_list(request):
    form = charge_filter_form(request.user, request.GET or None)
    filters = SimpleNamespace(
        status=[], charge_type=[], responsibility=[], branch_id=None, date_from=None, date_to=None
    )
    if form.is_bound and form.is_valid():
        filters = SimpleNamespace(**form.cleaned_data)
    qs = selectors.filter_charges(selectors.charges_for(request.user), filters)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx") and request.GET.get("export") == "payments":
        payments = selectors.filter_payments(selectors.payments_for(request.user), filters)
        return export_list(
            request,
            payments.order_by("received_at", "created_at"),
            "billing.views.PAYMENT_EXPORT",
            "payments",
            fmt,
        )
    if fmt in ("csv", "xlsx"):
        return export_list(request, qs.order_by("created_at"), "billing.views.CHARGE_EXPORT", "charges", fmt)
    page, error = page_for_request(
        request, qs, allowed_orderings=selectors.ORDERINGS, default_ordering="-created_at"
    )
    list_error = [error] if error else []
    for charge in page.items if page else []:
        charge.colour = CHARGE_COLOURS.get(charge.status, "secondary")
    return render(
        request,
        "billing/charges.html",
        {
            "form": form,
            "page": page,
            "list_error": list_error,
            "may_post": permissions.may(request.user, "charge.post"),
        },
        status=400 if list_error else 200,
    )


@login_required
@require_POST
def bulk_post(request):
    permissions.require(request.user, "charge.post")  # the role first: 403, not a list of refusals
    ids = request.POST.getlist("charge_id")
    posted, failed = 0, []
    for charge_id in ids:
        charge = selectors.charges_for(request.user).filter(pk=charge_id).first()
        if charge is None:
            continue
        try:
            services.post_charge(request.user, charge_id)
            posted += 1
        except (DomainError, PermissionDenied) as exc:
            failed.append(f"{charge.custody.custody_no} {charge.description}: {getattr(exc, 'message', exc)}")
    if posted:
        messages.success(request, _("Posted %(n)d charges.") % {"n": posted})
    for line in failed:
        messages.error(request, line)
    return redirect(request.POST.get("next") or reverse("billing:charges"))


@login_required
def summary_pdf(request, custody_id):
    """Settlement of a custody: a tax invoice once invoiced (else a statement), payments, refunds, holds."""
    custody = _custody(request, custody_id)
    context = tab_context(request, custody)
    lines = [c for c in context["charges"] if c.status in BILLED_STATUSES]
    context.update(
        lines=lines,
        vat=vat_summary(lines),
        invoices=list(custody.invoices.order_by("issued_at", "invoice_no")),
    )
    return _render_pdf(request, "billing/summary_pdf.html", context, f"{custody.custody_no}.pdf")

"""Document pages: upload (HTMX), download, delete (draft) and the signing page.

A custody outside the user's branches does not exist for them (404); a role that may not
upload gets 403. HTMX requests get the documents list partial back (errors shown inline, status
200 so HTMX swaps it); plain form posts are redirected to the custody page with a message.
"""

import contextlib
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from audit.context import client_ip
from core.errors import DomainError, ValidationFailed
from custodies.selectors import custodies_for

from . import services
from .choices import SIGNABLE_TYPES, DocumentType
from .forms import ChecklistForm, SignForm
from .models import Document

logger = logging.getLogger(__name__)


def custody_url(custody_id) -> str:
    """The custody detail page (documents tab), or this app's documents page if there is no detail page."""
    try:
        return reverse("custodies:detail", args=[custody_id]) + "?tab=documents"
    except NoReverseMatch:
        return reverse("documents:custody", args=[custody_id])


def file_response(document: Document) -> FileResponse:
    """Stream a stored document as an attachment that browsers never render or sniff."""
    try:
        handle = document.file.storage.open(document.file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        logger.error("document %s: file %s is missing", document.pk, document.file.name)
        raise Http404("file missing") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.file_name,
        content_type=document.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def error_messages(exc: DomainError) -> list[str]:
    """Field messages of a validation error (they say what to fix), else the error's message."""
    return exc.messages() if isinstance(exc, ValidationFailed) else [exc.message]


def _custody(request, custody_id):
    return get_object_or_404(custodies_for(request.user), pk=custody_id)


def _list_response(request, custody, **extra):
    context = services.panel_context(request.user, custody)
    context.update(extra)
    return render(request, "documents/_list.html", context)


@login_required
@require_GET
def custody_documents(request, custody_id):
    custody = _custody(request, custody_id)
    return render(request, "documents/custody_documents.html", services.panel_context(request.user, custody))


@login_required
@require_GET
def download(request, document_id):
    document = get_object_or_404(services.documents_for(request.user), pk=document_id)
    return file_response(document)


@login_required
@require_POST
def upload(request, custody_id):
    custody = _custody(request, custody_id)
    permissions.require(request.user, "document.upload", custody)
    errors: list[str] = []
    uploaded = []
    try:
        result = services.upload_documents(
            request.user,
            custody,
            request.FILES.getlist("file"),
            request.POST.get("document_type"),
            request.POST.get("expires_on"),
        )
    except DomainError as exc:
        errors = error_messages(exc)
    else:
        uploaded = result.documents
        errors = [f"{name}: {message}" for name, found in result.errors.items() for message in found]
    if request.htmx:
        custody.refresh_from_db()
        return _list_response(request, custody, upload_errors=errors, uploaded=uploaded)
    if uploaded:
        messages.success(
            request,
            ngettext("%(n)s document uploaded.", "%(n)s documents uploaded.", len(uploaded))
            % {"n": len(uploaded)},
        )
    for message in errors:
        messages.error(request, message)
    return redirect(custody_url(custody.pk))


@login_required
@require_POST
def delete(request, document_id):
    document = get_object_or_404(services.documents_for(request.user), pk=document_id)
    custody = document.custody
    errors: list[str] = []
    try:
        services.delete_document(request.user, document)
    except DomainError as exc:
        errors = error_messages(exc)
    if request.htmx:
        custody.refresh_from_db()
        return _list_response(request, custody, upload_errors=errors)
    if errors:
        for message in errors:
            messages.error(request, message)
    else:
        messages.success(request, _("Document deleted: %(name)s") % {"name": document.file_name})
    return redirect(custody_url(custody.pk))


def _keep_checklist_readings(user, custody, document_type, checklist) -> None:
    """Readings typed on a checklist go to the condition report, so the dialogs start from them."""
    from . import condition

    if checklist is None or not checklist.is_valid():
        return
    stage = "return" if document_type == DocumentType.RETURN_CHECKLIST else "handover"
    odometer, fuel = checklist.cleaned_data.get("odometer_km"), checklist.cleaned_data.get("fuel_level")
    if odometer is None and fuel in (None, ""):
        return
    # The checklist is signed either way; readings the condition page refuses are typed at the dialog.
    with contextlib.suppress(DomainError):
        condition.record_readings(user, custody.pk, stage, odometer, _int_or_none(str(fuel)))


def _checklist_initial(custody, document_type) -> dict:
    from . import condition

    vehicle = custody.replacement_vehicle or custody.original_vehicle
    initial = {}
    if vehicle is not None:
        initial = {"fuel_level": vehicle.fuel_level, "odometer_km": vehicle.odometer_km}
    # Readings already taken on the condition page are not typed again.
    stage = "return" if document_type == DocumentType.RETURN_CHECKLIST else "handover"
    odometer, fuel = condition.readings_for(custody, stage)
    if odometer is not None:
        initial["odometer_km"] = odometer
    if fuel is not None:
        initial["fuel_level"] = fuel
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def sign(request, custody_id, document_type):
    """Acknowledgment: text + pad. Checklists: 1) fill in the checklist, 2) review the text + pad.

    The SHA-256 of the text shown travels in the form; if the custody changed in between, the
    signer is shown the new text instead of signing something they did not see.
    """
    custody = _custody(request, custody_id)
    if document_type not in SIGNABLE_TYPES:
        raise Http404("not a signable document")
    permissions.require(request.user, "document.upload", custody)
    label = DocumentType(document_type).label
    is_checklist = document_type != DocumentType.CUSTOMER_ACKNOWLEDGMENT
    problem = services.signing_problem(custody, document_type)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    data = request.POST if request.method == "POST" else None
    checklist = (
        ChecklistForm(data, initial=_checklist_initial(custody, document_type)) if is_checklist else None
    )
    form = SignForm(data, initial={"signer_name": custody.custodian_name})
    step = "checklist" if is_checklist else "sign"
    # Signing from the wizard goes back to the wizard (a local URL only).
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    done_url = next_url or custody_url(custody.pk)
    errors: list[str] = []

    if data is not None and not problem:
        if action == "edit" and is_checklist:
            step = "checklist"
        elif action in ("review", "sign", "decline") and (not is_checklist or checklist.is_valid()):
            step = "sign"
            form.is_valid()
            values = form.cleaned_data
            if action == "decline":
                try:
                    services.decline_signature(
                        request.user,
                        custody,
                        document_type,
                        values.get("signer_name"),
                        values.get("decline_reason"),
                        client_ip(request),
                    )
                except DomainError as exc:
                    _add_errors(form, exc, errors)
                else:
                    messages.info(
                        request, _("%(doc)s: the signer declined. The reason is recorded.") % {"doc": label}
                    )
                    return redirect(done_url)
            elif action == "sign":
                text = services.sign_text(
                    custody, document_type, checklist.cleaned_data if checklist else None
                )
                if values.get("content_sha256") != services.content_sha256(text):
                    errors.append(_("The text changed since the page was opened. Read it again, then sign."))
                else:
                    # First, so the signed form prints the readings that were signed.
                    _keep_checklist_readings(request.user, custody, document_type, checklist)
                    try:
                        services.sign_document(
                            request.user,
                            custody,
                            document_type,
                            values.get("signer_name"),
                            values.get("signature"),
                            client_ip(request),
                            text.encode("utf-8"),
                        )
                    except DomainError as exc:
                        _add_errors(form, exc, errors)
                    else:
                        messages.success(request, _("%(doc)s signed.") % {"doc": label})
                        return redirect(done_url)

    text = ""
    if step == "sign" and not problem:
        text = services.sign_text(
            custody,
            document_type,
            checklist.cleaned_data
            if checklist is not None and checklist.is_bound and checklist.is_valid()
            else None,
        )
    return render(
        request,
        "documents/sign.html",
        {
            "custody": custody,
            "document_type": document_type,
            "label": label,
            "step": step,
            "is_checklist": is_checklist,
            "checklist": checklist,
            "form": form,
            "text": text,
            "text_sha256": services.content_sha256(text) if text else "",
            "errors": errors,
            "problem": problem,
            "back_url": done_url,
        },
        status=400
        if errors or form.errors or (checklist is not None and checklist.is_bound and checklist.errors)
        else 200,
    )


def _add_errors(form, exc: DomainError, errors: list[str]) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, found in details.items():
        if name in form.fields and name not in ("signature", "content_sha256"):
            for message in found if isinstance(found, list | tuple) else [found]:
                form.add_error(name, message)
            placed = True
        elif name == "reason":
            for message in found:
                form.add_error("decline_reason", message)
            placed = True
        else:
            errors.extend(
                m for m in (found if isinstance(found, list | tuple) else [found]) if isinstance(m, str)
            )
    if not placed and not errors:
        errors.append(exc.message)


# ---- vehicle condition (handover / return) ---------------------------------------------------------


def _condition_page(request, custody, stage, status=200, **extra):
    from custodies.forms import FUEL_CHOICES

    from . import condition
    from .choices import ConditionStage, DamageSeverity, DamageType, DamageZone

    if stage not in ConditionStage.values:
        raise Http404("unknown stage")
    report = condition.report_for(custody, stage)
    marks = list(report.marks.all()) if report else []
    comparison = condition.comparison(custody) if stage == ConditionStage.RETURN else []
    new = [m for row in comparison for m in row.new]
    context = {
        "custody": custody,
        "stage": stage,
        "stage_label": ConditionStage(stage).label,
        "vehicle": condition.vehicle_for(custody),
        "report": report,
        "marks": marks,
        "counts": {zone: sum(1 for m in marks if m.zone == zone) for zone in DamageZone.values},
        "zone_labels": dict(DamageZone.choices),
        "zones": DamageZone.choices,
        "damage_types": DamageType.choices,
        "severities": DamageSeverity.choices,
        "fuel_choices": FUEL_CHOICES,
        "problem": condition.stage_problem(custody, stage),
        "comparison": comparison if any(row.out or row.back for row in comparison) else [],
        "new_damage": new,
        "damage_description": "; ".join(
            f"{m.get_zone_display()}: {m.get_damage_type_display()} ({m.get_severity_display()})" for m in new
        )[:200],
        "may_charge": permissions.can(request.user, "charge.add", custody),
        "back_url": custody_url(custody.pk),
        "errors": {},
        **extra,
    }
    return render(request, "documents/condition/page.html", context, status=status)


def _int_or_none(value):
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def condition_page(request, custody_id, stage):
    from . import condition

    custody = _custody(request, custody_id)
    if request.method == "GET":
        return _condition_page(request, custody, stage)
    try:
        result = condition.record_readings(
            request.user,
            custody.pk,
            stage,
            _int_or_none(request.POST.get("odometer_km")),
            _int_or_none(request.POST.get("fuel_level")),
            request.POST.get("notes", ""),
        )
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return _condition_page(
            request, custody, stage, status=422, errors=details, error=" ".join(exc.messages())
        )
    for warning in result.warnings:
        messages.warning(request, warning)
    messages.success(request, _("Readings saved."))
    return redirect("documents:condition", custody_id=custody.pk, stage=stage)


@login_required
@require_POST
def condition_mark(request, custody_id, stage):
    from . import condition

    custody = _custody(request, custody_id)
    try:
        condition.add_mark(request.user, custody.pk, stage, request.POST, request.FILES.get("photo"))
    except DomainError as exc:
        return _condition_page(request, custody, stage, status=422, error=" ".join(exc.messages()))
    messages.success(request, _("Damage marked."))
    return redirect("documents:condition", custody_id=custody.pk, stage=stage)


@login_required
@require_POST
def condition_remove(request, mark_id):
    from . import condition
    from .models import DamageMark

    mark = get_object_or_404(
        DamageMark.objects.select_related("report"),
        pk=mark_id,
        report__custody__in=custodies_for(request.user).values("id"),
    )
    custody_id, stage = mark.report.custody_id, mark.report.stage
    try:
        condition.remove_mark(request.user, mark.pk)
    except DomainError as exc:
        messages.error(request, " ".join(exc.messages()))
    return redirect("documents:condition", custody_id=custody_id, stage=stage)


@login_required
@require_GET
def print_form(request, custody_id, document_type):
    """The handover/return form or acknowledgment to print (bilingual, on the letterhead)."""
    from django.http import HttpResponse

    from .printing import form_pdf

    custody = _custody(request, custody_id)
    if document_type not in SIGNABLE_TYPES:
        raise Http404("not a printable form")
    pdf = form_pdf(custody, document_type, text=services.sign_text(custody, document_type))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document_type}-{custody.custody_no}.pdf"'
    return response

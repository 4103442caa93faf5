"""Document pages: upload (HTMX), download, delete (draft) and the signing page.

A custody outside the user's branches does not exist for them (404); a role that may not
upload gets 403. HTMX requests get the documents list partial back (errors shown inline, status
200 so HTMX swaps it); plain form posts are redirected to the custody page with a message.
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
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


def _checklist_initial(custody, document_type) -> dict:
    vehicle = custody.replacement_vehicle or custody.original_vehicle
    initial = {}
    if vehicle is not None:
        initial = {"fuel_level": vehicle.fuel_level, "odometer_km": vehicle.odometer_km}
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
                    return redirect(custody_url(custody.pk))
            elif action == "sign":
                text = services.sign_text(
                    custody, document_type, checklist.cleaned_data if checklist else None
                )
                if values.get("content_sha256") != services.content_sha256(text):
                    errors.append(_("The text changed since the page was opened. Read it again, then sign."))
                else:
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
                        return redirect(custody_url(custody.pk))

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
            "back_url": custody_url(custody.pk),
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

"""The customer's signing page, reached by a single-use link; no account needed."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from audit.context import acting_as, client_ip
from core.errors import DomainError
from core.ratelimit import rate_limit
from custodies.selectors import custodies_for

from . import links, services
from .choices import SIGNABLE_TYPES, DocumentType
from .forms import SignForm


@never_cache
@rate_limit("signing")  # guessing tokens or hammering the page: per IP
@require_http_methods(["GET", "POST"])
def sign_by_link(request, token):
    try:
        signature = links.signature_for_token(token)
    except DomainError as exc:
        return render(request, "documents/public_sign.html", {"problem": exc.message}, status=410)
    custody = signature.custody
    text = services.sign_text(custody, signature.document_type)
    form = SignForm(request.POST or None, initial={"signer_name": custody.custodian_name})
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        action = request.POST.get("action")
        try:
            with transaction.atomic(), acting_as(source="web", ip=client_ip(request)):
                locked = links.signature_for_token(token, lock=True)
                if action == "decline":
                    services.decline_signature(
                        None,
                        custody,
                        locked.document_type,
                        values.get("signer_name"),
                        values.get("decline_reason"),
                        client_ip(request),
                    )
                else:
                    if values.get("content_sha256") != services.content_sha256(text):
                        raise _TextChanged
                    services.sign_document(
                        None,
                        custody,
                        locked.document_type,
                        values.get("signer_name"),
                        values.get("signature"),
                        client_ip(request),
                        text.encode("utf-8"),
                    )
                links.mark_used(locked)
        except _TextChanged:
            errors.append(_("The document changed since the page was opened. Read it again, then sign."))
        except DomainError as exc:
            errors.extend(exc.messages())
        else:
            done = (
                _("Thank you. Your refusal is recorded.")
                if action == "decline"
                else _("Thank you. It is signed.")
            )
            return render(request, "documents/public_sign.html", {"done": done})
    return render(
        request,
        "documents/public_sign.html",
        {
            "custody": custody,
            "label": DocumentType(signature.document_type).label,
            "text": text,
            "text_sha256": services.content_sha256(text),
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


class _TextChanged(Exception):
    pass


@require_POST
def send_link(request, custody_id):
    """Staff: e-mail a signing link for the acknowledgment or a checklist to the customer."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    custody = get_object_or_404(custodies_for(request.user), pk=custody_id)
    permissions.require(request.user, "document.upload", custody)
    document_type = request.POST.get("document_type", "")
    if document_type not in SIGNABLE_TYPES:
        messages.error(request, _("Choose a document to sign."))
    else:
        try:
            channel = request.POST.get("channel", "email")
            links.create_signing_link(
                request.user,
                custody,
                document_type,
                request.POST.get("email", ""),
                phone=request.POST.get("phone", ""),
                channel=channel,
            )
        except DomainError as exc:
            messages.error(request, " ".join(exc.messages()))
        else:
            hours = int(links.LINK_TTL.total_seconds() // 3600)
            if channel == "sms":
                text = _("Signing link sent by SMS; it works once and expires in %(h)d hours.")
            else:
                text = _("Signing link e-mailed; it works once and expires in %(h)d hours.")
            messages.success(request, text % {"h": hours})
    return redirect(f"/custodies/{custody.pk}/?tab=documents")

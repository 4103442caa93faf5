from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task


@task(queue_name="default")
def send_signing_link(signature_id: str, email: str) -> bool:
    from .links import token_for
    from .models import Signature

    signature = Signature.objects.select_related("custody", "custody__customer", "custody__branch").get(
        pk=signature_id
    )
    if signature.token_used_at or signature.status != "pending":
        return False
    url = f"{settings.CUSTODY_PUBLIC_URL.rstrip('/')}/sign/{token_for(signature)}/"
    context = {
        "signature": signature,
        "custody": signature.custody,
        "url": url,
        "expires_at": signature.token_expires_at,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("documents/email/signing_link_subject.txt", context).strip()
        text = render_to_string("documents/email/signing_link.txt", context)
        html = render_to_string("documents/email/signing_link.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True


@task(queue_name="default")
def send_signing_link_sms(signature_id: str, phone: str) -> bool:
    """The signing link by SMS through the configured backend (see notifications/README.md)."""
    from core.sms import get_sms_backend

    from .links import token_for
    from .models import Signature

    signature = Signature.objects.select_related("custody").get(pk=signature_id)
    if signature.token_used_at or signature.status != "pending":
        return False
    backend = get_sms_backend()
    if backend is None:
        raise RuntimeError("SMS is not configured (CUSTODY_SMS_BACKEND).")
    url = f"{settings.CUSTODY_PUBLIC_URL.rstrip('/')}/sign/{token_for(signature)}/"
    context = {"signature": signature, "custody": signature.custody, "url": url}
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("documents/sms/signing_link.txt", context).strip()
    backend.send(phone, text)
    return True

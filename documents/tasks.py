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

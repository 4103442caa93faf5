"""Background work for quotes (run by the worker, never in a request): the e-mails with their PDFs."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task


def _message(quote, template: str, context: dict, to: str) -> EmailMultiAlternatives:
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"quotes/email/{template}_subject.txt", context).strip()
        text = render_to_string(f"quotes/email/{template}.txt", context)
        html = render_to_string(f"quotes/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


@task(queue_name="default")
def send_quote_email(quote_id: str, nonce: str) -> bool:
    """The quote in English and Arabic as PDFs, and the link to review and accept it online."""
    from . import pdf, services
    from .models import Quote

    quote = Quote.objects.select_related("customer", "branch").get(pk=quote_id)
    if quote.status != "sent" or quote.review_nonce != nonce:
        return False  # sent again since (a newer link went out) or decided/expired
    context = {"quote": quote, "url": services.review_url(quote), "expires_at": quote.review_expires_at}
    message = _message(quote, "quote_sent", context, quote.sent_to)
    for language in ("en", "ar"):
        message.attach(
            f"{quote.quote_no}-{language}.pdf", pdf.render_quote_pdf(quote, language), "application/pdf"
        )
    message.send()
    return True


@task(queue_name="default")
def send_signed_quote(quote_id: str) -> bool:
    """The customer's copy of the accepted quote, with their signature, in both languages."""
    from . import pdf
    from .models import Quote

    quote = Quote.objects.select_related("customer", "branch").get(pk=quote_id)
    if quote.status != "accepted" or not quote.sent_to:
        return False
    message = _message(quote, "quote_accepted", {"quote": quote}, quote.sent_to)
    for language in ("en", "ar"):
        message.attach(
            f"{quote.quote_no}-signed-{language}.pdf",
            pdf.render_quote_pdf(quote, language),
            "application/pdf",
        )
    message.send()
    return True

"""Account e-mails, sent by the worker so a web request never waits on SMTP."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from core import switches

HOLD_RETRY = timedelta(minutes=1)


@task(queue_name="default")
def send_password_reset_email(user_id: str, domain: str, protocol: str) -> bool:
    from .models import User

    if switches.outbound_held():
        # Maintenance: the e-mail waits (queued again for later), it is not dropped.
        send_password_reset_email.using(run_after=timezone.now() + HOLD_RETRY).enqueue(
            user_id, domain, protocol
        )
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    # The token is made here, not stored in the queue: it stays valid until the password changes.
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "protocol": protocol,
        "user": user,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = "".join(render_to_string("accounts/password_reset_subject.txt", context).splitlines())
        body = render_to_string("accounts/password_reset_email.txt", context)
    EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
    return True


@task(queue_name="default")
def send_set_password_email(user_id: str, purpose: str) -> bool:
    """The invitation (`purpose="invitation"`) or an admin's reset (`"reset"`): a set-password link that
    expires after CUSTODY_SET_PASSWORD_LINK_HOURS and dies once used."""
    from django.urls import reverse

    from .models import User
    from .tokens import set_password_token_generator

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    path = reverse(
        "accounts:set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": set_password_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "email": user.email,
        "link": settings.CUSTODY_PUBLIC_URL.rstrip("/") + path,
        "hours": settings.CUSTODY_SET_PASSWORD_LINK_HOURS,
        "purpose": purpose,
    }
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = "".join(render_to_string("accounts/set_password_subject.txt", context).splitlines())
        body = render_to_string("accounts/set_password_email.txt", context)
    EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
    return True

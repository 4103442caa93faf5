"""Customer signing links (DESIGN §7): single use, expiring, sent by e-mail, signed without an account.

The token is a Django-signed value naming the Signature row, so it never needs storing in clear
(only its SHA-256 is kept, to look it up and to make an older link of the same row useless).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from audit import services as audit
from core.errors import InvalidTransition, ValidationFailed
from custodies.models import Custody

from .choices import SIGNABLE_TYPES, SignatureStatus
from .models import Signature

SALT = "custody.signing-link"
LINK_TTL = timedelta(hours=int(getattr(settings, "CUSTODY_SIGNING_LINK_HOURS", 72)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_for(signature: Signature) -> str:
    """Deterministic from the row and SECRET_KEY, so the e-mail task can rebuild it without storing it."""
    return signing.Signer(salt=SALT).sign_object(
        {"s": str(signature.pk), "t": signature.created_at.timestamp()}
    )


@transaction.atomic
def create_signing_link(
    user, custody: Custody, document_type: str, email: str = "", phone: str = "", channel: str = "email"
) -> tuple[Signature, str]:
    """A single-use, expiring signing link, sent by e-mail or by SMS (core.sms backend)."""
    from core.sms import sms_enabled

    permissions.require(user, "document.upload", custody)
    if document_type not in SIGNABLE_TYPES:
        raise ValidationFailed(_("This document cannot be signed."), {"document_type": [_("Not signable.")]})
    if custody.is_terminal:
        raise InvalidTransition(_("The custody is finished."), {"status": custody.status})
    if channel == "sms":
        phone = (phone or custody.custodian_phone or custody.customer.phone or "").strip()
        if not phone:
            raise ValidationFailed(_("Enter the customer's mobile number."), {"phone": [_("Required.")]})
        if not sms_enabled():
            raise ValidationFailed(
                _("SMS is not set up on this installation; send the link by e-mail."),
                {"phone": [_("SMS is not set up.")]},
            )
        email = ""
    else:
        channel = "email"
        email = (email or custody.custodian_email or custody.customer.email or "").strip()
    if channel == "email" and not email:
        raise ValidationFailed(_("Enter the customer's e-mail address."), {"email": [_("Required.")]})
    signature = Signature.objects.create(
        custody=custody,
        document_type=document_type,
        status=SignatureStatus.PENDING,
        requested_by=user,
        token_expires_at=timezone.now() + LINK_TTL,
    )
    token = token_for(signature)
    signature.token_hash = _hash(token)
    signature.save(update_fields=["token_hash"])
    audit.record(
        "signature.link_sent",
        signature,
        object_type="signature",
        custody_id=custody.pk,
        changes={"document_type": [None, document_type], channel: [None, email or phone]},
    )
    from .tasks import send_signing_link, send_signing_link_sms

    if channel == "sms":
        send_signing_link_sms.enqueue(str(signature.pk), phone)
    else:
        send_signing_link.enqueue(str(signature.pk), email)
    return signature, token


def signature_for_token(token: str, lock: bool = False) -> Signature:
    """The pending signature a token opens, or InvalidTransition with a reason a customer understands."""
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
    except signing.BadSignature as exc:
        raise InvalidTransition(_("This link is not valid."), {}) from exc
    qs = Signature.objects.select_related("custody", "custody__customer", "custody__branch")
    if lock:
        qs = qs.select_for_update(of=("self",))
    signature = qs.filter(pk=data.get("s"), token_hash=_hash(token)).first()
    if signature is None:
        raise InvalidTransition(_("This link is not valid."), {})
    if signature.token_used_at is not None or signature.status != SignatureStatus.PENDING:
        raise InvalidTransition(_("This link was already used."), {})
    if signature.token_expires_at and signature.token_expires_at < timezone.now():
        raise InvalidTransition(_("This link has expired. Ask us for a new one."), {})
    if signature.custody.is_terminal:
        raise InvalidTransition(_("This custody is finished; nothing needs signing."), {})
    return signature


def mark_used(signature: Signature) -> None:
    Signature.objects.filter(pk=signature.pk).update(token_used_at=timezone.now())

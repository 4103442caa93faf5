import base64
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.choices import Role
from conftest import login_client
from documents import links, services
from documents.models import Signature
from documents.tasks import send_signing_link
from integrations.models import OutboxEvent

pytestmark = pytest.mark.django_db


def png_data_url():
    buffer = io.BytesIO()
    image = Image.new("RGB", (120, 40), (255, 255, 255))
    ImageDraw.Draw(image).line((5, 30, 110, 8), fill=(0, 0, 0), width=3)
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def link(users, make_draft, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    custody = make_draft()
    signature, token = links.create_signing_link(
        users[Role.OPERATOR], custody, "customer_acknowledgment", "ahmed@example.ae"
    )
    return custody, signature, token


def sign(client, token, custody):
    page = client.get(f"/sign/{token}/")
    sha = re.search(r'name="content_sha256" value="([0-9a-f]{64})"', page.content.decode()).group(1)
    return client.post(
        f"/sign/{token}/",
        {
            "action": "sign",
            "signer_name": "Ahmed Al Mansoori",
            "signature": png_data_url(),
            "content_sha256": sha,
        },
    )


def test_the_link_is_e_mailed_without_storing_the_token(link):
    custody, signature, token = link
    assert signature.token_hash and token not in signature.token_hash
    send_signing_link.call(str(signature.pk), "ahmed@example.ae")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ahmed@example.ae"]
    assert f"/sign/{token}/" in message.body
    assert message.alternatives and f"/sign/{token}/" in message.alternatives[0][0]


def test_the_customer_signs_once_without_an_account(link):
    custody, signature, token = link
    client = Client()
    response = sign(client, token, custody)
    assert response.status_code == 200, re.findall(r"<li>(.*?)</li>", response.content.decode())
    assert "It is signed" in response.content.decode()
    signature.refresh_from_db()
    assert (signature.status, signature.signer_name) == ("signed", "Ahmed Al Mansoori")
    assert signature.signer_ip == "127.0.0.1"
    assert signature.token_used_at is not None
    assert OutboxEvent.objects.filter(type="document.signed").count() == 1
    again = client.get(f"/sign/{token}/")
    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_an_expired_or_forged_link_is_refused(link):
    custody, signature, token = link
    Signature.objects.filter(pk=signature.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    assert Client().get(f"/sign/{token}/").status_code == 410
    assert Client().get(f"/sign/{token[:-3]}abc/").status_code == 410


def test_the_customer_may_decline_with_a_reason(link):
    custody, signature, token = link
    response = Client().post(
        f"/sign/{token}/",
        {"action": "decline", "signer_name": "Ahmed", "decline_reason": "The damage was already there"},
    )
    assert response.status_code == 200
    signature.refresh_from_db()
    assert signature.status == "declined"


def test_staff_send_the_link_from_the_custody_page(users, make_draft, settings):
    custody = make_draft()
    response = login_client(users[Role.OPERATOR]).post(
        f"/documents/custody/{custody.id}/signing-link/",
        {"document_type": "customer_acknowledgment", "email": "someone@example.ae"},
    )
    assert response.status_code == 302
    assert Signature.objects.filter(custody=custody, status="pending").exclude(token_hash="").count() == 1
    viewer = login_client(users[Role.VIEWER]).post(
        f"/documents/custody/{custody.id}/signing-link/", {"document_type": "customer_acknowledgment"}
    )
    assert viewer.status_code == 403


def test_the_signed_text_hash_matches(link):
    custody, signature, token = link
    sign(Client(), token, custody)
    signature.refresh_from_db()
    text = services.sign_text(custody, "customer_acknowledgment")
    assert signature.signed_content_sha256 == services.content_sha256(text)

import pytest

from accounts.choices import Role
from conftest import login_client
from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_an_admin_registers_an_endpoint_sees_the_secret_once_and_sends_a_test(admin_user, receiver):
    client = login_client(admin_user)
    response = client.post(
        "/integrations/",
        {
            "name": "Fleet sync",
            "integration_type": "fleet",
            "url": receiver.url,
            "events": ["custody.closed"],
            "active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    page = client.get(f"/integrations/endpoints/{endpoint.id}/").content.decode()
    assert endpoint.secret in page
    assert endpoint.secret not in client.get(f"/integrations/endpoints/{endpoint.id}/").content.decode()
    client.post(f"/integrations/endpoints/{endpoint.id}/test/")
    delivery = WebhookDelivery.objects.get()
    assert client.get("/integrations/deliveries/?status=pending").status_code == 200
    assert client.get(f"/integrations/deliveries/{delivery.id}/").status_code == 200
    client.post(f"/integrations/deliveries/{delivery.id}/redeliver/")


def test_a_private_url_is_a_form_error(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "0"
    response = login_client(admin_user).post(
        "/integrations/", {"name": "x", "integration_type": "custom", "url": "http://127.0.0.1/x"}
    )
    assert response.status_code == 400
    assert "private" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_only_admins_see_integrations(users):
    assert login_client(users[Role.MANAGER]).get("/integrations/").status_code == 403

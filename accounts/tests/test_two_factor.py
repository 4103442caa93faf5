"""TOTP two-factor: enrolment with recovery codes, the login step, the API token, admins required."""

import re
import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from audit.models import AuditEntry
from conftest import PASSWORD, ApiClient, login_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttle_delay(settings):
    # django-otp waits 1 s, 2 s, 4 s... after each wrong code; the tests type the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device, offset=0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = services.start_two_factor(user)
    codes = services.confirm_two_factor(user, code_for(device))
    device.refresh_from_db()
    # The app's next code: the one just used is refused again (replay protection).
    device.last_t = -1
    device.save()
    return device, codes


def test_enrolling_shows_a_local_qr_code_then_a_code_turns_it_on_with_recovery_codes(operator):
    client = login_client(operator)
    page = client.post("/accounts/two-factor/", {"action": "start"})
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # drawn by the app, no outside service
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    wrong = client.post("/accounts/two-factor/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 422
    operator.refresh_from_db()
    assert not operator.two_factor_enabled

    done = client.post("/accounts/two-factor/", {"action": "confirm", "code": code_for(device)}, follow=True)
    codes = re.findall(r'<li class="col">(\w+)</li>', done.content.decode())
    assert len(codes) == 10
    operator.refresh_from_db()
    assert operator.two_factor_enabled
    assert client.get("/").status_code == 200  # this session stays signed in
    assert AuditEntry.objects.filter(action="user.two_factor_enabled", object_id=str(operator.pk)).exists()


def test_login_asks_for_the_code_after_the_password(operator):
    device, _codes = enrol(operator)
    client = Client()
    response = client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/login/verify/"
    assert client.get("/")["Location"].startswith("/accounts/login/")  # not logged in yet
    assert client.post("/accounts/login/verify/", {"code": "123456"}).status_code == 422
    response = client.post("/accounts/login/verify/", {"code": code_for(device)})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_recovery_code_logs_in_once(operator):
    _device, codes = enrol(operator)
    client = Client()
    client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert client.post("/accounts/login/verify/", {"code": codes[0].upper()})["Location"] == "/"
    again = Client()
    again.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert again.post("/accounts/login/verify/", {"code": codes[0]}).status_code == 422
    assert AuditEntry.objects.filter(action="user.recovery_code_used").count() == 1


def test_five_wrong_codes_send_the_user_back_to_the_password(operator):
    enrol(operator)
    client = Client()
    client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    for _i in range(4):
        assert client.post("/accounts/login/verify/", {"code": "000000"}).status_code == 422
    assert client.post("/accounts/login/verify/", {"code": "000000"})["Location"] == "/accounts/login/"
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"


def test_the_code_step_expires(operator, monkeypatch):
    device, _codes = enrol(operator)
    client = Client()
    client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    later = time.time() + 600
    monkeypatch.setattr("accounts.views.time.time", lambda: later)
    assert (
        client.post("/accounts/login/verify/", {"code": code_for(device)})["Location"] == "/accounts/login/"
    )


def test_the_api_token_needs_the_code_too(operator):
    device, _codes = enrol(operator)
    api = ApiClient()
    missing = api.post("/api/v1/auth/token", {"email": operator.email, "password": PASSWORD})
    assert missing.status_code == 401
    assert "otp" in missing.json()["error"]["details"]
    wrong = api.post("/api/v1/auth/token", {"email": operator.email, "password": PASSWORD, "otp": "000000"})
    assert wrong.status_code == 401
    ok = api.post(
        "/api/v1/auth/token", {"email": operator.email, "password": PASSWORD, "otp": code_for(device)}
    )
    assert ok.status_code == 200
    assert "token" in ok.json()


def test_admins_must_set_it_up_when_required_and_get_no_api_token_before(users, settings):
    settings.CUSTODY_REQUIRE_ADMIN_2FA = True
    admin = users["admin"]
    client = login_client(admin)
    assert client.get("/custodies/")["Location"] == "/accounts/two-factor/"
    assert client.get("/django-admin/")["Location"] == "/accounts/two-factor/"
    assert client.get("/manage/users/", HTTP_HX_REQUEST="true")["HX-Redirect"] == "/accounts/two-factor/"
    assert client.get("/api/v1/me").status_code == 401  # the session cookie is not enough for the API
    refused = ApiClient().post("/api/v1/auth/token", {"email": admin.email, "password": PASSWORD})
    assert refused.status_code == 403
    # Other roles are not concerned.
    assert login_client(users["operator"]).get("/custodies/").status_code == 200

    device = services.start_two_factor(admin)
    client.post("/accounts/two-factor/", {"action": "confirm", "code": code_for(device)})
    assert client.get("/custodies/").status_code == 200
    # Required: it cannot be turned off.
    device.refresh_from_db()
    with pytest.raises(Exception, match="required"):
        services.disable_two_factor(admin, code_for(device, offset=1))


def test_the_django_admin_login_is_not_a_way_around(client):
    assert (
        client.get("/django-admin/login/?next=/django-admin/")["Location"]
        == "/accounts/login/?next=/django-admin/"
    )


def test_an_admin_removes_a_lost_second_factor(users):
    target = users["supervisor"]
    enrol(target)
    response = login_client(users["admin"]).post(f"/manage/users/{target.pk}/reset-two-factor/")
    assert response.status_code == 302
    target.refresh_from_db()
    assert not target.two_factor_enabled
    assert not TOTPDevice.objects.filter(user=target).exists()
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": target.email, "password": PASSWORD})["Location"] == "/"
    )

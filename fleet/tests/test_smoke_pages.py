import pytest

from conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/vehicles/",
        "/customers/",
        "/agreements/",
        "/manage/branches/",
        "/manage/vehicle-classes/",
        "/manage/special-rate-codes/",
        "/manage/tax-profiles/",
        "/custodies/",
        "/reports/",
        "/accounts/settings/",
        "/manage/",
        "/audit/",
    ],
)
def test_admin_sees_every_page(admin_user, vehicle, agreement, url):
    response = login_client(admin_user).get(url)
    assert response.status_code == 200, response.content[:500]


def test_login_page_renders_for_anonymous(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_the_agreement_page_shows_times_in_local_time_not_raw_utc(admin_user, agreement):
    from django.utils import timezone
    from django.utils.formats import date_format

    page = login_client(admin_user).get(f"/agreements/{agreement.id}/").content.decode()
    local_start = date_format(timezone.localtime(agreement.start_at), "DATETIME_FORMAT")
    assert f'<dd class="col-sm-8 col-lg-9">{local_start}</dd>' in page
    assert "+00:00" not in page


def test_a_customer_address_keeps_its_line_breaks_and_empty_text_shows_a_dash(admin_user, customer):
    customer.address = "Villa 12\nAl Wasl Road"
    customer.save()
    page = login_client(admin_user).get(f"/customers/{customer.id}/").content.decode()
    assert "Villa 12<br>Al Wasl Road" in page
    assert '<dd class="col-sm-8 col-lg-9">—</dd>' in page  # notes are empty

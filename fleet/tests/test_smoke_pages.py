import pytest

from conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/vehicles/", "/customers/", "/agreements/", "/manage/branches/",
                                 "/manage/vehicle-classes/", "/manage/special-rate-codes/", "/manage/tax-profiles/",
                                 "/custodies/", "/reports/", "/accounts/settings/", "/manage/", "/audit/"])
def test_admin_sees_every_page(admin_user, vehicle, agreement, url):
    response = login_client(admin_user).get(url)
    assert response.status_code == 200, response.content[:500]


def test_login_page_renders_for_anonymous(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content

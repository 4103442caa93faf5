"""Each reference list is declared once (fleet.selectors.LISTINGS): its page and its API endpoint
search the same fields and accept the same orderings, and each PATCH body is its create body made
optional."""

import pytest
from django.urls import reverse

from conftest import ApiClient, login_client
from fleet import api
from fleet.models import Customer
from fleet.selectors import LISTINGS
from fleet.views import RESOURCES

pytestmark = pytest.mark.django_db

API_PATHS = {
    "branch": "/api/v1/branches",
    "customer": "/api/v1/customers",
    "vehicle_class": "/api/v1/vehicle-classes",
    "vehicle": "/api/v1/vehicles",
    "agreement": "/api/v1/agreements",
    "special_rate_code": "/api/v1/special-rate-codes",
    "tax_profile": "/api/v1/tax-profiles",
}


def test_every_list_page_and_endpoint_uses_its_listing():
    assert set(RESOURCES) == set(LISTINGS) == set(API_PATHS)
    for slug, resource in RESOURCES.items():
        assert resource.listing is LISTINGS[slug]


@pytest.mark.parametrize("slug", sorted(API_PATHS))
def test_the_page_and_the_api_accept_the_same_orderings(users, slug):
    admin = users["admin"]
    page, client = login_client(admin), ApiClient(admin)
    for ordering in sorted(LISTINGS[slug].orderings):
        for name in (ordering, f"-{ordering}"):
            assert client.get(API_PATHS[slug], {"ordering": name}).status_code == 200, name
            assert page.get(reverse(f"fleet:{slug}_list"), {"ordering": name}).status_code == 200, name
    assert client.get(API_PATHS[slug], {"ordering": "password"}).status_code == 422
    assert page.get(reverse(f"fleet:{slug}_list"), {"ordering": "password"}).status_code == 400


def test_a_customer_search_finds_the_same_rows_on_the_page_and_in_the_api(users):
    Customer.objects.create(customer_no="C-1", full_name="Amal Haddad", phone="+971500000001")
    Customer.objects.create(customer_no="C-2", full_name="Omar Saleh", email="amal@example.com")
    Customer.objects.create(customer_no="C-3", full_name="Zaid Nasser")
    found = [
        row["customer_no"]
        for row in ApiClient(users["viewer"]).get(API_PATHS["customer"], {"q": "amal"}).json()["items"]
    ]
    html = login_client(users["viewer"]).get(reverse("fleet:customer_list"), {"q": "amal"}).content.decode()
    assert found == ["C-1", "C-2"]  # both sorted by name, the listing's default
    assert "C-1" in html and "C-2" in html and "C-3" not in html


@pytest.mark.parametrize(
    "create, patch",
    [
        (getattr(api, name.replace("Patch", "In")), getattr(api, name))
        for name in dir(api)
        if name.endswith("Patch")
    ],
)
def test_a_patch_body_is_the_create_body_with_every_field_optional(create, patch):
    assert list(patch.model_fields) == list(create.model_fields)
    assert all(not field.is_required() for field in patch.model_fields.values())
    assert patch.model_validate({}).model_dump(exclude_unset=True) == {}

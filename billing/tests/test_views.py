import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role
from billing import services
from billing.models import Charge, Payment
from billing.tests.conftest import close
from conftest import login_client

pytestmark = pytest.mark.django_db


def test_the_tab_shows_charges_balance_and_actions_for_finance(users, active_custody):
    response = login_client(users[Role.FINANCE]).get(f"/billing/custodies/{active_custody.id}/tab/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Replacement rental" in html
    assert "Post selected" in html
    assert "Record a payment or refund" in html


def test_a_viewer_sees_the_tab_without_actions(users, active_custody):
    html = (
        login_client(users[Role.VIEWER]).get(f"/billing/custodies/{active_custody.id}/tab/").content.decode()
    )
    assert "Post selected" not in html
    assert "Add a charge" not in html


def test_an_operator_adds_a_charge_with_htmx_and_sees_live_totals(users, active_custody):
    client = login_client(users[Role.OPERATOR])
    response = client.post(
        f"/billing/custodies/{active_custody.id}/charges/",
        {
            "charge_type": "damage",
            "description": "Cracked windscreen",
            "quantity": "1",
            "unit_price": "800",
            "tax_rate": "",
            "responsibility": "customer",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Cracked windscreen" in response.content.decode()
    charge = Charge.objects.get(description="Cracked windscreen")
    assert (charge.total, charge.status, charge.created_by) == (840, "draft", users[Role.OPERATOR])


def test_posting_selected_charges_and_recording_a_refund(users, active_custody):
    client = login_client(users[Role.FINANCE])
    rental = Charge.objects.get(custody=active_custody)
    client.post(
        f"/billing/custodies/{active_custody.id}/charges/post/",
        {"charge_id": [rental.id]},
        HTTP_HX_REQUEST="true",
    )
    rental.refresh_from_db()
    assert rental.status == "posted"
    client.post(
        f"/billing/custodies/{active_custody.id}/payments/",
        {"kind": "payment", "amount": "100", "method": "cash", "payer": "customer"},
        HTTP_HX_REQUEST="true",
    )
    response = client.post(
        f"/billing/custodies/{active_custody.id}/payments/",
        {"kind": "refund", "amount": "20", "method": "cash", "payer": "customer", "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert "A refund needs a reason" in response.content.decode()
    assert Payment.objects.count() == 1


def test_an_operator_cannot_post(users, active_custody):
    rental = Charge.objects.get(custody=active_custody)
    response = login_client(users[Role.OPERATOR]).post(
        f"/billing/custodies/{active_custody.id}/charges/post/",
        {"charge_id": [rental.id]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (200, 403)
    rental.refresh_from_db()
    assert rental.status == "draft"


def test_the_settlement_pdf_is_a_real_pdf_with_the_custody_number(users, active_custody):
    close(active_custody, users[Role.OPERATOR])
    response = login_client(users[Role.FINANCE]).get(f"/billing/custodies/{active_custody.id}/summary.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 2000


def test_the_finance_list_filters_exports_and_bulk_posts(users, active_custody):
    client = login_client(users[Role.FINANCE])
    page = client.get("/billing/charges/?status=draft")
    assert page.status_code == 200
    assert active_custody.custody_no in page.content.decode()
    csv = client.get("/billing/charges/?status=draft&format=csv")
    body = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Custody no.,Branch,Customer")
    assert active_custody.custody_no in body
    xlsx = client.get("/billing/charges/?format=xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 2
    rental = Charge.objects.get(custody=active_custody)
    client.post("/billing/charges/post/", {"charge_id": [rental.id]})
    rental.refresh_from_db()
    assert rental.status == "posted"


def test_the_finance_list_runs_a_constant_number_of_queries(users, active_custody):
    client = login_client(users[Role.FINANCE])
    client.get("/billing/charges/")  # warm caches (the saved-filters menu is read once, then cached)
    with CaptureQueriesContext(connection) as few:
        client.get("/billing/charges/")
    for i in range(30):
        services.add_charge(
            users[Role.FINANCE],
            active_custody.id,
            {
                "charge_type": "other",
                "description": f"line {i}",
                "quantity": "1",
                "unit_price": "1",
                "responsibility": "customer",
            },
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/billing/charges/")
    assert len(many) == len(few)


def test_the_detail_page_has_the_charges_tab_and_the_close_dialog_suggests_fuel(users, active_custody):
    client = login_client(users[Role.OPERATOR])
    page = client.get(f"/custodies/{active_custody.id}/?tab=charges").content.decode()
    assert f"/billing/custodies/{active_custody.id}/tab/" in page
    assert f"/billing/custodies/{active_custody.id}/close-suggestions/" in page
    partial = client.get(
        f"/billing/custodies/{active_custody.id}/close-suggestions/",
        {"odometer_km": "20100", "fuel_level": "6"},
    ).content.decode()
    assert 'value="fuel"' in partial and "checked" in partial
    unticked = client.get(
        f"/billing/custodies/{active_custody.id}/close-suggestions/",
        {"odometer_km": "20100", "fuel_level": "6", "suggestions_loaded": "1"},
    ).content.decode()
    assert "checked" not in unticked


def test_closing_from_the_page_posts_the_accepted_fuel_charge(users, active_custody):
    from django.utils import timezone

    from custodies.tests.conftest import attach

    attach(active_custody, "return_checklist")
    client = login_client(users[Role.OPERATOR])
    returned = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/custodies/{active_custody.id}/action/close/",
        {"returned_at": returned, "odometer_km": "20100", "fuel_level": "6", "accept_suggestions": ["fuel"]},
    )
    assert response.status_code in (200, 302), response.content[:500]
    active_custody.refresh_from_db()
    assert active_custody.status == "closed"
    assert Charge.objects.get(custody=active_custody, charge_type="fuel").status == "posted"


def test_a_draft_charge_is_edited_inline_and_a_stale_edit_is_refused(users, active_custody):
    client = login_client(users[Role.OPERATOR])
    charge = services.add_charge(
        users[Role.OPERATOR],
        active_custody.id,
        {
            "charge_type": "damage",
            "description": "Mirror",
            "quantity": "1",
            "unit_price": "100",
            "responsibility": "customer",
        },
    )
    tab = client.get(f"/billing/custodies/{active_custody.id}/tab/").content.decode()
    assert f"/billing/custodies/{active_custody.id}/charges/{charge.id}/edit/" in tab
    url = f"/billing/custodies/{active_custody.id}/charges/{charge.id}/edit/"
    fields = {
        "charge_type": "damage",
        "description": "Mirror and door",
        "quantity": "2",
        "unit_price": "150",
        "tax_rate": "5",
        "responsibility": "customer",
    }
    client.post(url, {**fields, "version": charge.version}, HTTP_HX_REQUEST="true")
    charge.refresh_from_db()
    assert (charge.description, charge.total) == ("Mirror and door", 315)
    stale = client.post(url, {**fields, "description": "old", "version": 1}, HTTP_HX_REQUEST="true")
    assert "changed by someone else" in stale.content.decode()
    charge.refresh_from_db()
    assert charge.description == "Mirror and door"


def test_a_capture_amount_that_is_not_a_number_is_an_error_not_a_500(users, active_custody):
    hold = services.record_hold(users[Role.OPERATOR], active_custody.id, "1000", "AUTH-9")
    response = login_client(users[Role.FINANCE]).post(
        f"/billing/custodies/{active_custody.id}/holds/capture/{hold.id}/",
        {"amount": "abc"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Capture between 0 and the held amount" in response.content.decode()
    hold.refresh_from_db()
    assert hold.status == "held"


@pytest.mark.parametrize("query", ["ordering=password", "cursor=garbage", "page=abc", "limit=0"])
def test_a_hand_edited_finance_list_address_is_a_400_with_the_reason_not_a_500(users, query):
    response = login_client(users[Role.FINANCE]).get(f"/billing/charges/?{query}")
    assert response.status_code == 400
    assert "This list address is not valid" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/notifications/deliveries/", "/integrations/deliveries/", "/audit/", "/quotes/"]
)
def test_a_stale_list_address_says_so_instead_of_showing_an_empty_list(users, path):
    response = login_client(users[Role.ADMIN]).get(f"{path}?cursor=garbage")
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "not valid" in html, html[:500]


def test_the_lines_the_system_wrote_read_in_the_readers_language(users, active_custody):
    import re
    from datetime import timedelta

    from django.utils import timezone, translation

    from accounts import services as account_services
    from billing import rental
    from custodies.models import Custody

    Custody.objects.filter(pk=active_custody.pk).update(handed_over_at=timezone.now() - timedelta(hours=20))
    active_custody.refresh_from_db()
    close(active_custody, users[Role.OPERATOR], odometer_km=20400, fuel_level=5, accept_suggestions=["fuel"])
    plate = active_custody.replacement_vehicle.plate
    finance = users[Role.FINANCE]
    english = login_client(finance).get(f"/billing/custodies/{active_custody.id}/tab/").content.decode()
    assert f'Replacement rental, <bdi dir="ltr">{plate}</bdi>' in english
    assert 'Fuel: returned <bdi dir="ltr">3</bdi>/8 tank short' in english

    account_services.set_language(finance, "ar")
    arabic = login_client(finance).get(f"/billing/custodies/{active_custody.id}/tab/").content.decode()
    with translation.override("ar"):
        rental_words = str(rental.DESCRIPTIONS["rental:customer"]).split("%(plate)s")[0]
        fuel_words = str(rental.DESCRIPTIONS["fuel"]).split("%(eighths)s")[0]
    assert rental_words != "Replacement rental, " and rental_words in arabic
    assert fuel_words != "Fuel: returned " and fuel_words in arabic
    assert "Replacement rental" not in arabic and "tank short" not in arabic
    # The plate and the dates keep their order on the right-to-left page.
    assert f'<bdi dir="ltr">{plate}</bdi>' in arabic
    assert re.search(r'<bdi dir="ltr">\d\d/\d\d/\d{4}</bdi>', arabic)


def test_the_close_dialog_suggests_in_the_readers_language(users, active_custody):
    from django.utils import translation

    from accounts import services as account_services
    from billing import rental

    operator = users[Role.OPERATOR]
    account_services.set_language(operator, "ar")
    partial = (
        login_client(operator)
        .get(
            f"/billing/custodies/{active_custody.id}/close-suggestions/",
            {"odometer_km": "20100", "fuel_level": "6"},
        )
        .content.decode()
    )
    with translation.override("ar"):
        fuel_words = str(rental.DESCRIPTIONS["fuel"]).split("%(eighths)s")[0]
    assert fuel_words in partial and "tank short" not in partial

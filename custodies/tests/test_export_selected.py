"""Export selected (issue 12): the rows ticked on the custody list, and only those the user may see."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client, make_user, make_vehicle
from custodies import services
from custodies.tests.conftest import draft_data
from fleet.models import RentalAgreement
from ops.services import set_switches

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_custody(other_branch, vehicle_class, customer, users):
    """A custody in AUH, where the DXB users do not work."""
    car = make_vehicle(other_branch, vehicle_class, "AUH-R-40004", status="rented")
    agreement = RentalAgreement.objects.create(
        agreement_no="RA-200002",
        customer=customer,
        vehicle=car,
        branch=other_branch,
        start_at=timezone.now() - timedelta(days=3),
        end_at=timezone.now() + timedelta(days=10),
        daily_rate=Decimal("150.00"),
        monthly_rate=Decimal("3000.00"),
        deposit_amount=Decimal("1000.00"),
    )
    admin = users[Role.ADMIN]
    with acting_as(admin, "web"):
        return services.create_custody(admin, draft_data(agreement, None))


def _csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_selected_contains_exactly_the_ticked_rows_the_user_may_see(
    users, make_draft, foreign_custody
):
    first, second, unticked = make_draft(), make_draft(), make_draft()
    client = login_client(users[Role.VIEWER])  # DXB only

    response = client.post(
        "/custodies/export-selected/",
        {"format": "csv", "id": [str(first.pk), str(foreign_custody.pk), "not-an-id", str(second.pk)]},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="custodies-selected.csv"'
    numbers = sorted(row["Custody no."] for row in _csv_rows(response))
    assert numbers == sorted([first.custody_no, second.custody_no])
    assert unticked.custody_no not in numbers and foreign_custody.custody_no not in numbers


def test_export_selected_as_xlsx_has_the_lists_columns(users, make_draft):
    custody = make_draft()

    response = login_client(users[Role.OPERATOR]).post(
        "/custodies/export-selected/", {"format": "xlsx", "id": [str(custody.pk)]}
    )

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Custody no.", "Status", "Branch", "Customer")
    assert [row[0] for row in rows[1:]] == [custody.custody_no]
    assert sheet.freeze_panes == "A2"


def test_the_admin_exports_a_ticked_row_of_any_branch(users, foreign_custody):
    response = login_client(users[Role.ADMIN]).post(
        "/custodies/export-selected/", {"format": "csv", "id": [str(foreign_custody.pk)]}
    )

    assert [row["Custody no."] for row in _csv_rows(response)] == [foreign_custody.custody_no]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "csv"}, "Tick the custodies to export first."),
        ({"format": "csv", "id": ["nope"]}, "Tick the custodies to export first."),
        ({"format": "pdf", "id": ["00000000-0000-0000-0000-000000000001"]}, "Choose CSV or XLSX."),
    ],
)
def test_nothing_ticked_or_an_unknown_format_sends_the_user_back_with_a_message(users, data, message):
    client = login_client(users[Role.OPERATOR])

    response = client.post("/custodies/export-selected/", {**data, "next": "/custodies/?status=draft"})

    assert response.status_code == 302
    assert response["Location"] == "/custodies/?status=draft"
    assert message in client.get(response["Location"]).text


def test_more_rows_than_a_page_are_refused_and_a_foreign_next_is_not_followed(users):
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(201)]

    response = login_client(users[Role.OPERATOR]).post(
        "/custodies/export-selected/", {"format": "csv", "id": ids, "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/custodies/"


def test_export_selected_still_works_during_maintenance(users, make_draft):
    custody = make_draft()
    set_switches(None, maintenance_mode=True, message="Back soon")

    response = login_client(users[Role.OPERATOR]).post(
        "/custodies/export-selected/", {"format": "csv", "id": [str(custody.pk)]}
    )

    assert response.status_code == 200
    assert [row["Custody no."] for row in _csv_rows(response)] == [custody.custody_no]


def test_the_list_has_a_select_all_box_and_a_box_per_row(users, make_draft):
    custody = make_draft()
    stranger = make_user(Role.VIEWER, email="v2@example.com", all_branches=True)

    body = login_client(stranger).get("/custodies/").text

    assert 'id="custody-selection"' in body and "data-maintenance-ok" in body
    assert 'data-select-all="custody-selection"' in body
    assert f'name="id" value="{custody.pk}" form="custody-selection"' in body
    assert 'id="export-selected-csv"' in body and 'id="export-selected-xlsx"' in body

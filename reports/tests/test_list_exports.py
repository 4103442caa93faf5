"""The approvals and users lists export CSV and XLSX of what the page lists, scoped like the page."""

import csv
import io

from openpyxl import load_workbook

from accounts.choices import Role
from approvals.models import Approval
from conftest import login_client, make_user
from custodies.models import Custody

from .conftest import custody, nov


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _level(c, role="supervisor"):
    return Approval.objects.create(
        custody=c, round=c.submission_round, level=1, role=role, due_at=nov(30, 18)
    )


def test_the_approvals_export_lists_my_levels_of_my_branches(kpi_data, users, other_branch, customer):
    mine = _level(kpi_data[5])
    foreign = custody(
        other_branch,
        customer,
        status="pending_approval",
        created_at=nov(29),
        submitted_at=nov(29),
        submission_round=1,
    )
    _level(foreign)
    Custody.objects.update(submitted_by=users[Role.OPERATOR])
    client = login_client(users[Role.SUPERVISOR])
    assert "approvals-csv" in client.get("/approvals/").content.decode()
    rows = _csv(client.get("/approvals/?format=csv"))
    assert rows[0][:3] == ["Custody no.", "Branch", "Customer"]
    assert [r[0] for r in rows[1:]] == [mine.custody.custody_no]
    assert rows[1][5] == "Supervisor" and rows[1][6] == "Pending"
    xlsx = client.get("/approvals/?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 2 and sheet.freeze_panes == "A2"


def test_the_users_export_follows_the_filters_and_is_for_admins(users, branch):
    make_user(Role.VIEWER, branch, email="=cmd|' /c calc'!a0@example.com")
    admin = login_client(users[Role.ADMIN])
    rows = _csv(admin.get("/manage/users/?format=csv&role=viewer"))
    assert rows[0][:3] == ["E-mail", "Full name", "Role"]
    assert sorted(r[0] for r in rows[1:]) == ["'=cmd|' /c calc'!a0@example.com", "viewer@example.com"]
    assert {r[4] for r in rows[1:]} == {branch.code}
    assert "users-xlsx" in admin.get("/manage/users/").content.decode()
    assert login_client(users[Role.MANAGER]).get("/manage/users/?format=csv").status_code == 403


def test_a_large_approvals_export_goes_to_the_worker(kpi_data, users, settings):
    settings.CUSTODY_EXPORT_SYNC_ROWS = 0
    _level(kpi_data[5])
    response = login_client(users[Role.SUPERVISOR]).get("/approvals/?format=xlsx")
    assert response.status_code == 302 and response["Location"].startswith("/reports/exports/")


def test_the_payments_export_is_scoped_to_my_branches_and_the_page_filters(kpi_data, users, other_branch):
    from decimal import Decimal

    from billing.models import Payment

    Payment.objects.create(
        custody=kpi_data[8], amount=Decimal("75.00"), method="cash", payer="customer", received_at=nov(9)
    )
    client = login_client(users[Role.MANAGER])
    assert "payments-csv" in client.get("/billing/charges/").content.decode()
    rows = _csv(client.get("/billing/charges/?export=payments&format=csv"))
    assert rows[0][:5] == ["Custody no.", "Branch", "Customer", "Received", "Amount"]
    assert sorted(r[4] for r in rows[1:]) == ["-20.00", "50.00", "500.00"]  # never AUH's 75.00
    november = _csv(client.get("/billing/charges/?export=payments&format=csv&date_from=2026-11-01"))
    assert sorted(r[4] for r in november[1:]) == ["-20.00", "500.00"]
    everyone = _csv(login_client(users[Role.ADMIN]).get("/billing/charges/?export=payments&format=csv"))
    assert "75.00" in {r[4] for r in everyone[1:]}


def test_delivery_logs_export_for_admins_only(users):
    from notifications.services import notify_users

    notify_users([users[Role.OPERATOR]], "announcement", "=SUM(A1:A2) hello", "Body")
    admin = login_client(users[Role.ADMIN])
    page = admin.get("/notifications/deliveries/?channel=email")
    assert page.status_code == 200 and "notification-deliveries-csv" in page.content.decode()
    rows = _csv(admin.get("/notifications/deliveries/?format=csv&channel=email"))
    assert rows[0][:3] == ["Created", "Recipient", "Channel"]
    assert [(r[1], r[4]) for r in rows[1:]] == [("operator@example.com", "'=SUM(A1:A2) hello")]
    assert _csv(admin.get("/notifications/deliveries/?format=csv&channel=sms"))[1:] == []
    webhooks = admin.get("/integrations/deliveries/?format=xlsx")
    assert webhooks.status_code == 200 and load_workbook(io.BytesIO(webhooks.content)).active.max_row == 1
    for role in (Role.MANAGER, Role.OPERATOR):
        client = login_client(users[role])
        assert client.get("/notifications/deliveries/?format=csv").status_code == 403
        assert client.get("/integrations/deliveries/?format=csv").status_code == 403

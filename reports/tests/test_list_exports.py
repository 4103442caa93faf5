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

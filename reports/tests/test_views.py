"""Dashboard cards and the Reports & analytics page."""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Role
from approvals.models import Approval
from conftest import login_client, make_user
from reports import cards, kpis

from .conftest import charge, custody

COUNT_CARDS = ["active", "approvals", "at_risk", "breached", "overdue", "created"]


@pytest.fixture
def recent(branch, other_branch, customer, users):
    """Custodies relative to now, so the dashboard's last 30 days see them."""
    now = timezone.now()
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    rows = [
        custody(branch, customer, status="active", created_at=ago(days=3), handed_over_at=ago(days=2),
                expected_return_at=ago(hours=5), submitted_at=ago(days=3), approved_at=ago(days=3, hours=-2),
                sla_close_due_at=ago(hours=5)),
        custody(branch, customer, status="active", created_at=ago(days=40), handed_over_at=ago(days=39),
                until_original_ready=True),
        custody(branch, customer, status="pending_approval", created_at=ago(days=1), submitted_at=ago(hours=3),
                sla_approve_due_at=now + timedelta(minutes=30)),
        custody(branch, customer, status="pending_approval", created_at=ago(days=2), submitted_at=ago(hours=6),
                sla_approve_due_at=ago(hours=1)),
        custody(branch, customer, status="voided", created_at=ago(days=4), voided_at=ago(days=4)),
        custody(branch, customer, status="draft", created_at=ago(days=5)),
        custody(branch, customer, status="closed", created_at=ago(days=10), submitted_at=ago(days=10),
                approved_at=ago(days=10, hours=-4), handed_over_at=ago(days=9), returned_at=ago(days=7),
                closed_at=ago(days=7)),
        custody(other_branch, customer, status="active", created_at=ago(days=2), handed_over_at=ago(days=1),
                expected_return_at=ago(hours=1)),
    ]  # fmt: skip
    for pending in rows[2:4]:
        Approval.objects.create(
            custody=pending, round=1, level=1, role="supervisor", due_at=pending.sla_approve_due_at
        )
    charge(rows[6], "damage", "300.00", "insurance", "posted", ago(days=7))
    return rows


def _list_count(client, href) -> int:
    body = client.get(href).content.decode()
    # The list's own count line (other text on the page, e.g. a selection counter, may say "0 custody").
    found = re.search(r'<span class="text-muted">(\d+) custod|(\d+) levels? waiting', body)
    assert found, href
    return int(found.group(1) or found.group(2))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPERVISOR, Role.FINANCE, Role.ADMIN])
def test_each_count_card_equals_the_count_of_the_list_it_links_to(recent, users, role):
    user = users[role]
    client = login_client(user)
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    shown = {c.key: c for c in dashboard.context["kpi_cards"]}
    checked = 0
    for key in COUNT_CARDS:
        card = shown[key]
        assert f'id="kpi-{card.dom_id}">{card.text}<' in dashboard.content.decode()
        assert _list_count(client, card.href) == card.value, (role, key, card.href)
        checked += 1
    assert checked == len(COUNT_CARDS)
    # The figures themselves: only the user's branches (the admin also sees AUH's overdue custody).
    assert shown["overdue"].value == (2 if role == Role.ADMIN else 1)
    assert shown["created"].value == (6 if role == Role.ADMIN else 5)  # voided and 40-day-old ones left out


def test_cards_follow_the_role(recent, users):
    keys = lambda role: [c.key for c in login_client(users[role]).get("/").context["kpi_cards"]]  # noqa: E731
    assert "charges" not in keys(Role.OPERATOR) and "turnaround" not in keys(Role.OPERATOR)
    assert "turnaround" in keys(Role.SUPERVISOR)
    assert {"charges", "outstanding"} <= set(keys(Role.FINANCE))
    assert {"charges", "outstanding", "turnaround", "duration"} <= set(keys(Role.MANAGER))


def test_trends_compare_with_the_previous_period(users, branch, customer):
    now = timezone.now()
    for days in (2, 3, 4):  # three this period
        custody(branch, customer, status="draft", created_at=now - timedelta(days=days))
    custody(branch, customer, status="draft", created_at=now - timedelta(days=35))  # one the period before
    created = {c.key: c for c in login_client(users[Role.VIEWER]).get("/").context["kpi_cards"]}["created"]
    assert created.value == 3
    assert created.trend == cards.Trend("+2", "up", "secondary")  # more custodies is neither good nor bad
    assert cards._trend(80.0, 90.0, "up", " pts", 1).tone == "danger"
    assert cards._trend(None, 90.0, "up") is None


def test_the_analytics_page_draws_every_chart_from_server_data(kpi_data, users):
    client = login_client(users[Role.MANAGER])
    response = client.get("/reports/", {"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Coming soon" not in body
    assert "vendor/chartjs/chart.umd.min.js" in body and "cdn" not in body.lower()
    data = json.loads(
        re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', body, re.S)[1]
    )
    assert [c["key"] for c in data] == list(
        response.context["charts"] and [c.key for c in response.context["charts"]]
    )
    assert {c["key"] for c in data} == {
        "per-day", "status", "branch", "custodian", "turnaround", "sla", "charges", "customers", "vehicles", "recovery",
    }  # fmt: skip
    per_day = next(c for c in data if c["key"] == "per-day")
    assert len(per_day["labels"]) == 30 and sum(sum(d["data"]) for d in per_day["datasets"]) == 6
    charges = next(c for c in response.context["charts"] if c.key == "charges")
    assert [
        "Damage",
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("210.00"),
        Decimal("0.00"),
        Decimal("210.00"),
    ] in (charges.rows)


def test_a_one_branch_viewer_never_sees_another_branch_in_charts(kpi_data, branch, other_branch):
    viewer = make_user(Role.VIEWER, branch, email="dxb.viewer@example.com")
    client = login_client(viewer)
    response = client.get("/reports/", {"from": "2026-11-01", "to": "2026-11-30"})
    branches = next(c for c in response.context["charts"] if c.key == "branch")
    assert branches.labels == ["DXB"]
    assert client.get("/reports/", {"branch_id": other_branch.pk}).status_code == 404


def test_the_period_and_branch_live_in_the_url_and_bad_ones_are_a_400(users, branch):
    client = login_client(users[Role.VIEWER])
    response = client.get("/reports/", {"from": "2026-11-01", "to": "2026-11-10", "branch_id": branch.pk})
    assert response.context["period"] == kpis.Period(
        *[timezone.datetime(2026, 11, d).date() for d in (1, 10)]
    )
    assert f"branch_id={branch.pk}" in response.context["query"]
    assert client.get("/reports/", {"from": "2026-11-10", "to": "2026-11-01"}).status_code == 400
    assert client.get("/reports/", {"from": "garbage"}).status_code == 400
    default = client.get("/reports/").context["period"]
    assert default.start == timezone.localdate().replace(day=1)  # this month


def test_every_chart_exports_csv_and_xlsx_of_its_table(kpi_data, users):
    client = login_client(users[Role.MANAGER])
    base = {"from": "2026-11-01", "to": "2026-11-30"}
    response = client.get("/reports/", {**base, "chart": "recovery", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Insurer", "Billed", "Paid", "Outstanding"]
    assert rows[1] == ["(no insurer recorded)", "210.00", "0.00", "210.00"]  # the manager works in DXB
    response = client.get("/reports/", {**base, "chart": "kpis", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["Custodies created"] == 6
    assert client.get("/reports/", {**base, "chart": "nope", "format": "csv"}).status_code == 404


def test_the_bucket_charts_speak_arabic_in_their_exports(kpi_data, users):
    from django.utils import translation

    from reports import analytics

    with translation.override("ar"):
        (turnaround,) = analytics.build(
            kpis.Scope(users[Role.ADMIN]), kpis.Period.last_days(60), only="turnaround"
        )
        (vehicles,) = analytics.build(
            kpis.Scope(users[Role.ADMIN]), kpis.Period.last_days(60), only="vehicles"
        )
    assert turnaround.labels[0] == "أقل من ساعة" and turnaround.labels[-1] == "أكثر من 3 أيام"
    assert vehicles.labels[0] == "0–2 يوم"
    assert all(isinstance(label, str) for label in turnaround.labels + vehicles.labels)  # exports need text

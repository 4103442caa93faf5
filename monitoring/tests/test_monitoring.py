"""Request id, per-minute rollups (never a row per request), /metrics, the Monitoring page, triggers."""

import json
import logging
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.choices import Role
from conftest import login_client
from core.logging import JsonFormatter, RequestContextFilter
from monitoring import collector, jobs, triggers
from monitoring.models import Probe, RequestRollup, RollbackThresholds, UserActivity
from notifications.models import Notification


@pytest.fixture(autouse=True)
def _fresh_collector():
    collector.reset()
    yield
    collector.reset()


def test_every_response_carries_a_request_id_and_a_good_incoming_one_is_kept(client, db):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 36
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")
    assert kept["X-Request-ID"] == "lb-1234abcd"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert forged["X-Request-ID"] != "bad id\nwith newline"


def test_server_timing_is_sent_only_when_switched_on(client, db, settings):
    assert "Server-Timing" not in client.get("/healthz")
    settings.CUSTODY_SERVER_TIMING = True
    header = client.get("/healthz")["Server-Timing"]
    name, duration = header.split(";dur=")
    assert name == "app" and float(duration) >= 0


def test_the_not_found_page_shows_the_reference_to_quote(users):
    response = login_client(users[Role.VIEWER]).get("/custodies/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response["X-Request-ID"] in response.content.decode()


def test_the_server_error_page_shows_the_reference(rf):
    from config.views import server_error

    request = rf.get("/")
    request.request_id = "ref-12345678"
    response = server_error(request)
    assert response.status_code == 500 and "ref-12345678" in response.content.decode()


def test_many_requests_make_one_rollup_row_per_minute_route_role_and_status(users):
    client = login_client(users[Role.OPERATOR])
    for _ in range(5):
        assert client.get("/custodies/").status_code == 200
    client.get("/custodies/00000000-0000-0000-0000-000000000000/")
    assert RequestRollup.objects.count() == 0  # nothing written per request
    collector.flush(timezone.now() + timedelta(minutes=1))
    ok = RequestRollup.objects.filter(route_group="page:custodies", role="operator", status_class="2xx")
    assert ok.count() in (1, 2)  # one row per minute (two if the loop crossed a minute boundary)
    buckets = (
        "le_10",
        "le_25",
        "le_50",
        "le_100",
        "le_250",
        "le_500",
        "le_1000",
        "le_2500",
        "le_5000",
        "le_inf",
    )
    sums = ok.aggregate(n=Sum("count"), ms=Sum("duration_ms_sum"), **{b: Sum(b) for b in buckets})
    assert sums["n"] == 5 and sum(sums[b] for b in buckets) == 5 and sums["ms"] > 0
    missing = RequestRollup.objects.filter(route_group="page:custodies", status_class="4xx")
    assert missing.aggregate(n=Sum("count"))["n"] == 1
    assert UserActivity.objects.filter(user=users[Role.OPERATOR]).count() == 1


def test_two_processes_add_up_instead_of_overwriting(db):
    now = timezone.now().replace(second=0, microsecond=0)
    for duration in (5.0, 300.0):
        collector.record("api:custodies", "admin", "2xx", duration, 3, now)
        collector.flush(now + timedelta(minutes=1))  # as if each came from another process
    row = RequestRollup.objects.get(route_group="api:custodies")
    assert (row.count, row.le_10, row.le_500, row.duration_ms_max, row.query_count) == (2, 1, 1, 300.0, 6)


def test_metrics_is_hidden_without_a_token_and_refuses_a_wrong_one(client, settings, db):
    settings.CUSTODY_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.CUSTODY_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_metrics_in_prometheus_format_with_the_custody_names(client, settings, users):
    settings.CUSTODY_METRICS_TOKEN = "s3cret-token"
    login_client(users[Role.VIEWER]).get("/custodies/")
    collector.record("login", "viewer", "success", 0.0, 0, timezone.now())
    collector.flush(timezone.now() + timedelta(minutes=1))
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert 'custody_http_requests_total{route_group="page:custodies",status="2xx"} 1.0' in body
    assert 'custody_http_request_duration_seconds_bucket{le="+Inf",route_group="page:custodies"} 1.0' in body
    assert 'custody_custodies{status="draft"} 0.0' in body
    assert 'custody_logins_total{outcome="success"} 2.0' in body  # force_login is a login too
    assert "custody_queue_depth 0.0" in body
    assert 'custody_active_users{window="7d"} 1.0' in body
    assert "custody_webhook_deliveries_total" in body or "custody_webhook_deliveries" in body


def test_the_monitoring_page_is_for_admins_with_health_adoption_and_support(users):
    assert login_client(users[Role.MANAGER]).get("/manage/monitoring/").status_code == 403
    admin = login_client(users[Role.ADMIN])
    admin.get("/custodies/")
    collector.flush(timezone.now() + timedelta(minutes=1))
    jobs.flush_and_probe(timezone.now())
    response = admin.get("/manage/monitoring/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="health"' in body and 'id="adoption"' in body and 'id="support"' in body
    assert "page:custodies" in body
    assert response.context["health"]["uptime_day"] == 100.0
    assert "No support tickets yet" in body  # the empty state until the support app has tickets


def test_admins_edit_the_rollback_thresholds(users):
    admin = login_client(users[Role.ADMIN])
    response = admin.post(
        "/manage/monitoring/",
        {"min_weekly_adoption_pct": "40", "max_p95_worsening_pct": "50", "max_error_rate_pct": "2.5"},
    )
    assert response.status_code == 302
    assert str(RollbackThresholds.current().max_error_rate_pct) == "2.50"


def test_an_error_rate_above_the_threshold_notifies_admins_once_a_day(users):
    now = timezone.now()
    for _ in range(97):
        collector.record("api:custodies", "operator", "2xx", 20.0, 1, now - timedelta(hours=1))
    for _ in range(3):
        collector.record("api:custodies", "operator", "5xx", 20.0, 1, now - timedelta(hours=1))
    collector.flush(now)
    fired = {t.key: t for t in triggers.evaluate(now)}
    assert fired["errors"].fired and fired["errors"].value == 3.0
    assert triggers.check(now)["notified"] >= 1
    assert triggers.check(now)["notified"] == 0  # not again today
    titles = set(
        Notification.objects.filter(user=users[Role.ADMIN], kind="rollback_trigger").values_list(
            "title", flat=True
        )
    )
    assert titles == {"Rollback trigger: errors", "Rollback trigger: adoption"}  # nobody active: adoption 0 %


def test_adoption_below_half_of_the_active_accounts_fires(users):
    now = timezone.now()
    UserActivity.objects.create(day=now.date(), user=users[Role.ADMIN], role="admin")
    adoption = {t.key: t for t in triggers.evaluate(now)}["adoption"]
    assert adoption.fired and adoption.value == round(100 / len(users), 1)


def test_rollups_are_kept_90_days(db):
    now = timezone.now().replace(second=0, microsecond=0)
    RequestRollup.objects.create(
        minute=now - timedelta(days=91), route_group="a", role="x", status_class="2xx"
    )
    RequestRollup.objects.create(
        minute=now - timedelta(days=89), route_group="b", role="x", status_class="2xx"
    )
    Probe.objects.create(minute=now - timedelta(days=91), ok=True)
    jobs.retention(now)
    assert list(RequestRollup.objects.values_list("route_group", flat=True)) == ["b"]
    assert not Probe.objects.exists()


def test_log_lines_are_json_with_request_id_user_route_and_duration():
    record = logging.makeLogRecord(
        {"msg": "GET %s 200", "args": ("/custodies/",), "levelname": "INFO", "name": "custody.request",
         "request_id": "rid-12345678", "user_id": "42", "route": "page:custodies", "duration_ms": 12.5}
    )  # fmt: skip
    RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /custodies/ 200"
    assert (line["request_id"], line["user_id"], line["route"], line["duration_ms"]) == (
        "rid-12345678", "42", "page:custodies", 12.5,
    )  # fmt: skip


def test_the_page_lists_the_slowest_routes_onboarding_and_ticket_resolution_time(users):
    from support.models import OnboardingTour, SupportTicket
    from support.services import create_ticket

    now = timezone.now()
    minute = now - timedelta(minutes=30)
    for duration in (900.0, 1100.0):
        collector.record("api:reports", "manager", "2xx", duration, 12, minute)
    for _ in range(5):
        collector.record("page:custodies", "operator", "2xx", 40.0, 0, minute)
    collector.flush(now)
    OnboardingTour.objects.create(user=users[Role.OPERATOR], role="operator", completed_at=now)
    OnboardingTour.objects.create(user=users[Role.VIEWER], role="viewer", skipped_at=now)
    for hours in (2, 4, 10):
        ticket = create_ticket(users[Role.VIEWER], subject="Slow", description="The list is slow.")
        SupportTicket.objects.filter(pk=ticket.pk).update(
            created_at=now - timedelta(hours=hours + 1),
            resolved_at=now - timedelta(hours=1),
            status="resolved",
        )

    html = login_client(users[Role.ADMIN]).get("/manage/monitoring/").content.decode()
    slow = html.split('id="slow-routes"', 1)[1].split("</table>", 1)[0]
    assert slow.index("api:reports") < slow.index("page:custodies")  # slowest first
    assert '<td class="text-end">1000</td>' in slow and "12.0" in slow  # mean ms, queries per request
    active = users[Role.ADMIN].__class__.objects.filter(is_active=True).count()
    assert f'id="onboarding"><bdi dir="ltr">{round(100 / active, 1)} %' in html
    assert 'id="resolution-time"><bdi dir="ltr">4.0 h / 8.8 h' in html


def test_slow_statements_are_listed_by_shape_with_their_route_and_every_request_counts_its_queries(
    users, settings
):
    from monitoring.models import SlowQuery

    settings.CUSTODY_SLOW_QUERY_MS = 0  # every statement counts as slow here
    client = login_client(users[Role.OPERATOR])
    for _ in range(2):
        assert client.get("/custodies/").status_code == 200
    assert not SlowQuery.objects.exists()  # nothing written per request
    collector.flush(timezone.now() + timedelta(minutes=1))

    rows = SlowQuery.objects.filter(route_group="page:custodies")
    assert rows.exists()
    assert all("%s" in r.statement or "WHERE" not in r.statement for r in rows)  # no values, shapes only
    assert rows.filter(count__gte=2).exists()  # the same statement in two requests: one row
    listed = RequestRollup.objects.filter(route_group="page:custodies").aggregate(q=Sum("query_count"))
    assert listed["q"] > 0  # counted without DEBUG's query log

    html = login_client(users[Role.ADMIN]).get("/manage/monitoring/").content.decode()
    section = html.split('id="slow-queries"', 1)[1].split("</ul>", 1)[0]
    assert "page:custodies" in section and "SELECT" in section


def test_a_fast_statement_is_not_recorded_and_in_lists_of_any_length_are_one_shape(users, settings):
    from monitoring.models import SlowQuery

    settings.CUSTODY_SLOW_QUERY_MS = 60_000
    assert login_client(users[Role.OPERATOR]).get("/custodies/").status_code == 200
    collector.flush(timezone.now() + timedelta(minutes=1))
    assert not SlowQuery.objects.exists()
    short = collector.statement_shape('SELECT 1 FROM "t" WHERE "id" IN (%s, %s)')
    long = collector.statement_shape('SELECT 1 FROM "t"\n WHERE "id" IN (%s, %s, %s, %s, %s)')
    assert short == long == 'SELECT 1 FROM "t" WHERE "id" IN (%s, …)'


def test_slow_statements_are_kept_90_days(db):
    from monitoring.models import SlowQuery

    now = timezone.now().replace(second=0, microsecond=0)
    for days, name in ((91, "old"), (89, "kept")):
        SlowQuery.objects.create(
            minute=now - timedelta(days=days), fingerprint=name, statement=name, route_group="x", count=1
        )
    jobs.retention(now)
    assert list(SlowQuery.objects.values_list("fingerprint", flat=True)) == ["kept"]

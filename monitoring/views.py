"""Admin Monitoring page (health, adoption, support) and the token-protected `/metrics`."""

import hmac
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import permissions

from . import figures, metrics, triggers
from .models import RollbackThresholds

SLOW_ROUTES = 10


class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = RollbackThresholds
        fields = ["min_weekly_adoption_pct", "max_p95_worsening_pct", "max_error_rate_pct"]


def _ops_health(now):
    """What ops already records: workers, job runs, queue, webhook deliveries (last 24 h)."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from integrations.models import WebhookDelivery
    from ops.jobs import all_jobs
    from ops.models import JobRun, WorkerHeartbeat

    day_ago = now - timedelta(days=1)
    deliveries = dict(
        WebhookDelivery.objects.filter(created_at__gte=day_ago)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    finished = deliveries.get("delivered", 0) + deliveries.get("failed", 0)
    runs = {run.name: run for run in JobRun.objects.all()}
    return {
        "workers": WorkerHeartbeat.objects.order_by("-seen_at")[:20],
        "fresh_after": now - timedelta(minutes=2),
        "jobs": [{"job": job, "run": runs.get(job.name)} for job in all_jobs()],
        "queue_ready": DBTaskResult.objects.filter(status="READY").count(),
        "queue_running": DBTaskResult.objects.filter(status="RUNNING").count(),
        "queue_failed_day": DBTaskResult.objects.filter(status="FAILED", finished_at__gte=day_ago).count(),
        "deliveries": deliveries,
        "success_rate": round(100 * deliveries.get("delivered", 0) / finished, 1) if finished else None,
    }


@login_required
def monitoring(request):
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    thresholds = RollbackThresholds.current()
    form = ThresholdsForm(request.POST or None, instance=thresholds)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Rollback thresholds saved."))
        return redirect("monitoring")
    now = timezone.now()
    hour = figures.Window.last(now, hours=1)
    day = figures.Window.last(now, days=1)
    week = figures.Window.last(now, days=7)
    route_stats = figures.route_stats(day)  # one aggregate for both route tables
    routes, slowest = figures.by_route_group(route_stats)
    size = figures.database_size_bytes()
    context = {
        "form": form,
        "health": {
            "uptime_day": figures.uptime(day),
            "uptime_week": figures.uptime(week),
            "rpm_hour": figures.requests_per_minute(hour),
            "times_day": figures.response_times(day),
            "errors_day": figures.error_rates(day),
            "database_mb": round(size / 1024 / 1024, 1) if size is not None else None,
        },
        "routes": routes,
        "slowest": slowest,
        "slow_routes": figures.slow_routes(route_stats, limit=SLOW_ROUTES),
        "slow_queries": figures.slow_queries(day),
        "slow_query_ms": settings.CUSTODY_SLOW_QUERY_MS,
        "adoption": {
            "users": figures.active_users(now),
            "daily": figures.daily_active_series(now),
            "logins": figures.logins(week),
            "custodies": figures.custodies_created_per_day(now),
            "features": figures.feature_usage(week),
            "onboarding": figures.onboarding(),
        },
        "support": figures.support(now),
        "triggers": triggers.evaluate(now, thresholds),
        **_ops_health(now),
    }
    return render(request, "monitoring/monitoring.html", context)


@require_GET
def prometheus_metrics(request):
    """404 unless CUSTODY_METRICS_TOKEN is set; then only with `Authorization: Bearer <token>`."""
    token = settings.CUSTODY_METRICS_TOKEN
    if not token:
        raise Http404
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")

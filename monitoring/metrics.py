"""`GET /metrics` in Prometheus text format (DESIGN §15.2), built from the rollup rows so every
process's requests are counted (an in-process registry would only see the process that answers)."""

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from . import figures
from .models import BUCKET_FIELDS, BUCKETS_MS, RequestRollup


class RollupCollector:
    """Counters since the oldest rollup kept (90 days); Prometheus' rate() copes with the rare drop."""

    def collect(self):
        requests = CounterMetricFamily(
            "custody_http_requests",
            "HTTP requests by route group and status class",
            labels=["route_group", "status"],
        )
        rows = (
            RequestRollup.objects.exclude(route_group="login")
            .values("route_group", "status_class")
            .annotate(n=Sum("count"))
            .order_by("route_group", "status_class")
        )
        for row in rows:
            requests.add_metric([row["route_group"], row["status_class"]], row["n"] or 0)
        yield requests

        duration = HistogramMetricFamily(
            "custody_http_request_duration_seconds", "Response time of HTTP requests", labels=["route_group"]
        )
        per_group = (
            RequestRollup.objects.exclude(route_group="login")
            .values("route_group")
            .annotate(ms=Sum("duration_ms_sum"), **{name: Sum(name) for name in BUCKET_FIELDS})
            .order_by("route_group")
        )
        for row in per_group:
            cumulative, buckets = 0, []
            for bound, name in zip([*BUCKETS_MS, None], BUCKET_FIELDS, strict=True):
                cumulative += row[name] or 0
                buckets.append(("+Inf" if bound is None else str(bound / 1000), cumulative))
            duration.add_metric([row["route_group"]], buckets, (row["ms"] or 0) / 1000)
        yield duration

        logins = CounterMetricFamily("custody_logins", "Login attempts by outcome", labels=["outcome"])
        outcomes = dict(
            RequestRollup.objects.filter(route_group="login")
            .values_list("status_class")
            .annotate(n=Sum("count"))
        )
        for outcome in ("success", "failure"):
            logins.add_metric([outcome], outcomes.get(outcome, 0))
        yield logins

        from custodies.choices import CustodyStatus
        from custodies.models import Custody

        custodies = GaugeMetricFamily("custody_custodies", "Custodies by status", labels=["status"])
        counts = dict(Custody.objects.order_by().values_list("status").annotate(n=Count("pk")))
        for status in CustodyStatus.values:
            custodies.add_metric([status], counts.get(status, 0))
        yield custodies

        from django_tasks_db.models import DBTaskResult

        queue = GaugeMetricFamily("custody_queue_depth", "Background tasks waiting to run")
        queue.add_metric([], DBTaskResult.objects.filter(status="READY").count())
        yield queue

        from integrations.models import WebhookDelivery

        deliveries = CounterMetricFamily(
            "custody_webhook_deliveries", "Webhook deliveries by outcome", labels=["outcome"]
        )
        for status, n in WebhookDelivery.objects.order_by().values_list("status").annotate(n=Count("pk")):
            deliveries.add_metric([status], n)
        yield deliveries

        users = figures.active_users(timezone.now())
        active = GaugeMetricFamily("custody_active_users", "Users active in the window", labels=["window"])
        active.add_metric(["1d"], users["daily"])
        active.add_metric(["7d"], users["weekly"])
        yield active


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RollupCollector())
    return generate_latest(registry)

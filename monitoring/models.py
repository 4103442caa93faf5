"""Per-minute rollups of what the product did (DESIGN §13): never one row per request.

The middleware aggregates in memory and each process adds its counts to these rows once a minute
(`collector.flush`), with `F()` increments so several processes add up instead of overwriting.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Upper bounds (ms) of the response-time histogram buckets; the last bucket is everything slower.
BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
BUCKET_FIELDS = [f"le_{b}" for b in BUCKETS_MS] + ["le_inf"]


class RequestRollup(models.Model):
    minute = models.DateTimeField()
    route_group = models.CharField(max_length=60)  # "page:custodies", "api:reports", "login"...
    role = models.CharField(max_length=20)  # the user's role or "anonymous"
    status_class = models.CharField(max_length=8)  # 2xx, 3xx, 4xx, 5xx (logins: success, failure)
    count = models.PositiveIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    duration_ms_max = models.FloatField(default=0)
    query_count = models.PositiveIntegerField(default=0)
    # Response-time histogram (counts per bucket, not cumulative).
    le_10 = models.PositiveIntegerField(default=0)
    le_25 = models.PositiveIntegerField(default=0)
    le_50 = models.PositiveIntegerField(default=0)
    le_100 = models.PositiveIntegerField(default=0)
    le_250 = models.PositiveIntegerField(default=0)
    le_500 = models.PositiveIntegerField(default=0)
    le_1000 = models.PositiveIntegerField(default=0)
    le_2500 = models.PositiveIntegerField(default=0)
    le_5000 = models.PositiveIntegerField(default=0)
    le_inf = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "route_group", "role", "status_class"], name="rollup_one_row_per_key"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="rollup_minute")]

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {self.route_group} {self.role} {self.status_class}"


class SlowQuery(models.Model):
    """Statements of requests that took at least CUSTODY_SLOW_QUERY_MS, per minute and statement shape
    (the SQL as Django sends it: parameters are placeholders, IN lists collapsed)."""

    minute = models.DateTimeField()
    fingerprint = models.CharField(max_length=40)  # sha1 of the statement shape
    statement = models.TextField()
    route_group = models.CharField(max_length=60)
    count = models.PositiveIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    duration_ms_max = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "fingerprint", "route_group"], name="slow_query_one_row_per_key"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="slow_query_minute")]

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {self.route_group} {self.statement[:60]}"


class UserActivity(models.Model):
    """One row per user per day they used the product (daily/weekly active users)."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "user"], name="activity_one_row_per_user_day")]
        indexes = [models.Index(fields=["day"], name="activity_day")]

    def __str__(self):
        return f"{self.day} {self.user_id}"


class Probe(models.Model):
    """The app's own probe, written by the worker every minute: uptime = ok minutes ÷ minutes probed."""

    minute = models.DateTimeField(unique=True)
    ok = models.BooleanField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {'ok' if self.ok else 'down'}"


class RollbackThresholds(models.Model):
    """Rollout rollback triggers (issue 9), editable by admins on the monitoring page. One row."""

    min_weekly_adoption_pct = models.DecimalField(
        # xgettext:no-python-format
        _("minimum weekly adoption, % of active users"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("50"),
    )
    max_p95_worsening_pct = models.DecimalField(
        _("maximum p95 worsening against the previous week, %"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("50"),
    )
    max_error_rate_pct = models.DecimalField(
        _("maximum server error rate, %"), max_digits=5, decimal_places=2, default=Decimal("1")
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return "rollback thresholds"

    @classmethod
    def current(cls) -> "RollbackThresholds":
        return cls.objects.order_by("pk").first() or cls()

"""Request id, request log line and metrics for every request (placed early in MIDDLEWARE).

Cost: one perf_counter pair, a dict update under a lock, one log record; rows are written once a
minute per process, never per request (bench/middleware.py measures it: < 0.5 ms).
"""

import logging
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core import requestid

from . import collector

logger = logging.getLogger("custody.request")
SKIP_PREFIXES = ("/static/", "/favicon", "/metrics")


def route_group(request) -> str:
    """A small, fixed set of labels (Prometheus cardinality): api:<resource>, page:<section>."""
    path = request.path
    if path.startswith("/api/"):
        parts = path.split("/")
        resource = parts[3] if len(parts) > 3 and parts[2] == "v1" else parts[2] if len(parts) > 2 else ""
        return f"api:{resource or 'root'}"[:60]
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "page:unmatched"
    section = path.strip("/").split("/", 1)[0] or "dashboard"
    return f"page:{section}"[:60]


class _QueryTimer:
    """A connection execute wrapper: counts the request's statements and keeps the slow ones (two
    perf_counter calls per statement; nothing is written per request)."""

    def __init__(self, threshold_ms: float):
        self.threshold_ms = threshold_ms
        self.count = 0
        self.slow: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            if duration_ms >= self.threshold_ms:
                self.slow.append((sql, duration_ms))


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = requestid.new_id(request.headers.get("X-Request-ID"))
        request.request_id = rid
        token = requestid.set_current(rid)
        started = time.perf_counter()
        timer = _QueryTimer(settings.CUSTODY_SLOW_QUERY_MS)
        try:
            with connection.execute_wrapper(timer):
                response = self.get_response(request)
        finally:
            requestid.reset(token)
        duration_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = rid
        if settings.CUSTODY_SERVER_TIMING:
            # The standard header browsers' developer tools show; the bench reads server time from it.
            response["Server-Timing"] = f"app;dur={duration_ms:.1f}"
        if request.path.startswith(SKIP_PREFIXES):
            return response
        user = getattr(request, "user", None)
        authenticated = user is not None and user.is_authenticated
        role = (user.role or "unknown") if authenticated else "anonymous"
        group = route_group(request)
        status_class = f"{response.status_code // 100}xx"
        now = timezone.now()
        collector.record(group, role, status_class, duration_ms, timer.count, now)
        if timer.slow:
            collector.record_slow_queries(timer.slow, group, now)
        if authenticated:
            collector.record_user(user.pk, role, now)
        logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "request_id": rid,
                "user_id": str(user.pk) if authenticated else "",
                "route": group,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
            },
        )
        if collector.due(now) and settings.CUSTODY_METRICS_FLUSH_IN_REQUEST:
            collector.flush(now)
        return response

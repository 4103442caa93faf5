"""In-memory aggregation of requests per minute, flushed to `RequestRollup` rows.

`record()` runs on every request and must stay cheap (< 0.5 ms, measured in bench/): a dict lookup
and a few additions under a lock. Rows are written once a minute per process by `flush()`, called by
the middleware when the minute changes (and by the worker's job, so quiet processes flush too).
"""

import hashlib
import logging
import re
import threading
from bisect import bisect_left
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F

from .models import BUCKET_FIELDS, BUCKETS_MS, RequestRollup, SlowQuery, UserActivity

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (minute, route_group, role, status_class) → [count, sum_ms, max_ms, queries, *bucket counts]
_rollups: dict[tuple, list] = {}
_active: set[tuple[date, int | str, str]] = set()
# (minute, fingerprint, route_group) → [statement, count, sum_ms, max_ms]
_slow: dict[tuple, list] = {}
_IN_LIST = re.compile(r"\((?:\s*%s\s*,)+\s*%s\s*\)")
_SPACES = re.compile(r"\s+")
_flushed_minute: datetime | None = None


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def record(route_group: str, role: str, status_class: str, duration_ms: float, queries: int, now: datetime):
    minute = minute_of(now)
    key = (minute, route_group, role, status_class)
    bucket = 4 + bisect_left(BUCKETS_MS, duration_ms)
    with _lock:
        row = _rollups.get(key)
        if row is None:
            row = _rollups[key] = [0, 0.0, 0.0, 0] + [0] * len(BUCKET_FIELDS)
        row[0] += 1
        row[1] += duration_ms
        if duration_ms > row[2]:
            row[2] = duration_ms
        row[3] += queries
        row[bucket] += 1


def statement_shape(sql: str) -> str:
    """The statement as Django sends it (parameters already placeholders), IN lists of any length alike."""
    return _SPACES.sub(" ", _IN_LIST.sub("(%s, …)", sql)).strip()[:4000]


def record_slow_queries(queries: list[tuple[str, float]], route_group: str, now: datetime):
    minute = minute_of(now)
    with _lock:
        for sql, duration_ms in queries:
            shape = statement_shape(sql)
            key = (minute, hashlib.sha1(shape.encode(), usedforsecurity=False).hexdigest(), route_group)
            row = _slow.get(key)
            if row is None:
                row = _slow[key] = [shape, 0, 0.0, 0.0]
            row[1] += 1
            row[2] += duration_ms
            row[3] = max(row[3], duration_ms)


def record_user(user_id, role: str, now: datetime):
    with _lock:
        _active.add((now.date(), user_id, role))


def due(now: datetime) -> bool:
    """True once per minute: the middleware flushes completed minutes then."""
    return _flushed_minute is None or minute_of(now) > _flushed_minute


def flush(now: datetime | None = None, everything: bool = False) -> int:
    """Add the completed minutes (or everything) to the database; returns the rows touched."""
    global _flushed_minute
    now = now or datetime.now(UTC)
    current = minute_of(now)
    with _lock:
        _flushed_minute = current
        keys = [k for k in _rollups if everything or k[0] < current]
        batch = {k: _rollups.pop(k) for k in keys}
        slow = {k: _slow.pop(k) for k in [k for k in _slow if everything or k[0] < current]}
        active = set(_active)
        _active.clear()
    if not batch and not active and not slow:
        return 0
    try:
        with transaction.atomic():
            for (minute, group, role, status), row in batch.items():
                increments = {
                    "count": F("count") + row[0],
                    "duration_ms_sum": F("duration_ms_sum") + row[1],
                    "query_count": F("query_count") + row[3],
                    **{name: F(name) + row[4 + i] for i, name in enumerate(BUCKET_FIELDS) if row[4 + i]},
                }
                key = {"minute": minute, "route_group": group, "role": role, "status_class": status}
                rollup, _created = RequestRollup.objects.get_or_create(**key)
                RequestRollup.objects.filter(pk=rollup.pk).update(**increments)
                RequestRollup.objects.filter(pk=rollup.pk, duration_ms_max__lt=row[2]).update(
                    duration_ms_max=row[2]
                )
            for (minute, fingerprint, group), (statement, count, sum_ms, max_ms) in slow.items():
                key = {"minute": minute, "fingerprint": fingerprint, "route_group": group}
                row, _created = SlowQuery.objects.get_or_create(**key, defaults={"statement": statement})
                SlowQuery.objects.filter(pk=row.pk).update(
                    count=F("count") + count, duration_ms_sum=F("duration_ms_sum") + sum_ms
                )
                SlowQuery.objects.filter(pk=row.pk, duration_ms_max__lt=max_ms).update(duration_ms_max=max_ms)
            UserActivity.objects.bulk_create(
                [UserActivity(day=day, user_id=user_id, role=role) for day, user_id, role in active],
                ignore_conflicts=True,
            )
    except Exception:  # monitoring must never break a request; the counts of this minute are lost
        logger.exception("monitoring flush failed")
        return 0
    return len(batch)


def pending() -> int:
    with _lock:
        return len(_rollups)


def reset():
    """Tests: forget what is in memory."""
    global _flushed_minute
    with _lock:
        _rollups.clear()
        _slow.clear()
        _active.clear()
        _flushed_minute = None


def previous_minutes(now: datetime, minutes: int) -> datetime:
    return minute_of(now) - timedelta(minutes=minutes)

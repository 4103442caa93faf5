"""core.pgloaders: PostgreSQL timestamptz values through psycopg's C loader, still aware UTC datetimes."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from core import pgloaders

postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")

VALUES = [
    datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC),
    datetime(1999, 12, 31, 22, 0, tzinfo=timezone(timedelta(hours=4))),  # another offset: the same instant
    datetime(2030, 3, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@postgres
@pytest.mark.django_db
def test_postgresql_decodes_timestamptz_with_the_c_loader_as_aware_utc():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader is pgloaders._LOADER
    with connection.cursor() as cursor:
        # Django's create_cursor() did not put its own (Python) loader back on the cursor
        assert not issubclass(cursor.cursor.adapters.get_loader(1184, 0), BaseTzLoader)
        cursor.execute(
            "SELECT v, v IS NULL FROM unnest(%s::timestamptz[]) AS v UNION ALL SELECT NULL, true",
            [VALUES],
        )
        rows = cursor.fetchall()
    got = [v for v, _ in rows]
    assert got[:-1] == VALUES
    assert got[-1] is None
    for value in got[:-1]:
        assert value.tzinfo is UTC  # the very tzinfo Django's own loader puts on them


@postgres
@pytest.mark.django_db
def test_the_c_loader_reads_what_djangos_loader_reads():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    sql = "SELECT v FROM unnest(%s::timestamptz[]) AS v"
    with connection.cursor() as cursor:
        cursor.execute(sql, [VALUES])
        fast = [r[0] for r in cursor.fetchall()]
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's loader, on this cursor only
        cursor.execute(sql, [VALUES])
        django = [r[0] for r in cursor.fetchall()]
    assert fast == django
    assert [v.tzinfo for v in fast] == [v.tzinfo for v in django]


@pytest.mark.parametrize(
    ("vendor", "tz", "tz_name"),
    [("sqlite", UTC, "UTC"), ("postgresql", None, None), ("postgresql", timezone(timedelta(hours=4)), "X")],
)
def test_other_databases_and_time_zones_keep_djangos_loader(vendor, tz, tz_name):
    registered = []
    raw = SimpleNamespace(adapters=SimpleNamespace(register_loader=lambda *a: registered.append(a)))
    fake = SimpleNamespace(vendor=vendor, timezone=tz, timezone_name=tz_name, connection=raw)
    assert pgloaders.use_c_timestamptz_loader(connection=fake) is False
    assert registered == []

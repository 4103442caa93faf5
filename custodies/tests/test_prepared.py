"""core.rawsql.prepared: the custody detail and the plain list are planned once per connection on
PostgreSQL, answer exactly what they answered unprepared, and nothing else is prepared."""

import pytest
from django.db import connection

from accounts.choices import Role
from conftest import ApiClient
from core import rawsql
from custodies.models import Custody

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def deallocate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection._prepared.clear()  # psycopg's own record of them


@postgres_only
def test_the_detail_is_prepared_and_answers_as_before(users, make_draft, settings):
    api = ApiClient(users[Role.OPERATOR])
    custody = make_draft()
    settings.CUSTODY_DB_PREPARE = False
    deallocate()
    unprepared = api.get(f"/api/v1/custodies/{custody.pk}").json()
    assert not [s for s in prepared_statements() if "custodies_custody" in s]
    settings.CUSTODY_DB_PREPARE = True
    answers = [api.get(f"/api/v1/custodies/{custody.pk}").json() for _ in range(3)]
    assert answers == [unprepared] * 3
    [statement] = [s for s in prepared_statements() if "custodies_custody" in s]
    assert "$1" in statement and str(custody.pk) not in statement  # one plan for every id


@postgres_only
def test_the_plain_list_is_prepared_and_a_search_never_is(users, make_draft, settings):
    api = ApiClient(users[Role.ADMIN])
    custody = make_draft()
    deallocate()
    plain = api.get("/api/v1/custodies?status=draft").json()
    assert [item["id"] for item in plain["items"]] == [str(custody.pk)]
    assert any("custodies_custody" in s for s in prepared_statements())
    deallocate()
    api.get(f"/api/v1/custodies?q={custody.custodian_name}")
    api.get(f"/api/v1/custodies?status=draft&reason_code={custody.reason_code}")
    assert not [s for s in prepared_statements() if "custodies_custody" in s]


@postgres_only
def test_a_branch_scoped_user_lists_unprepared(users, make_draft):
    make_draft()
    deallocate()
    assert ApiClient(users[Role.VIEWER]).get("/api/v1/custodies").status_code == 200
    assert not [s for s in prepared_statements() if "custodies_custody" in s]


def test_outside_postgresql_or_switched_off_nothing_changes(make_draft, settings):
    custody = make_draft()
    settings.CUSTODY_DB_PREPARE = False
    with rawsql.prepared():
        assert Custody.objects.get(pk=custody.pk) == custody
    if connection.vendor == "postgresql":
        assert not [s for s in prepared_statements() if "custodies_custody" in s]


@postgres_only
def test_a_failing_prepared_statement_raises_djangos_error(db):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), rawsql.prepared():
        Custody.objects.extra(where=["1 / (%s - %s) = 1"], params=[1, 1]).count()

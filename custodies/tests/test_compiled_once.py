"""core.rawsql.compiled_once: the writes' hot reads (the custody's lock, its charges, its approval
levels, the vehicles, the agreement a create names) are compiled once per process and still read the
row their values name, in the user's branches only."""

import uuid

import pytest
from django.db import transaction
from django.db.models.sql import compiler as sql_compiler
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role
from conftest import make_user
from core import rawsql
from custodies import selectors
from custodies.models import Custody
from fleet import selectors as fleet_selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def compilations(monkeypatch):
    """The SQL of each select compiled while the test runs."""
    compiled: list[str] = []
    as_sql = sql_compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        sql, params = as_sql(self, *args, **kwargs)
        compiled.append(sql)
        return sql, params

    monkeypatch.setattr(sql_compiler.SQLCompiler, "as_sql", counting)
    return compiled


def test_each_lock_reads_its_own_custody_and_compiles_once(users, make_draft, compilations):
    first, second = make_draft(), make_draft()
    user = users[Role.OPERATOR]
    with transaction.atomic():
        selectors.lock_custody(first.pk, user, references=True)
        compilations.clear()
        with CaptureQueriesContext(transaction.get_connection()) as queries:
            locked = [selectors.lock_custody(c.pk, user, references=True) for c in (second, first, second)]
            references = [(c.branch.code, c.customer.full_name, c.agreement.agreement_no) for c in locked]
    assert [c.pk for c in locked] == [second.pk, first.pk, second.pk]
    assert references == [(first.branch.code, first.customer.full_name, first.agreement.agreement_no)] * 3
    assert len(queries) == 3  # the references came with the row
    assert not [sql for sql in compilations if "custodies_custody" in sql]
    # The stored converters give every column the type and value a fresh ORM read gives it.
    fresh = Custody.objects.get(pk=first.pk)
    assert columns(locked[1]) == columns(fresh)
    assert columns(locked[1].agreement) == columns(fresh.agreement)


def columns(instance) -> dict:
    return {
        f.attname: (type(value), value)
        for f in instance._meta.concrete_fields
        for value in (getattr(instance, f.attname),)
    }


def test_a_custody_outside_the_users_branches_or_a_malformed_id_is_not_found(make_draft, other_branch):
    custody = make_draft()
    stranger = make_user(Role.OPERATOR, other_branch, email="stranger@example.com")
    for user, custody_id in ((stranger, custody.pk), (None, uuid.uuid4()), (None, "not-an-id")):
        for options in ({"references": True}, {"only": ("status",)}, {}):
            with transaction.atomic(), pytest.raises(Custody.DoesNotExist):
                selectors.lock_custody(custody_id, user, **options)


def test_the_agreement_a_create_names_is_read_once_compiled_and_only_in_the_users_branches(
    users, agreement, other_branch, compilations
):
    operator = users[Role.OPERATOR]
    stranger = make_user(Role.OPERATOR, other_branch, email="stranger@example.com")
    assert fleet_selectors.agreement_for(operator, agreement.pk).customer == agreement.customer
    compilations.clear()
    found = fleet_selectors.agreement_for(operator, str(agreement.pk))
    assert (found.pk, found.branch.code, found.vehicle.plate) == (
        agreement.pk,
        agreement.branch.code,
        agreement.vehicle.plate,
    )
    assert compilations == []
    assert fleet_selectors.agreement_for(stranger, agreement.pk) is None
    assert fleet_selectors.agreement_for(operator, uuid.uuid4()) is None
    assert fleet_selectors.agreement_for(operator, "RA-100001") is None


def test_values_in_another_order_than_the_statements_fail_at_the_first_compilation(make_draft):
    make_draft()
    queryset = Custody.objects.filter(status="draft").filter(reason_code="breakdown")
    with pytest.raises(ValueError, match="parameters"):
        rawsql.compiled_once(queryset, "test.wrong_order", ["breakdown", "draft"])
    rows = rawsql.compiled_once(queryset.all(), "test.right_order", ["draft", "breakdown"])
    assert len(rows) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stored_locking_statement_still_refuses_to_run_outside_a_transaction(make_draft):
    custody = make_draft()
    with transaction.atomic():
        selectors.lock_custody(custody.pk)
    with pytest.raises(transaction.TransactionManagementError):
        selectors.lock_custody(custody.pk)

"""Races that only a real database can show (PostgreSQL): custody numbers and replacement holds.

Each worker thread gets its own database connection (Django connections are per thread) and
closes it at the end. The tests commit for real (`transaction=True`), so the database is flushed
around them: the default rules the migrations seed (SLA policies, approval rules, required
documents) are seeded again by a fixture instead of relying on `serialized_rollback`, which fails
when another transactional test has flushed the database before (content types already exist).
"""

import importlib
import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from audit.context import acting_as
from core.errors import Conflict, ValidationFailed
from custodies import rules, services
from custodies.models import Custody
from custodies.tests.conftest import attach, draft_data
from fleet.models import Vehicle

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (sequence, exclusion constraint)"
    ),
    pytest.mark.django_db(transaction=True),
]

HOLDING = ("approved", "active")


def run_in_threads(count, target, timeout=60):
    """Start `count` threads at the same instant (barrier); return [(index, result|None, error|None)]."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(index):
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = (index, target(index), None)
        except Exception as exc:  # collected and asserted on by the test
            outcomes[index] = (index, None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a worker thread hung (deadlock?)"
    return outcomes


def overlapping_holds_in_db(vehicle_id) -> list[tuple]:
    """Pairs of approved/active custodies holding `vehicle_id` in overlapping periods (should be empty)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.custody_no, b.custody_no FROM custodies_custody a
               JOIN custodies_custody b ON a.replacement_vehicle_id = b.replacement_vehicle_id AND a.id < b.id
               WHERE a.replacement_vehicle_id = %s
                 AND a.status IN ('approved', 'active') AND b.status IN ('approved', 'active')
                 AND tstzrange(a.reserved_from, a.reserved_until, '[)')
                     && tstzrange(b.reserved_from, b.reserved_until, '[)')""",
            [vehicle_id],
        )
        return cursor.fetchall()


@pytest.fixture(autouse=True)
def seeded_defaults(db):
    """The rows the data migrations seed (idempotent: each seed skips what exists)."""
    from django.apps import apps

    for module, function in (
        ("custodies.migrations.0002_postgres_sequence_exclusion_and_sla_defaults", "seed_sla"),
        ("approvals.migrations.0003_default_rules", "seed"),
        ("documents.migrations.0002_default_rules", "seed"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)


def fresh_user(user):
    return User.objects.get(pk=user.pk)  # one instance per thread: no shared caches


def test_custody_numbers_are_unique_under_concurrent_creates(users, agreement, spare_vehicle):
    operator = users[Role.OPERATOR]
    per_thread = 5

    def create_five(index):
        user = fresh_user(operator)
        numbers = []
        with acting_as(user, "api"):
            for _ in range(per_thread):
                custody = services.create_custody(user, draft_data(agreement, spare_vehicle))
                numbers.append(custody.custody_no)
        return numbers

    outcomes = run_in_threads(8, create_five)
    errors = [error for _, _, error in outcomes if error is not None]
    assert errors == []
    numbers = [no for _, result, _ in outcomes for no in result]
    assert len(numbers) == 40
    assert len(set(numbers)) == 40
    assert all(re.fullmatch(r"CST-\d{6,}", no) for no in numbers), numbers
    assert Custody.objects.count() == 40
    assert set(Custody.objects.values_list("custody_no", flat=True)) == set(numbers)


@pytest.fixture
def two_pending_for_one_replacement(users, agreement, spare_vehicle):
    """Two breakdown custodies, overlapping periods, the same replacement, both waiting for a supervisor."""
    operator = users[Role.OPERATOR]
    now = timezone.now()
    custodies = []
    with acting_as(operator, "web"):
        for offset in (0, 1):
            custody = services.create_custody(
                operator,
                draft_data(
                    agreement,
                    spare_vehicle,
                    effective_from=now - timedelta(hours=1) + timedelta(hours=offset),
                    expected_return_at=now + timedelta(days=3 + offset),
                ),
            )
            attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
            services.submit_custody(operator, custody.id)
            custodies.append(custody)
    assert set(Custody.objects.values_list("status", flat=True)) == {"pending_approval"}
    return custodies


def _assert_exactly_one_won(outcomes, vehicle):
    winners = [i for i, result, error in outcomes if error is None]
    losers = [error for _, _, error in outcomes if error is not None]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], Conflict | ValidationFailed), losers
    assert Custody.objects.filter(replacement_vehicle=vehicle, status__in=HOLDING).count() == 1
    assert overlapping_holds_in_db(vehicle.pk) == []
    return winners[0]


def test_concurrent_approvals_reserve_the_replacement_once(
    users, second_supervisor, spare_vehicle, two_pending_for_one_replacement
):
    custodies = two_pending_for_one_replacement
    deciders = [users[Role.SUPERVISOR], second_supervisor]

    def approve(index):
        user = fresh_user(deciders[index])
        with acting_as(user, "web"):
            return services.approve_custody(user, custodies[index].id, notes="race")

    outcomes = run_in_threads(2, approve)
    winner = _assert_exactly_one_won(outcomes, spare_vehicle)
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "reserved"
    loser = Custody.objects.get(pk=custodies[1 - winner].pk)
    assert loser.status == "pending_approval"  # rolled back whole: still waiting, nothing half-done


def test_concurrent_handovers_give_the_replacement_to_one_custody(users, agreement, spare_vehicle):
    """Two approved maintenance custodies without a replacement; both pick the same car at the counter."""
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    now = timezone.now()
    custodies = []
    with acting_as(operator, "web"):
        for offset in (0, 2):
            custody = services.create_custody(
                operator,
                draft_data(
                    agreement,
                    None,
                    reason_code="maintenance",
                    reason_subcode="inspection",
                    effective_from=now - timedelta(hours=1) + timedelta(hours=offset),
                    expected_return_at=now + timedelta(days=2 + offset),
                ),
            )
            attach(
                custody,
                "incident_report",
                "photos",
                "customer_acknowledgment",
                "police_report",
                "handover_checklist",
            )
            services.submit_custody(operator, custody.id)
            custody.refresh_from_db()
            if custody.status == "pending_approval":
                with acting_as(supervisor, "web"):
                    services.approve_custody(supervisor, custody.id)
            custodies.append(custody)
    assert set(Custody.objects.values_list("status", flat=True)) == {"approved"}

    def hand_over(index):
        user = fresh_user(operator)
        with acting_as(user, "web"):
            return services.hand_over_custody(
                user,
                custodies[index].id,
                {"replacement_vehicle_id": str(spare_vehicle.pk), "odometer_km": 20000, "fuel_level": 8},
            )

    outcomes = run_in_threads(2, hand_over)
    winner = _assert_exactly_one_won(outcomes, spare_vehicle)
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "rented"
    statuses = {str(c.pk): c.status for c in Custody.objects.all()}
    assert statuses[str(custodies[winner].pk)] == "active"
    assert statuses[str(custodies[1 - winner].pk)] == "approved"


def test_the_exclusion_constraint_alone_stops_a_double_hold(
    users, second_supervisor, spare_vehicle, two_pending_for_one_replacement, monkeypatch
):
    """With the application's availability check switched off, PostgreSQL still refuses the second hold."""
    monkeypatch.setattr(rules, "replacement_problem", lambda custody, vehicle=None, **_: None)
    custodies = two_pending_for_one_replacement
    deciders = [users[Role.SUPERVISOR], second_supervisor]

    def approve(index):
        user = fresh_user(deciders[index])
        with acting_as(user, "web"):
            return services.approve_custody(user, custodies[index].id)

    outcomes = run_in_threads(2, approve)
    _assert_exactly_one_won(outcomes, spare_vehicle)
    loser = next(error for _, _, error in outcomes if error is not None)
    assert isinstance(loser, Conflict)
    assert "replacement_vehicle_id" in loser.details


def test_raw_update_into_an_overlapping_hold_violates_the_exclusion_constraint(
    users, second_supervisor, spare_vehicle, two_pending_for_one_replacement
):
    first, second = two_pending_for_one_replacement
    with acting_as(users[Role.SUPERVISOR], "web"):
        services.approve_custody(users[Role.SUPERVISOR], first.id)
    first.refresh_from_db()
    assert first.status == "approved" and first.reserved_from is not None

    with pytest.raises(IntegrityError, match="custody_replacement_no_overlap"), transaction.atomic():
        Custody.objects.filter(pk=second.pk).update(
            status="approved",
            approved_at=timezone.now(),
            reserved_from=first.reserved_from + timedelta(hours=1),
            reserved_until=first.reserved_until,
        )
    assert overlapping_holds_in_db(spare_vehicle.pk) == []

    # Touching periods are fine: [from, until) ranges that only meet do not overlap.
    Custody.objects.filter(pk=second.pk).update(
        status="approved",
        approved_at=timezone.now(),
        reserved_from=first.reserved_until,
        reserved_until=first.reserved_until + timedelta(days=1),
    )
    assert Custody.objects.filter(replacement_vehicle=spare_vehicle, status="approved").count() == 2
    assert Vehicle.objects.get(pk=spare_vehicle.pk).status == "reserved"


def test_writers_on_different_custodies_do_not_wait_for_each_other(users, agreement, spare_vehicle):
    """The audit chain once took a global lock until commit, so every write queued behind the
    slowest open transaction. Writer A keeps its transaction open after writing; writer B, on
    another custody, must still commit at once; the chain then links both."""
    from audit import services as audit
    from audit.models import AuditEntry

    operator = users[Role.OPERATOR]
    with acting_as(operator, "api"):
        first = services.create_custody(operator, draft_data(agreement, spare_vehicle))
        second = services.create_custody(operator, draft_data(agreement, spare_vehicle))
    a_wrote, release = threading.Event(), threading.Event()
    timings = {}

    def writer_a():
        try:
            user = fresh_user(operator)
            with acting_as(user, "api"), transaction.atomic():
                services.update_custody(user, first.pk, {"notes": "A holds its transaction open"})
                a_wrote.set()
                assert release.wait(20)
        finally:
            connection.close()

    def writer_b():
        try:
            assert a_wrote.wait(20)
            user = fresh_user(operator)
            started = time.monotonic()
            with acting_as(user, "api"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '5s'")
                services.update_custody(user, second.pk, {"notes": "B writes meanwhile"})
            timings["b"] = time.monotonic() - started
        except Exception as exc:
            timings["error"] = exc
        finally:
            connection.close()

    thread_a, thread_b = threading.Thread(target=writer_a), threading.Thread(target=writer_b)
    thread_a.start()
    thread_b.start()
    thread_b.join(15)
    a_still_open = thread_a.is_alive()
    release.set()
    thread_a.join(15)
    assert "error" not in timings, timings.get("error")
    assert a_still_open and timings["b"] < 2.0, timings  # B committed while A was still open
    assert audit.verify_chain() == []
    notes = AuditEntry.objects.filter(action="custody.updated").values_list("custody_id", flat=True)
    assert set(notes) == {first.pk, second.pk}
    assert not AuditEntry.objects.filter(entry_hash__isnull=True).exists()

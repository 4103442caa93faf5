"""core.kept: small reads kept per process, forgotten by this process's writes, expired for others'."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import kept
from core.kept import Kept


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: now[0])
    return now


def test_a_value_is_kept_for_its_seconds_then_read_again(clock):
    seconds = [30]
    box = Kept("test_seconds", lambda: seconds[0])
    reads = []

    def read():
        reads.append(1)
        return len(reads)

    assert box.get("k", read) == 1
    clock[0] += 29
    assert box.get("k", read) == 1
    clock[0] += 2
    assert box.get("k", read) == 2
    seconds[0] = 0  # 0: read every time
    box.forget()
    assert [box.get("k", read), box.get("k", read)] == [3, 4]


def test_a_read_that_a_change_overtook_is_not_kept(clock):
    box = Kept("test_overtaken", lambda: 30)

    def read_while_someone_saves():
        box.forget()  # a save (or its commit) in another thread while this read runs
        return "old rows"

    assert box.get("k", read_while_someone_saves) == "old rows"
    assert box.get("k", lambda: "new rows") == "new rows"


def test_forget_all_forgets_every_kept(clock):
    first, second = Kept("test_a", lambda: 30), Kept("test_b", lambda: 30)
    first.get("k", lambda: 1)
    second.get("k", lambda: 1)
    kept.forget_all()
    assert (first.get("k", lambda: 2), second.get("k", lambda: 2)) == (2, 2)


@pytest.mark.django_db
def test_saving_or_deleting_a_watched_row_forgets_at_once_and_at_commit(
    clock, branch, django_capture_on_commit_callbacks
):
    from custodies import sla
    from custodies.models import SlaPolicy

    policy = SlaPolicy.objects.get(reason_code="breakdown", branch=None)  # seeded by the migrations
    SlaPolicy.objects.filter(pk=policy.pk).update(approve_within_hours=Decimal("2"))
    policy.refresh_from_db()
    sla.POLICIES.forget()
    assert sla.policy_for("breakdown", branch.pk).approve_within_hours == Decimal("2")
    with CaptureQueriesContext(connection) as kept_read:
        sla.policy_for("breakdown", branch.pk)
    assert len(kept_read) == 0

    with django_capture_on_commit_callbacks() as callbacks:
        policy.approve_within_hours = Decimal("3")
        policy.save()
    assert sla.policy_for("breakdown", branch.pk).approve_within_hours == Decimal("3")
    # A thread that read the old row before the commit and kept it is forgotten at the commit.
    sla.POLICIES._values[None] = (clock[0] + 30, {("breakdown", None): "stale"})
    for callback in callbacks:
        callback()
    assert sla.policy_for("breakdown", branch.pk).approve_within_hours == Decimal("3")

    override = SlaPolicy.objects.create(
        reason_code="breakdown",
        branch=branch,
        approve_within_hours=Decimal("1"),
        handover_within_hours=Decimal("4"),
        close_within_hours=Decimal("72"),
    )
    assert sla.policy_for("breakdown", branch.pk).approve_within_hours == Decimal("1")
    override.delete()
    assert sla.policy_for("breakdown", branch.pk).approve_within_hours == Decimal("3")


@pytest.mark.django_db
def test_the_config_of_every_write_is_kept_and_another_process_change_shows_after_its_seconds(
    clock, settings, branch, tax_profile
):
    """Written behind the ORM's back (as another process would): seen here after
    CUSTODY_CONFIG_CACHE_SECONDS; saved in this process: at once."""
    from approvals import services as approvals
    from approvals.models import ApprovalRule
    from billing import money
    from fleet.models import TaxProfile

    settings.CUSTODY_CONFIG_CACHE_SECONDS = 30
    assert money.default_tax_rate() == Decimal("5.00")
    rule = ApprovalRule.objects.create(name="Everything", priority=1, levels=[{"role": "manager"}])
    assert [r.name for r in approvals._rules() if r.pk == rule.pk] == ["Everything"]

    TaxProfile.objects.filter(pk=tax_profile.pk).update(rate_percent=Decimal("7.00"))
    ApprovalRule.objects.filter(pk=rule.pk).update(name="Renamed")
    clock[0] += 29
    with CaptureQueriesContext(connection) as kept_reads:
        assert money.default_tax_rate() == Decimal("5.00")
        assert [r.name for r in approvals._rules() if r.pk == rule.pk] == ["Everything"]
    assert len(kept_reads) == 0
    clock[0] += 2
    assert money.default_tax_rate() == Decimal("7.00")
    assert [r.name for r in approvals._rules() if r.pk == rule.pk] == ["Renamed"]

    tax_profile.refresh_from_db()
    tax_profile.rate_percent = Decimal("9.00")
    tax_profile.save()
    rule.refresh_from_db()
    rule.active = False
    rule.save()
    assert money.default_tax_rate() == Decimal("9.00")
    assert [r.active for r in approvals._rules() if r.pk == rule.pk] == [False]

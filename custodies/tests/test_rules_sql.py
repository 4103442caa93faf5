"""The rules' hand-written SQL (core.rawsql) answers what the queryset it replaces answers."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from custodies import rules
from custodies.models import Custody

pytestmark = pytest.mark.django_db


def test_holds_overlap_answers_what_overlapping_holds_exists_answers(make_draft, spare_vehicle):
    now = timezone.now().replace(microsecond=123456)
    hour = timedelta(hours=1)
    dubai = timezone.get_fixed_timezone(240)
    holders = []
    for status, reserved_from, reserved_until in [
        ("approved", now, now + 10 * hour),
        ("active", now + 20 * hour, None),
        ("active", None, now - 5 * hour),
        ("draft", now, now + 10 * hour),  # not holding
        ("closed", now - 10 * hour, now + 30 * hour),  # not holding
    ]:
        custody = make_draft()
        Custody.objects.filter(pk=custody.pk).update(
            status=status,
            reserved_from=reserved_from,
            reserved_until=reserved_until,
            handed_over_at=now,
            closed_at=now,
        )
        holders.append(custody.pk)
    starts = [
        now - 20 * hour,
        now - 5 * hour,
        now + 10 * hour,
        (now + 15 * hour).astimezone(dubai),
        now + 40 * hour,
    ]
    ends = [None, now - 6 * hour, now + hour, (now + 20 * hour).astimezone(dubai), now + 21 * hour]
    excludes = [None, *holders[:3]]
    checked = 0
    for start, end, exclude in itertools.product(starts, ends, excludes):
        if end is not None and end <= start:
            continue
        expected = rules.overlapping_holds(spare_vehicle.pk, start, end, exclude_custody_id=exclude).exists()
        assert rules.holds_overlap(spare_vehicle.pk, start, end, exclude) is expected, (start, end, exclude)
        checked += 1
    assert checked > 40
    assert rules.holds_overlap(spare_vehicle.pk, now, None) is True
    assert rules.holds_overlap(Custody._meta.pk.default(), now, None) is False  # another vehicle

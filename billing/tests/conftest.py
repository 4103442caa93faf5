import pytest
from django.utils import timezone

from accounts.choices import Role
from custodies import services as custody_services
from custodies.tests.conftest import attach, draft_data, make_draft, second_supervisor  # noqa: F401


@pytest.fixture
def active_custody(users, make_draft, tax_profile):  # noqa: F811
    op, sup = users[Role.OPERATOR], users[Role.SUPERVISOR]
    custody = make_draft()
    custody_services.submit_custody(op, custody.id)
    custody_services.approve_custody(sup, custody.id)
    attach(custody, "handover_checklist")
    custody_services.hand_over_custody(op, custody.id, {"odometer_km": 20000, "fuel_level": 8})
    custody.refresh_from_db()
    return custody


def close(custody, user, **extra):
    attach(custody, "return_checklist")
    data = {"returned_at": timezone.now(), "odometer_km": 20100, "fuel_level": 8, **extra}
    return custody_services.close_custody(user, custody.id, data)

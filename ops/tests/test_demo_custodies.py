from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_vehicle
from custodies.models import Custody
from fleet.models import Customer, RentalAgreement
from ops.demo_custodies import PLAN, create_demo_custodies

pytestmark = pytest.mark.django_db


def test_demo_custodies_cover_every_status_and_reason(users, branch, vehicle_class):
    now = timezone.now()
    for i in range(len(PLAN)):
        rented = make_vehicle(branch, vehicle_class, f"DXB-R-{i:05d}", status="rented")
        make_vehicle(branch, vehicle_class, f"DXB-S-{i:05d}", status="available")
        customer = Customer.objects.create(customer_no=f"C-{i:06d}", full_name=f"Customer {i}")
        RentalAgreement.objects.create(
            agreement_no=f"RA-{i:06d}",
            customer=customer,
            vehicle=rented,
            branch=branch,
            start_at=now - timedelta(days=3),
            end_at=now + timedelta(days=30),
            daily_rate=Decimal("100"),
            monthly_rate=Decimal("2000"),
        )
    created = create_demo_custodies(users)
    assert len(created) == len(PLAN)
    statuses = set(Custody.objects.values_list("status", flat=True))
    assert statuses == {"draft", "pending_approval", "approved", "active", "closed", "voided"}
    assert set(Custody.objects.values_list("reason_code", flat=True)) == {
        "accident",
        "breakdown",
        "maintenance",
        "damage",
        "other",
    }
    from billing.models import Charge, Payment
    from billing.services import balance

    closed = list(Custody.objects.filter(status="closed"))
    assert all(Charge.objects.filter(custody=c, status__in=["posted", "paid"]).exists() for c in closed)
    assert Payment.objects.filter(custody__status="closed").exists()
    assert any(balance(c).outstanding == 0 for c in closed)
    assert create_demo_custodies(users) == []


def test_the_demo_tells_a_consistent_story(users, branch, vehicle_class):
    """Narratives match their reason detail, custodians are the customer or a named driver, and the
    custodies were opened over the last weeks (closed ones long ago), never before their rental."""
    from audit.models import AuditEntry
    from audit.services import verify_chain
    from ops.demo_custodies import NARRATIVES

    now = timezone.now()
    for i in range(len(PLAN)):
        rented = make_vehicle(branch, vehicle_class, f"DXB-R-{i:05d}", status="rented")
        make_vehicle(branch, vehicle_class, f"DXB-S-{i:05d}", status="available")
        customer = Customer.objects.create(customer_no=f"C-{i:06d}", full_name=f"Customer {i}")
        RentalAgreement.objects.create(
            agreement_no=f"RA-{i:06d}",
            customer=customer,
            vehicle=rented,
            branch=branch,
            start_at=now - timedelta(days=40),
            end_at=now + timedelta(days=30),
            daily_rate=Decimal("100"),
            monthly_rate=Decimal("2000"),
        )
    create_demo_custodies(users)
    custodies = list(Custody.objects.select_related("agreement"))
    for custody in custodies:
        assert custody.incident_narrative == NARRATIVES[custody.reason_subcode]
        assert custody.custodian_type == "customer" or custody.custodian_name
        assert custody.agreement.start_at < custody.incident_at < custody.created_at <= now
    created = sorted(c.created_at for c in custodies)
    assert created[-1] - created[0] > timedelta(days=7), "not all opened in the same minute"
    oldest_closed = min(c.created_at for c in custodies if c.status == "closed")
    assert oldest_closed < min(c.created_at for c in custodies if c.status == "pending_approval")
    closed = [c for c in custodies if c.status == "closed"]
    assert all(c.created_at < c.closed_at < now for c in closed)
    assert not AuditEntry.objects.filter(at__gt=timezone.now()).exists()
    assert verify_chain() == []
    assert timezone.now() - now < timedelta(minutes=5), "the real clock is back after the demo"
    numbered = sorted(custodies, key=lambda c: c.custody_no)
    assert [c.created_at for c in numbered] == created, "custody numbers rise with time"

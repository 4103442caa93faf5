"""The records the access-control table (tests/test_access_control.py) aims its requests at.

Two branches with the same records in each: "own" (DXB, the branch the table's users work in) and
"other" (AUH). One user per role in DXB (the admin sees all branches). Records are built through the
services, as a separate operator ("maker") and approvers, so every role user may act on them
(segregation of duties never hides an access-control answer). Records that belong to a person
(tokens, notifications, support tickets, saved filters) exist for every role user ("own") and for an outsider in
the other branch ("other"); global reference data has no "other".
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from accounts import services as accounts
from accounts.choices import Role
from accounts.models import ApiToken
from audit.context import acting_as
from billing import services as billing
from conftest import make_user, make_vehicle
from custodies import services as custodies
from custodies.tests.conftest import PDF, attach  # noqa: F401 - PDF is the upload the table sends
from documents import condition
from documents.models import Document
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, VehicleClass
from integrations import services as integrations
from notifications.models import Notification
from quotes import services as quotes
from quotes.models import CostDefaults, CostElement
from support import services as support

ROLES = (Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMIN)


@dataclass
class Side:
    """The records of one branch."""

    branch: Branch
    vehicles: list = field(default_factory=list)
    agreements: list = field(default_factory=list)
    ns: SimpleNamespace = field(default_factory=SimpleNamespace)

    def __getattr__(self, name):
        return getattr(self.ns, name)


def _custody(maker, agreement, spare, reason="breakdown"):
    now = timezone.now()
    data = {
        "branch_id": agreement.branch_id,
        "agreement_id": agreement.id,
        "customer_id": agreement.customer_id,
        "original_vehicle_id": agreement.vehicle_id,
        "replacement_vehicle_id": spare.id,
        "custodian_type": "customer",
        "custodian_name": "Ahmed",
        "reason_code": reason,
        "reason_subcode": "engine_failure",
        "incident_at": now - timedelta(hours=2),
        "effective_from": now - timedelta(hours=1),
        "expected_return_at": now + timedelta(days=3),
        "rate_policy": "inherit",
    }
    with acting_as(maker, "web"):
        custody = custodies.create_custody(maker, data)
    attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
    return custody


def _side(code, name, city, vehicle_class, customer, company, maker, approver, finance, suv, n):
    branch = Branch.objects.create(code=code, name=name, city=city)
    side = Side(branch)
    now = timezone.now()
    for i in range(5):
        rented = make_vehicle(branch, vehicle_class, f"{code}-R-{n}{i:04d}", status="rented")
        spare = make_vehicle(branch, vehicle_class, f"{code}-S-{n}{i:04d}", status="available")
        agreement = RentalAgreement.objects.create(
            agreement_no=f"RA-{code}-{i}",
            customer=customer,
            vehicle=rented,
            branch=branch,
            start_at=now - timedelta(days=5),
            end_at=now + timedelta(days=25),
            daily_rate=Decimal("150.00"),
            monthly_rate=Decimal("3000.00"),
            deposit_amount=Decimal("1000.00"),
        )
        side.vehicles.append(spare)
        side.agreements.append(agreement)
    ns = side.ns
    ns.vehicle = side.vehicles[4]
    ns.agreement = side.agreements[4]
    ns.spare = make_vehicle(branch, vehicle_class, f"{code}-X-{n}0001", status="available")

    ns.draft = _custody(maker, side.agreements[0], side.vehicles[0])
    ns.pending = _custody(maker, side.agreements[1], side.vehicles[1])
    custodies.submit_custody(maker, ns.pending.id)
    ns.approval = ns.pending.approvals.filter(status="pending").first()
    ns.approved = _custody(maker, side.agreements[2], side.vehicles[2])
    custodies.submit_custody(maker, ns.approved.id)
    custodies.approve_custody(approver, ns.approved.id)
    attach(ns.approved, "handover_checklist")
    ns.active = _custody(maker, side.agreements[3], side.vehicles[3])
    custodies.submit_custody(maker, ns.active.id)
    custodies.approve_custody(approver, ns.active.id)
    attach(ns.active, "handover_checklist")
    custodies.hand_over_custody(maker, ns.active.id, {"odometer_km": 20000, "fuel_level": 8})
    attach(ns.active, "return_checklist")

    ns.document = Document.objects.filter(custody=ns.draft).first()
    ns.charge_draft = billing.add_charge(
        maker,
        ns.active.id,
        {
            "charge_type": "damage",
            "description": "Scratch",
            "quantity": 1,
            "unit_price": "100.00",
            "responsibility": "customer",
        },
    )
    ns.charge_posted = billing.add_charge(
        maker,
        ns.active.id,
        {
            "charge_type": "admin_fee",
            "description": "Fee",
            "quantity": 1,
            "unit_price": "50.00",
            "responsibility": "customer",
        },
    )
    billing.post_charge(finance, ns.charge_posted.id)
    ns.hold = billing.record_hold(finance, ns.active.id, Decimal("500.00"), "HOLD-1")
    ns.invoices = billing.issue_invoices(finance, ns.active.id)
    ns.invoice = ns.invoices[0] if ns.invoices else None
    ns.mark = condition.add_mark(
        maker, ns.active.id, "return", {"zone": "front", "damage_type": "scratch", "severity": "minor"}
    )

    ns.quote = quotes.create_quote(
        maker,
        {
            "customer_id": company.pk,
            "branch_id": branch.pk,
            "valid_until": timezone.localdate() + timedelta(days=30),
            "lines": [
                {"vehicle_class_id": suv.pk, "quantity": 2, "term_months": 24, "monthly_rate": "4200.00"}
            ],
        },
    )
    ns.sheet = quotes.create_cost_sheet(maker, {"quote_id": ns.quote.pk})
    ns.quote_line = ns.quote.lines.first()
    return side


def build():
    """Write the whole world (once per test module); returns a namespace."""
    w = SimpleNamespace()
    TaxProfile.objects.create(name="UAE VAT", rate_percent=Decimal("5.00"), is_default=True)
    w.vehicle_class = VehicleClass.objects.create(
        code="COMP", name="Compact", daily_rate=Decimal("120.00"), monthly_rate=Decimal("2400.00")
    )
    w.suv = VehicleClass.objects.create(
        code="SUV-M", name="Mid-size SUV", daily_rate=Decimal("250.00"), monthly_rate=Decimal("4500.00")
    )
    CostElement.objects.create(vehicle_class=w.suv, acquisition_cost=Decimal("120000.00"))
    CostDefaults.objects.all().delete()
    CostDefaults.objects.create(
        financing_rate_pct=Decimal("6.00"), overhead_pct=Decimal("10.00"), target_margin_pct=Decimal("12.00")
    )
    w.special_rate = SpecialRateCode.objects.create(
        code="INS-STD", description="Ins", daily_rate=Decimal("90.00")
    )
    w.tax_profile = TaxProfile.objects.get(name="UAE VAT")
    w.customer = Customer.objects.create(customer_no="C-000001", full_name="Ahmed Al Mansoori")
    w.company = Customer.objects.create(
        customer_no="C-900001", kind="company", full_name="Gulf Logistics LLC"
    )

    # Users. The table's users work in DXB; helpers and outsiders do the setting up.
    w.users = {}
    w.maker = make_user(Role.OPERATOR, email="maker@example.com", all_branches=True)
    approver = make_user(Role.SUPERVISOR, email="approver@example.com", all_branches=True)
    finance = make_user(Role.FINANCE, email="fin@example.com", all_branches=True)
    w.boss = make_user(Role.ADMIN, email="boss@example.com", all_branches=True)

    w.own = _side(
        "DXB",
        "Dubai Airport",
        "Dubai",
        w.vehicle_class,
        w.customer,
        w.company,
        w.maker,
        approver,
        finance,
        w.suv,
        1,
    )
    w.other = _side(
        "AUH",
        "Abu Dhabi",
        "Abu Dhabi",
        w.vehicle_class,
        w.customer,
        w.company,
        w.maker,
        approver,
        finance,
        w.suv,
        2,
    )

    for role in ROLES:
        if role == Role.ADMIN:
            w.users[role] = make_user(role, email=f"{role}@example.com", all_branches=True)
        else:
            w.users[role] = make_user(role, w.own.branch, email=f"{role}@example.com")
    w.outsider = make_user(Role.OPERATOR, w.other.branch, email="outsider@example.com")

    # Per-person records: each role user's own, and the outsider's.
    w.tokens, w.notifications, w.tickets = {}, {}, {}
    for person in [*w.users.values(), w.outsider]:
        w.tokens[person.pk], _raw = ApiToken.issue(person, name="personal")
        w.notifications[person.pk] = Notification.objects.create(
            user=person, kind="info", title="Hello", body="Body"
        )
        w.tickets[person.pk] = support.create_ticket(person, subject="Help", description="Broken")
    w.outsider_token = w.tokens[w.outsider.pk]
    # Saved list filters: each role user's own (private); the outsider's is shared with their branch (AUH).
    w.saved_filters = {
        person.pk: accounts.save_filter(
            person,
            "custodies",
            name="Active",
            query="status=active",
            shared_with=[w.other.branch.pk] if person is w.outsider else [],
        )
        for person in [*w.users.values(), w.outsider]
    }

    w.endpoint, _secret = integrations.create_endpoint(
        w.boss,
        {
            "name": "Fleet",
            "url": "http://127.0.0.1:9/hook",
            "integration_type": "fleet",
            "events": ["custody.created"],
        },
    )
    w.delivery = integrations.send_test_event(w.boss, w.endpoint.id)
    w.announcement = support.post_announcement(w.boss, title="Hello all")
    w.article = support.save_help_article(w.boss, title="How?", body="Like this.", language="en", slug="how")
    return w

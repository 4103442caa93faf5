"""A small fixed data set whose KPIs are computed by hand in test_kpis.py (times in Asia/Dubai)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from approvals.models import Approval
from billing.models import Charge, Payment
from custodies.models import Custody

DUBAI = ZoneInfo("Asia/Dubai")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=DUBAI)


def at(month, day, hour=0, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=DUBAI)


def nov(day, hour=0, minute=0):
    return at(11, day, hour, minute)


_numbers = iter(range(100001, 200000))


def custody(branch, customer, **fields):
    fields.setdefault("custodian_type", "customer")
    fields.setdefault("custodian_name", customer.full_name)
    fields.setdefault("reason_code", "breakdown")
    fields.setdefault("reason_subcode", "engine_failure")
    fields.setdefault("incident_at", fields["created_at"])
    fields.setdefault("effective_from", fields["created_at"])
    return Custody.objects.create(
        custody_no=f"CST-{next(_numbers)}", branch=branch, customer=customer, **fields
    )


def charge(custody, charge_type, total, responsibility, status, posted_at=None):
    total = Decimal(total)
    return Charge.objects.create(
        custody=custody,
        charge_type=charge_type,
        description=charge_type,
        quantity=Decimal("1"),
        unit_price=total,
        tax_rate=Decimal("0"),
        subtotal=total,
        tax_amount=Decimal("0"),
        total=total,
        responsibility=responsibility,
        status=status,
        posted_at=posted_at,
        voided_at=NOW if status == "void" else None,
        amount_paid=total if status == "paid" else Decimal("0"),
        created_at=posted_at or NOW,
    )


@pytest.fixture
def kpi_data(branch, other_branch, customer):
    """C1–C10 as described in docs/metrics.md's worked example (DXB = branch, AUH = other_branch)."""
    c = {}
    c[1] = custody(
        branch, customer, status="closed", created_at=nov(2, 10), submitted_at=nov(2, 10),
        approved_at=nov(2, 12), handed_over_at=nov(2, 14), returned_at=nov(4, 14), closed_at=nov(4, 15),
        expected_return_at=nov(5), submission_round=1,
        sla_approve_due_at=nov(2, 12), sla_approve_met_at=nov(2, 12),
        sla_handover_due_at=nov(2, 13), sla_handover_met_at=nov(2, 14),
        sla_close_due_at=nov(5), sla_close_met_at=nov(4, 15),
    )  # fmt: skip
    c[2] = custody(
        branch, customer, status="closed", created_at=nov(10, 9), submitted_at=nov(10, 9),
        approved_at=nov(10, 13), handed_over_at=nov(10, 14), returned_at=nov(11, 2), closed_at=nov(11, 3),
        expected_return_at=nov(12), submission_round=1,
        sla_approve_due_at=nov(10, 11), sla_approve_met_at=nov(10, 13),
        sla_handover_due_at=nov(10, 13, 30), sla_handover_met_at=nov(10, 14),
    )  # fmt: skip
    # Rejected on its first round, resubmitted the next day: the turnaround restarts there (10 h).
    c[3] = custody(
        branch, customer, status="active", created_at=nov(20, 8), submitted_at=nov(21, 8),
        approved_at=nov(21, 18), handed_over_at=nov(21, 20), until_original_ready=True, submission_round=2,
        sla_approve_due_at=nov(21, 10), sla_approve_met_at=nov(21, 18),
        sla_handover_due_at=nov(21, 21), sla_handover_met_at=nov(21, 20),
    )  # fmt: skip
    Approval.objects.create(
        custody=c[3], round=1, level=1, role="supervisor", status="rejected", decided_at=nov(20, 9)
    )
    Approval.objects.create(
        custody=c[3], round=2, level=1, role="supervisor", status="approved", decided_at=nov(21, 18)
    )
    # Created in October, overdue now; its close target fell due (unmet) in November.
    c[4] = custody(
        branch, customer, status="active", created_at=at(10, 25), submitted_at=at(10, 25, 1),
        approved_at=at(10, 25, 2), handed_over_at=at(10, 26), expected_return_at=nov(29, 12), submission_round=1,
        sla_close_due_at=nov(29, 12),
    )  # fmt: skip
    c[5] = custody(
        branch, customer, status="pending_approval", created_at=nov(30, 8), submitted_at=nov(30, 8),
        submission_round=1, sla_approve_due_at=nov(30, 14),
    )  # fmt: skip
    # Voided before its approval fell due: not created, its target cancelled.
    c[6] = custody(
        branch, customer, status="voided", created_at=nov(15, 9), submitted_at=nov(15, 10),
        voided_at=nov(15, 11), void_reason="Duplicate", submission_round=1, sla_approve_due_at=nov(15, 12),
    )  # fmt: skip
    # Approved automatically (no human turnaround); never handed over: handover breached.
    c[7] = custody(
        branch, customer, status="approved", created_at=nov(25, 10), submitted_at=nov(25, 10),
        approved_at=nov(25, 10), submission_round=1, reason_code="maintenance", reason_subcode="regular_service",
        sla_approve_due_at=nov(25, 12), sla_approve_met_at=nov(25, 10), sla_handover_due_at=nov(25, 12),
    )  # fmt: skip
    Approval.objects.create(
        custody=c[7], round=1, level=1, role="system", status="approved", decided_at=nov(25, 10)
    )
    c[8] = custody(
        other_branch, customer, status="closed", created_at=nov(5, 9), submitted_at=nov(5, 10),
        approved_at=nov(5, 20), handed_over_at=nov(6), returned_at=nov(8), closed_at=nov(8, 1),
        expected_return_at=nov(9), submission_round=1, reason_code="accident", reason_subcode="rollover",
        sla_approve_due_at=nov(5, 12), sla_approve_met_at=nov(5, 20),
    )  # fmt: skip
    c[9] = custody(
        branch, customer, status="closed", created_at=at(10, 1), submitted_at=at(10, 1),
        approved_at=at(10, 1, 1), handed_over_at=at(10, 1, 2), returned_at=at(10, 3), closed_at=at(10, 3),
        expected_return_at=at(10, 4), submission_round=1,
    )  # fmt: skip
    c[10] = custody(branch, customer, status="draft", created_at=nov(28, 16))

    charge(c[1], "replacement_rental", "500.00", "customer", "paid", nov(4, 15))
    charge(c[1], "damage", "210.00", "insurance", "posted", nov(4, 15))
    charge(c[2], "fuel", "50.00", "customer", "draft")
    charge(c[2], "admin_fee", "100.00", "company", "void", nov(11, 3))
    charge(c[9], "other", "100.00", "customer", "posted", at(10, 3))
    charge(c[8], "damage", "1000.00", "insurance", "posted", nov(8, 1))
    Payment.objects.create(
        custody=c[1], amount=Decimal("500.00"), method="card", payer="customer", received_at=nov(4, 16)
    )
    Payment.objects.create(
        custody=c[1],
        amount=Decimal("-20.00"),
        method="card",
        payer="customer",
        reason="Goodwill",
        received_at=nov(6),
    )
    Payment.objects.create(
        custody=c[9], amount=Decimal("50.00"), method="cash", payer="customer", received_at=at(10, 5)
    )
    return c

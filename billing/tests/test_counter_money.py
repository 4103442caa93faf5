"""Money that cannot go wrong silently: payment guard, wizard hold, tax invoices, calendar-day rental."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.choices import Role
from billing import rental, services
from billing.models import Charge, DamageHold, Invoice, Payment
from billing.money import vat_summary
from conftest import ApiClient, login_client
from core.errors import InvalidTransition, ValidationFailed
from custodies import services as custody_services
from fleet.models import CompanyProfile

pytestmark = pytest.mark.django_db

D = Decimal


def posted(user, custody, amount="100.00", who="customer", rate=None):
    data = {
        "charge_type": "damage",
        "description": "Scratched bumper",
        "quantity": "1",
        "unit_price": amount,
        "responsibility": who,
    }
    if rate is not None:
        data["tax_rate"] = rate
    return services.post_charge(user, services.add_charge(user, custody.id, data).id)


def pdf_text(content: bytes) -> str:
    pdf = pypdfium2.PdfDocument(content)
    return "\n".join(page.get_textpage().get_text_range() for page in pdf)


# ---- payment guard -----------------------------------------------------------------------


def test_a_payment_above_the_outstanding_balance_is_refused_with_a_field_error(users, active_custody):
    fin = users[Role.FINANCE]
    posted(fin, active_custody, "624.00")  # 655.20 with VAT
    with pytest.raises(ValidationFailed) as refused:
        services.record_payment(
            fin, active_custody.id, {"amount": "5000", "method": "card", "payer": "customer"}
        )
    assert "655.20" in refused.value.details["amount"][0]
    assert Payment.objects.filter(custody=active_custody).count() == 0
    assert services.balance(active_custody).outstanding == D("655.20")


def test_paying_exactly_what_is_owed_settles_the_charge(users, active_custody):
    fin = users[Role.FINANCE]
    charge = posted(fin, active_custody, "624.00")
    services.record_payment(
        fin, active_custody.id, {"amount": "655.20", "method": "card", "payer": "customer"}
    )
    charge.refresh_from_db()
    assert (charge.status, services.balance(active_custody).outstanding) == ("paid", D("0.00"))


def test_the_guard_counts_per_payer(users, active_custody):
    fin = users[Role.FINANCE]
    posted(fin, active_custody, "1000.00", who="insurance")
    with pytest.raises(ValidationFailed):
        services.record_payment(
            fin, active_custody.id, {"amount": "10", "method": "cash", "payer": "customer"}
        )


def test_an_explicit_deposit_may_exceed_the_balance_and_is_marked_as_credit(users, active_custody):
    fin = users[Role.FINANCE]
    payment = services.record_payment(
        fin, active_custody.id, {"amount": "500", "method": "cash", "payer": "customer", "as_credit": True}
    )
    assert (payment.amount, payment.is_credit) == (D("500.00"), True)
    assert services.balance(active_custody).outstanding == D("-500.00")


def test_money_the_billing_system_reports_is_kept_as_a_credit_not_lost(users, active_custody):
    payment = services.record_payment(
        None, active_custody.id, {"amount": "70", "method": "bank_transfer", "payer": "customer"}
    )
    assert payment.is_credit is True


def test_the_payment_form_shows_the_guard_under_the_amount(users, active_custody):
    fin = users[Role.FINANCE]
    posted(fin, active_custody, "624.00")
    client = login_client(fin)
    response = client.post(
        reverse("billing:record_payment", args=[active_custody.id]),
        {"kind": "payment", "amount": "5000", "method": "card", "payer": "customer"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'id="payment-amount-error"' in body and "655.20" in body
    assert Payment.objects.count() == 0


def test_the_api_refuses_an_overpayment_with_a_field_error(users, active_custody):
    response = ApiClient(users[Role.FINANCE]).post(
        f"/api/v1/custodies/{active_custody.id}/payments",
        {"amount": "10.00", "method": "cash", "payer": "customer"},
    )
    assert response.status_code == 422
    assert "amount" in response.json()["error"]["details"]


# ---- damage hold from the wizard ------------------------------------------------------------------


def test_the_wizard_damage_hold_is_a_hold_in_billing(users, make_draft):
    custody = make_draft(damage_hold_amount=D("1000"), damage_hold_ref="POS-AUTH-778")
    hold = DamageHold.objects.get(custody=custody)
    assert (hold.amount, hold.reference, hold.status, hold.from_custody) == (
        D("1000.00"),
        "POS-AUTH-778",
        "held",
        True,
    )


def test_the_hold_follows_the_draft_and_is_released_when_removed(users, make_draft):
    op = users[Role.OPERATOR]
    custody = make_draft(damage_hold_amount=D("1000"), damage_hold_ref="POS-AUTH-1")
    custody_services.update_custody(op, custody.id, {"damage_hold_amount": D("1500")})
    assert list(DamageHold.objects.filter(custody=custody).values_list("amount", "status")) == [
        (D("1500.00"), "held")
    ]
    custody_services.update_custody(op, custody.id, {"damage_hold_amount": D("0")})
    assert list(DamageHold.objects.filter(custody=custody).values_list("status", flat=True)) == ["released"]


def test_no_hold_without_an_amount(make_draft):
    assert not DamageHold.objects.filter(custody=make_draft()).exists()


def test_the_settlement_pdf_shows_the_hold_and_the_refund_reason(users, make_draft, tax_profile):
    op, sup, fin = users[Role.OPERATOR], users[Role.SUPERVISOR], users[Role.FINANCE]
    custody = make_draft(damage_hold_amount=D("1000"), damage_hold_ref="POS-AUTH-42")
    custody_services.submit_custody(op, custody.id)
    custody_services.approve_custody(sup, custody.id)
    posted(fin, custody, "100.00")
    services.record_payment(fin, custody.id, {"amount": "105", "method": "cash", "payer": "customer"})
    services.record_payment(
        fin,
        custody.id,
        {"amount": "-5", "method": "cash", "payer": "customer", "reason": "Goodwill discount"},
    )
    response = login_client(fin).get(reverse("billing:summary_pdf", args=[custody.id]))
    text = pdf_text(response.content)
    assert "POS-AUTH-42" in text and "1000.00" in text
    assert "Goodwill discount" in text and "Refund" in text


# ---- tax invoices ----------------------------------------------------------------------------------


def test_vat_summary_groups_by_rate_and_adds_up():
    lines = [
        Charge(subtotal=D("100.00"), tax_rate=D("5"), tax_amount=D("5.00"), total=D("105.00")),
        Charge(subtotal=D("33.33"), tax_rate=D("5.00"), tax_amount=D("1.67"), total=D("35.00")),
        Charge(subtotal=D("50.00"), tax_rate=D("0"), tax_amount=D("0.00"), total=D("50.00")),
    ]
    summary = vat_summary(lines)
    assert [(r.rate, r.taxable, r.vat, r.total) for r in summary.rows] == [
        (D("0.00"), D("50.00"), D("0.00"), D("50.00")),
        (D("5.00"), D("133.33"), D("6.67"), D("140.00")),
    ]
    assert (summary.taxable, summary.vat, summary.total) == (D("183.33"), D("6.67"), D("190.00"))


def test_finance_issues_one_invoice_per_payer(users, active_custody):
    fin = users[Role.FINANCE]
    posted(fin, active_custody, "100.00")
    posted(fin, active_custody, "200.00")
    posted(fin, active_custody, "1000.00", who="insurance")
    posted(fin, active_custody, "40.00", who="company")
    invoices = services.issue_invoices(fin, active_custody.id)
    assert [(i.payer, i.subtotal, i.tax_amount, i.total) for i in invoices] == [
        ("customer", D("300.00"), D("15.00"), D("315.00")),
        ("insurance", D("1000.00"), D("50.00"), D("1050.00")),
    ]
    numbers = [i.invoice_no for i in invoices]
    assert len(set(numbers)) == 2 and all(n.startswith("INV-") for n in numbers)
    statuses = dict(
        Charge.objects.filter(custody=active_custody, status__in=["invoiced", "posted"]).values_list(
            "responsibility", "status"
        )
    )
    assert statuses == {"customer": "invoiced", "insurance": "invoiced", "company": "posted"}
    with pytest.raises(InvalidTransition):
        services.issue_invoices(fin, active_custody.id)


def test_an_operator_cannot_invoice(users, active_custody):
    posted(users[Role.FINANCE], active_custody)
    with pytest.raises(PermissionDenied):
        services.issue_invoices(users[Role.OPERATOR], active_custody.id)
    assert not Invoice.objects.exists()


def test_a_paid_charge_keeps_paid_and_gets_the_invoice_number(users, active_custody):
    fin = users[Role.FINANCE]
    charge = posted(fin, active_custody, "100.00")
    services.record_payment(fin, active_custody.id, {"amount": "105", "method": "card", "payer": "customer"})
    (invoice,) = services.issue_invoices(fin, active_custody.id)
    charge.refresh_from_db()
    assert (charge.status, charge.invoice_ref) == ("paid", invoice.invoice_no)


def test_invoice_pdf_is_a_uae_tax_invoice(users, active_custody):
    CompanyProfile.objects.create(
        name="Gulf Rent A Car LLC", address="Sheikh Zayed Road, Dubai", trn="100123456700003"
    )
    fin = users[Role.FINANCE]
    posted(fin, active_custody, "624.00")
    response = ApiClient(fin).post(f"/api/v1/custodies/{active_custody.id}/invoices", {})
    assert response.status_code == 201
    (invoice,) = response.json()
    pdf = login_client(fin).get(invoice["pdf_url"])
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in (
        "Tax invoice",
        "Gulf Rent A Car LLC",
        "100123456700003",
        invoice["invoice_no"],
        active_custody.customer.full_name,
        "624.00",
        "31.20",
        "655.20",
        "AED",
    ):
        assert expected in text, expected


def test_invoices_of_another_branch_are_not_found(users, active_custody, other_branch):
    from conftest import make_user

    fin = users[Role.FINANCE]
    posted(fin, active_custody)
    (invoice,) = services.issue_invoices(fin, active_custody.id)
    stranger = make_user(Role.FINANCE, other_branch, email="fin2@example.com")
    assert login_client(stranger).get(reverse("billing:invoice_pdf", args=[invoice.id])).status_code == 404


# ---- calendar-day replacement rental ---------------------------------------------------------------


def test_calendar_days_count_every_date_touched_in_the_branch_zone():
    dubai = ZoneInfo("Asia/Dubai")
    start = datetime(2026, 11, 30, 18, 0, tzinfo=dubai)
    assert rental.calendar_days(start, start + timedelta(hours=16), "Asia/Dubai") == 2
    assert rental.billable_days(start, start + timedelta(hours=16)) == 1
    assert rental.calendar_days(start, start + timedelta(hours=2), "Asia/Dubai") == 1


def test_an_insurer_branch_billing_per_calendar_day_gets_calendar_days(users, make_draft, branch):
    branch.insurer_calendar_days = True
    branch.save()
    dubai = ZoneInfo("Asia/Dubai")
    start = datetime(2026, 11, 1, 20, 0, tzinfo=dubai)
    custody = make_draft(
        incident_at=start - timedelta(hours=3),
        effective_from=start,
        expected_return_at=start + timedelta(hours=38),  # 3 Nov 10:00: 2 × 24 h started, 3 dates
        insurer_name="Oman Insurance",
        authorized_daily_rate_cap=D("150"),
    )
    (line,) = [c for c in Charge.objects.filter(custody=custody) if c.responsibility == "insurance"]
    assert line.quantity == D("3")
    branch.insurer_calendar_days = False
    branch.save()
    custody_services.update_custody(users[Role.OPERATOR], custody.id, {"notes": "recount"})
    line = Charge.objects.get(custody=custody, responsibility="insurance")
    assert line.quantity == D("2")

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import Role
from audit.models import AuditEntry
from billing import rental, services
from billing.models import Charge, Payment
from billing.tests.conftest import close
from core.errors import InvalidTransition, ValidationFailed
from custodies import services as custody_services
from custodies.models import Custody
from integrations.models import OutboxEvent

pytestmark = pytest.mark.django_db

D = Decimal


def damage(**extra):
    return {
        "charge_type": "damage",
        "description": "Scratched bumper",
        "quantity": "1",
        "unit_price": "400.00",
        "responsibility": "customer",
        **extra,
    }


def test_a_draft_charge_gets_vat_from_the_default_tax_profile(users, active_custody):
    charge = services.add_charge(users[Role.OPERATOR], active_custody.id, damage())
    assert (charge.subtotal, charge.tax_rate, charge.tax_amount, charge.total, charge.status) == (
        D("400.00"),
        D("5.00"),
        D("20.00"),
        D("420.00"),
        "draft",
    )


def test_a_per_line_tax_override(users, active_custody):
    charge = services.add_charge(users[Role.OPERATOR], active_custody.id, damage(tax_rate="0"))
    assert charge.total == D("400.00")


@pytest.mark.parametrize(
    "role,allowed",
    [
        (Role.OPERATOR, False),
        (Role.SUPERVISOR, False),
        (Role.VIEWER, False),
        (Role.MANAGER, True),
        (Role.FINANCE, True),
        (Role.ADMIN, True),
    ],
)
def test_who_may_post(users, active_custody, role, allowed):
    charge = services.add_charge(users[Role.OPERATOR], active_custody.id, damage())
    if allowed:
        assert services.post_charge(users[role], charge.id).status == "posted"
    else:
        with pytest.raises(PermissionDenied):
            services.post_charge(users[role], charge.id)
        charge.refresh_from_db()
        assert charge.status == "draft"


def test_posted_charges_are_immutable(users, active_custody):
    charge = services.add_charge(users[Role.OPERATOR], active_custody.id, damage())
    services.post_charge(users[Role.FINANCE], charge.id)
    with pytest.raises(InvalidTransition):
        services.update_charge(users[Role.FINANCE], charge.id, {"unit_price": "1.00"})
    charge.refresh_from_db()
    assert charge.unit_price == D("400.00")


def test_no_posting_while_the_custody_is_a_draft_and_no_charges_on_a_voided_one(
    users, make_draft, tax_profile
):
    custody = make_draft()
    charge = services.add_charge(users[Role.OPERATOR], custody.id, damage())
    with pytest.raises(InvalidTransition):
        services.post_charge(users[Role.FINANCE], charge.id)
    custody_services.void_custody(users[Role.OPERATOR], custody.id, "mistake")
    with pytest.raises(InvalidTransition):
        services.add_charge(users[Role.OPERATOR], custody.id, damage())


def test_an_operator_voids_their_own_draft_but_not_a_posted_charge(users, active_custody):
    op = users[Role.OPERATOR]
    mine = services.add_charge(op, active_custody.id, damage())
    assert services.void_charge(op, mine.id, "typo").status == "void"
    posted = services.add_charge(op, active_custody.id, damage())
    services.post_charge(users[Role.FINANCE], posted.id)
    with pytest.raises(PermissionDenied):
        services.void_charge(op, posted.id, "no")
    assert services.void_charge(users[Role.FINANCE], posted.id, "billed twice").status == "void"
    with pytest.raises(InvalidTransition):
        services.void_charge(users[Role.FINANCE], posted.id, "again")


def test_a_payment_pays_the_oldest_open_charges_of_that_payer(users, active_custody):
    fin = users[Role.FINANCE]
    first = services.post_charge(
        fin, services.add_charge(fin, active_custody.id, damage(unit_price="100")).id
    )
    second = services.post_charge(
        fin, services.add_charge(fin, active_custody.id, damage(unit_price="200")).id
    )
    services.record_payment(
        fin, active_custody.id, {"amount": "150.00", "method": "card", "payer": "customer"}
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.amount_paid) == ("paid", D("105.00"))
    assert (second.status, second.amount_paid) == ("posted", D("45.00"))
    bal = services.balance(active_custody)
    assert (bal.charged, bal.paid, bal.outstanding) == (D("315.00"), D("150.00"), D("165.00"))


def test_the_balance_is_one_query_of_billed_charges_and_payments(
    users, active_custody, django_assert_num_queries
):
    """billing.services._sums: one UNION ALL (hand-written SQL) instead of two aggregates."""
    fin = users[Role.FINANCE]
    services.post_charge(fin, services.add_charge(fin, active_custody.id, damage(unit_price="100")).id)
    services.post_charge(
        fin,
        services.add_charge(
            fin, active_custody.id, damage(unit_price="10.10", responsibility="insurance")
        ).id,
    )
    services.add_charge(fin, active_custody.id, damage(unit_price="999"))  # a draft: not billed
    services.record_payment(
        fin, active_custody.id, {"amount": "50.05", "method": "card", "payer": "customer"}
    )
    with django_assert_num_queries(1):
        bal = services.balance(active_custody)
    assert bal.by_responsibility["customer"] == {
        "charged": D("105.00"),
        "paid": D("50.05"),
        "outstanding": D("54.95"),
    }
    assert bal.by_responsibility["insurance"]["charged"] == D("10.61")  # 10.10 + 5 % VAT, to the cent
    assert bal.by_responsibility["company"] == {
        "charged": D("0.00"),
        "paid": D("0.00"),
        "outstanding": D("0.00"),
    }
    assert (bal.charged, bal.paid, bal.outstanding) == (D("115.61"), D("50.05"), D("65.56"))
    with django_assert_num_queries(1):
        assert services.payer_outstanding(active_custody, "customer") == D("54.95")
    assert services.payer_outstanding(active_custody, "insurance") == D("10.61")
    assert services.payer_outstanding(active_custody, "third_party") == D("0.00")


def test_a_refund_needs_a_reason_and_reopens_the_charge(users, active_custody):
    fin = users[Role.FINANCE]
    charge = services.post_charge(
        fin, services.add_charge(fin, active_custody.id, damage(unit_price="100")).id
    )
    services.record_payment(fin, active_custody.id, {"amount": "105", "method": "cash", "payer": "customer"})
    with pytest.raises(ValidationFailed):
        services.record_payment(
            fin, active_custody.id, {"amount": "-5", "method": "cash", "payer": "customer"}
        )
    with pytest.raises(ValidationFailed):
        services.record_payment(
            fin,
            active_custody.id,
            {"amount": "-500", "method": "cash", "payer": "customer", "reason": "too much"},
        )
    services.record_payment(
        fin, active_custody.id, {"amount": "-5", "method": "cash", "payer": "customer", "reason": "goodwill"}
    )
    charge.refresh_from_db()
    assert (charge.status, charge.amount_paid) == ("posted", D("100.00"))
    assert AuditEntry.objects.filter(action="payment.refunded").count() == 1


def test_closing_posts_the_rental_for_the_actual_period(users, active_custody):
    Custody.objects.filter(pk=active_custody.pk).update(
        handed_over_at=timezone.now() - timedelta(days=2, hours=1)
    )
    active_custody.refresh_from_db()
    close(active_custody, users[Role.OPERATOR])
    line = Charge.objects.get(custody=active_custody, charge_type="replacement_rental")
    assert (line.status, line.quantity, line.unit_price, line.total) == (
        "posted",
        D("3"),
        D("150.00"),
        D("472.50"),
    )
    assert line.posted_by is None
    assert AuditEntry.objects.filter(action="charge.posted", source="system").exists()


def test_a_draft_charge_blocks_closing_and_is_named(users, active_custody):
    services.add_charge(users[Role.OPERATOR], active_custody.id, damage(description="Broken mirror"))
    with pytest.raises(ValidationFailed) as exc:
        close(active_custody, users[Role.OPERATOR])
    assert "Broken mirror" in exc.value.details["charges"][0]
    active_custody.refresh_from_db()
    assert active_custody.status == "active"


def test_fuel_and_excess_km_suggestions_are_posted_only_when_accepted(users, active_custody):
    Custody.objects.filter(pk=active_custody.pk).update(handed_over_at=timezone.now() - timedelta(hours=20))
    active_custody.refresh_from_db()
    suggestions = rental.close_suggestions(active_custody, timezone.now(), 20400, 5)
    assert [(s.key, s.quantity) for s in suggestions] == [("fuel", 3), ("excess_km", 150)]
    close(active_custody, users[Role.OPERATOR], odometer_km=20400, fuel_level=5, accept_suggestions=["fuel"])
    types = sorted(Charge.objects.filter(custody=active_custody).values_list("charge_type", "status"))
    assert types == [("fuel", "posted"), ("replacement_rental", "posted")]
    fuel = Charge.objects.get(custody=active_custody, charge_type="fuel")
    assert fuel.subtotal == D("75.00")


def test_the_rental_follows_the_rate_policy(users, make_draft, special_rate, tax_profile):
    prorate = make_draft(rate_policy="prorate")
    assert Charge.objects.get(custody=prorate).unit_price == D("100.00")  # 3000 / 30
    free = make_draft(rate_policy="free")
    line = Charge.objects.get(custody=free)
    assert (line.unit_price, line.responsibility) == (D("0.00"), "company")
    special = make_draft(rate_policy="special_code", special_rate_code_id=special_rate.id)
    assert Charge.objects.get(custody=special).unit_price == D("90.00")


def test_an_insurer_pays_within_its_authorization_and_the_customer_the_excess(users, make_draft, tax_profile):
    now = timezone.now()
    custody = make_draft(
        insurer_name="Oman Insurance",
        authorized_daily_rate_cap=D("100"),
        authorized_max_days=2,
        effective_from=now,
        expected_return_at=now + timedelta(days=3, hours=1),
    )
    lines = {
        c.system_key: (c.quantity, c.unit_price, c.responsibility)
        for c in Charge.objects.filter(custody=custody)
    }
    assert lines == {
        "rental:insurance": (D("2"), D("100.00"), "insurance"),
        "rental:rate_excess": (D("2"), D("50.00"), "customer"),
        "rental:days_excess": (D("2"), D("150.00"), "customer"),
    }


def test_the_rental_is_recomputed_while_draft(users, make_draft, tax_profile):
    custody = make_draft()
    assert Charge.objects.get(custody=custody).quantity == D("4")  # effective −1 h → +3 days
    custody_services.update_custody(
        users[Role.OPERATOR], custody.id, {"expected_return_at": custody.effective_from + timedelta(days=6)}
    )
    assert Charge.objects.get(custody=custody).quantity == D("6")


def test_a_damage_hold_is_captured_as_a_payment_or_released(users, active_custody):
    fin = users[Role.FINANCE]
    hold = services.record_hold(users[Role.OPERATOR], active_custody.id, "1000", "AUTH-1")
    payment = services.capture_hold(fin, hold.id, "400")
    assert (payment.amount, payment.method, payment.payer) == (D("400.00"), "preauth_capture", "customer")
    with pytest.raises(InvalidTransition):
        services.release_hold(fin, hold.id)
    other = services.record_hold(users[Role.OPERATOR], active_custody.id, "500")
    assert services.release_hold(fin, other.id).status == "released"
    assert Payment.objects.filter(custody=active_custody).count() == 1


def test_money_changes_emit_events(users, active_custody):
    fin = users[Role.FINANCE]
    charge = services.post_charge(fin, services.add_charge(fin, active_custody.id, damage()).id)
    services.record_payment(fin, active_custody.id, {"amount": "10", "method": "cash", "payer": "customer"})
    services.void_charge(fin, charge.id, "wrong")
    types = list(
        OutboxEvent.objects.filter(type__in=["charge.posted", "payment.recorded", "charge.voided"])
        .order_by("created_at")
        .values_list("type", flat=True)
    )
    assert types == ["charge.posted", "payment.recorded", "charge.voided"]


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("charge"),
            st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
            st.sampled_from(["customer", "insurance"]),
        ),
        st.tuples(
            st.just("pay"),
            st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
            st.sampled_from(["customer", "insurance"]),
        ),
        st.tuples(
            st.just("refund"),
            st.decimals(min_value=D("0.01"), max_value=D("500"), places=2),
            st.sampled_from(["customer", "insurance"]),
        ),
        st.tuples(st.just("void"), st.integers(min_value=0, max_value=10), st.just("")),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_balance_is_charges_minus_payments_and_no_charge_is_overpaid(users, active_custody, ops):
    fin = users[Role.FINANCE]
    Charge.objects.filter(custody=active_custody).delete()
    Payment.objects.filter(custody=active_custody).delete()
    posted = []
    for kind, value, who in ops:
        if kind == "charge":
            charge = services.add_charge(
                fin, active_custody.id, damage(unit_price=str(value), responsibility=who, tax_rate="5")
            )
            posted.append(services.post_charge(fin, charge.id))
        elif kind == "pay":
            services.record_payment(
                fin,
                active_custody.id,
                {"amount": str(value), "method": "card", "payer": who, "as_credit": True},
            )
        elif kind == "refund":
            # More than was paid is refused and records nothing.
            with contextlib.suppress(ValidationFailed):
                services.record_payment(
                    fin,
                    active_custody.id,
                    {"amount": str(-value), "method": "card", "payer": who, "reason": "refund"},
                )
        elif posted:
            target = posted[value % len(posted)]
            target.refresh_from_db()
            if target.status in ("posted", "invoiced"):
                services.void_charge(fin, target.id, "test")
    billed = Charge.objects.filter(custody=active_custody, status__in=["posted", "invoiced", "paid"])
    payments = Payment.objects.filter(custody=active_custody)
    bal = services.balance(active_custody)
    assert bal.charged == sum((c.total for c in billed), D("0"))
    assert bal.paid == sum((p.amount for p in payments), D("0"))
    assert bal.outstanding == bal.charged - bal.paid
    for charge in Charge.objects.filter(custody=active_custody):
        assert D("0") <= charge.amount_paid <= charge.total
        assert (charge.status == "paid") == (charge.amount_paid == charge.total and charge.status != "void")
    for who in ("customer", "insurance"):
        received = sum((p.amount for p in payments if p.payer == who), D("0"))
        allocated = sum((c.amount_paid for c in billed if c.responsibility == who), D("0"))
        assert D("0") <= received
        assert allocated <= received


def test_the_lines_the_system_writes_keep_a_key_and_values_and_store_english(users, active_custody):
    from django.utils import translation

    Custody.objects.filter(pk=active_custody.pk).update(handed_over_at=timezone.now() - timedelta(hours=20))
    active_custody.refresh_from_db()
    with translation.override("ar"):  # an Arabic-speaking operator closes: the stored text is still English
        close(
            active_custody,
            users[Role.OPERATOR],
            odometer_km=20400,
            fuel_level=5,
            accept_suggestions=["fuel", "excess_km"],
        )
    lines = {c.charge_type: c for c in Charge.objects.filter(custody=active_custody)}
    rental_line, fuel, km = lines["replacement_rental"], lines["fuel"], lines["excess_km"]
    plate = active_custody.replacement_vehicle.plate
    assert (rental_line.description_key, rental_line.description_params["plate"]) == (
        "rental:customer",
        plate,
    )
    assert rental_line.description.startswith(f"Replacement rental, {plate}, ")
    assert (fuel.description_key, fuel.description_params) == ("fuel", {"eighths": 3})
    assert fuel.description == "Fuel: returned 3/8 tank short"
    assert (km.description_key, km.description_params) == ("excess_km", {"km": 150, "allowance": 250})
    assert km.description == "150 km over the 250 km allowance"


def test_an_edited_description_is_the_users_own_text(users, active_custody):
    charge = services.add_charge(users[Role.OPERATOR], active_custody.id, damage())
    Charge.objects.filter(pk=charge.pk).update(description_key="fuel", description_params={"eighths": 1})
    services.update_charge(users[Role.OPERATOR], charge.id, {"description": "Scratched door"})
    charge.refresh_from_db()
    assert (charge.description, charge.description_key, charge.description_params) == (
        "Scratched door",
        "",
        {},
    )
    assert charge.display_description == "Scratched door"


def test_closing_writes_each_line_once_with_its_audit_trail_and_events(users, active_custody):
    """The rental recomputed and posted, a suggestion accepted and posted: each line is one write,
    its entries are computed, created, then posted (in that order), and each posted line an event."""
    first = AuditEntry.objects.order_by("-id").first().pk
    close(active_custody, users[Role.OPERATOR], fuel_level=6, accept_suggestions=["fuel"])
    rental_line = Charge.objects.get(custody=active_custody, charge_type="replacement_rental")
    fuel = Charge.objects.get(custody=active_custody, charge_type="fuel")
    entries = list(
        AuditEntry.objects.filter(pk__gt=first, object_type="charge")
        .order_by("id")
        .values_list("action", "object_id", "changes", "message", "source")
    )
    assert [(e[0], e[1]) for e in entries] == [
        ("charge.computed", str(rental_line.pk)),
        ("charge.created", str(fuel.pk)),
        ("charge.posted", str(rental_line.pk)),
        ("charge.posted", str(fuel.pk)),
    ]
    assert entries[0][2] == {
        "quantity": ["3.000", "1"],  # handed over just now: one day instead of the three expected
        "subtotal": ["450.00", "150.00"],
        "tax_amount": ["22.50", "7.50"],
        "total": ["472.50", "157.50"],
        **{k: v for k, v in entries[0][2].items() if k.startswith("description")},
    }
    assert entries[1][2]["status"] == [None, "draft"] and entries[1][2]["total"] == [None, "52.50"]
    assert entries[2][2] == entries[3][2] == {"status": ["draft", "posted"]}
    assert [e[3] for e in entries] == [
        "Replacement rental recomputed",
        "Accepted at close",
        "Posted by the system at close",
        "Posted by the system at close",
    ]
    assert {e[4] for e in entries} == {"system"}
    assert (rental_line.status, rental_line.quantity, rental_line.total) == (
        "posted",
        D("1.000"),
        D("157.50"),
    )
    assert (fuel.status, fuel.posted_by, fuel.quantity) == ("posted", None, D("2.000"))
    posted = OutboxEvent.objects.filter(type="charge.posted").order_by("created_at")
    assert [e.data["charge"]["id"] for e in posted] == [str(rental_line.pk), str(fuel.pk)]


def test_a_close_with_a_payment_ahead_keeps_its_trail_in_order(users, active_custody):
    services.record_payment(
        users[Role.OPERATOR],
        active_custody.id,
        {"amount": "100.00", "method": "cash", "payer": "customer", "as_credit": True},
    )
    close(active_custody, users[Role.OPERATOR])
    trail = list(
        AuditEntry.objects.filter(custody_id=active_custody.id)
        .order_by("id")
        .values_list("action", "changes")
    )
    actions = [a for a, _changes in trail]
    assert actions[actions.index("custody.closed") - 2 :] == [
        "vehicle.updated",
        "vehicle.updated",
        "custody.closed",
        "charge.computed",
        "charge.posted",
        "charge.allocated",
    ]
    assert [[D(v) for v in pair] for pair in trail[-1][1].values()] == [[D("0"), D("100")]]
    line = Charge.objects.get(custody=active_custody, charge_type="replacement_rental")
    assert (line.status, line.amount_paid) == ("posted", D("100.00"))

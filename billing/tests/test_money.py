"""Property tests: money always reconciles."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import line_amounts, to_money

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)


@given(quantity=quantities, unit_price=prices, tax_rate=rates)
def test_a_line_total_is_its_rounded_subtotal_plus_rounded_tax(quantity, unit_price, tax_rate):
    amounts = line_amounts(quantity, unit_price, tax_rate)
    assert amounts.subtotal == to_money(quantity * unit_price)
    assert amounts.tax_amount == to_money(amounts.subtotal * tax_rate / 100)
    assert amounts.total == amounts.subtotal + amounts.tax_amount
    assert amounts.total.as_tuple().exponent == -2


@settings(max_examples=200)
@given(st.lists(st.tuples(quantities, prices, rates), min_size=1, max_size=20))
def test_totals_equal_the_sum_of_rounded_lines(lines):
    computed = [line_amounts(*line) for line in lines]
    assert sum(a.total for a in computed) == sum(a.subtotal for a in computed) + sum(
        a.tax_amount for a in computed
    )


def test_half_up_rounding():
    assert to_money(Decimal("2.345")) == Decimal("2.35")
    assert to_money(Decimal("2.344")) == Decimal("2.34")
    assert line_amounts(Decimal("1"), Decimal("0.10"), Decimal("5")).tax_amount == Decimal(
        "0.01"
    )  # 0.005 → 0.01


def test_floats_are_refused():
    import pytest

    with pytest.raises(TypeError):
        to_money(0.1)


def test_parse_money_accepts_amounts_and_refuses_the_rest():
    from billing.money import parse_money

    assert parse_money("12.345") == Decimal("12.35")
    assert parse_money(" 7 ") == Decimal("7.00")
    assert [parse_money(v) for v in ("abc", "NaN", "Infinity", None, 1.5, "")] == [None] * 6

"""The lease pricing formula (DESIGN §12, rounding §15.2) against hand calculations, and its invariants."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotes import pricing

# The worked example: acquisition 150,000.00, financing 5.50 %, overhead 8.00 %, target margin
# 15.00 %, monthly costs 350 + 450 + 60 + 25 + 90 + 0 = 975.00.
EXAMPLE = {
    "acquisition_cost": D("150000.00"),
    "financing_rate_pct": D("5.50"),
    "overhead_pct": D("8.00"),
    "target_margin_pct": D("15.00"),
    "maintenance_monthly": D("350"),
    "insurance_monthly": D("450"),
    "registration_monthly": D("60"),
    "roadside_monthly": D("25"),
    "replacement_monthly": D("90"),
    "other_monthly": D("0"),
}


# By hand, per band (financing 150,000 × 5.5 % / 12 = 687.50; operating 975.00; overhead 8 % × 975 = 78.00):
#  12 m: residual 85 %, depreciation 150,000 × 0.15 / 12 = 1,875.00; total 3,615.50;
#        suggested 3,615.50 / 0.85 × 1.25 = 5,316.9117… → 5,316.91
#  18 m: residual 75 %, 150,000 × 0.25 / 18 = 2,083.333… → 2,083.33; total 3,823.83;
#        3,823.83 / 0.85 × 1.15 = 5,173.4170… → 5,173.42
#  24 m: residual 65 %, 150,000 × 0.35 / 24 = 2,187.50; total 3,928.00; 3,928 / 0.85 × 1.10 = 5,083.2941… → 5,083.29
#  30 m: residual 55 %, 150,000 × 0.45 / 30 = 2,250.00; total 3,990.50; 3,990.50 / 0.85 × 1.00 = 4,694.7058… → 4,694.71
#  36 m: residual 45 %, 150,000 × 0.55 / 36 = 2,291.666… → 2,291.67; total 4,032.17; 4,032.17 / 0.85 = 4,743.7294… → 4,743.73
@pytest.mark.parametrize(
    ("term", "residual", "depreciation", "total", "suggested"),
    [
        (12, "85.00", "1875.00", "3615.50", "5316.91"),
        (18, "75.00", "2083.33", "3823.83", "5173.42"),
        (24, "65.00", "2187.50", "3928.00", "5083.29"),
        (30, "55.00", "2250.00", "3990.50", "4694.71"),
        (36, "45.00", "2291.67", "4032.17", "4743.73"),
    ],
)
def test_each_term_band_prices_like_the_hand_calculation(term, residual, depreciation, total, suggested):
    line = pricing.line_cost(term_months=term, **EXAMPLE)

    assert line.residual_pct == D(residual)
    assert line.depreciation == D(depreciation)
    assert line.financing == D("687.50")
    assert line.operating == D("975.00")
    assert line.overhead == D("78.00")
    assert line.total_monthly_cost == D(total)
    assert line.suggested_rate == D(suggested)


@pytest.mark.parametrize(
    ("term", "residual", "premium"),
    [
        (1, "85", "1.25"),
        (12, "85", "1.25"),
        (13, "75", "1.15"),
        (18, "75", "1.15"),
        (19, "65", "1.10"),
        (24, "65", "1.10"),
        (25, "55", "1.00"),
        (30, "55", "1.00"),
        (31, "45", "1.00"),
        (60, "45", "1.00"),
    ],
)
def test_band_edges_belong_to_the_shorter_band(term, residual, premium):
    assert pricing.residual_pct(term) == D(residual)
    assert pricing.short_lease_premium(term) == D(premium)


def test_ten_suvs_over_24_months_reconcile_with_the_hand_calculation():
    # 120,000 × 0.35 / 24 = 1,750.00; 120,000 × 6 % / 12 = 600.00; operating 300 + 400 + 50 + 20 + 80 = 850.00;
    # overhead 10 % = 85.00; total 3,285.00; suggested 3,285 / 0.88 × 1.10 = 4,106.25.
    line = pricing.line_cost(
        acquisition_cost=D("120000.00"),
        term_months=24,
        financing_rate_pct=D("6.00"),
        overhead_pct=D("10.00"),
        target_margin_pct=D("12.00"),
        maintenance_monthly=D("300"),
        insurance_monthly=D("400"),
        registration_monthly=D("50"),
        roadside_monthly=D("20"),
        replacement_monthly=D("80"),
    )
    assert (line.depreciation, line.financing, line.operating, line.overhead) == (
        D("1750.00"),
        D("600.00"),
        D("850.00"),
        D("85.00"),
    )
    assert line.total_monthly_cost == D("3285.00")
    assert line.suggested_rate == D("4106.25")
    # Ten of them quoted at the suggested rate: 41,062.50 a month, 5 % VAT 2,053.13, total 43,115.63.
    totals = pricing.quote_totals([pricing.line_total(10, line.suggested_rate)], D("5.00"))
    assert totals == pricing.QuoteTotals(D("41062.50"), D("2053.13"), D("43115.63"))
    # Margin at the suggested rate: (4,106.25 − 3,285) / 4,106.25 = 20.00 % (12 % target + the 1.10 premium).
    assert pricing.margin_pct(line.suggested_rate, line.total_monthly_cost) == D("20.00")


def test_components_round_half_up_not_to_even():
    line = pricing.line_cost(
        acquisition_cost=D("0"),
        term_months=36,
        financing_rate_pct=D("0"),
        overhead_pct=D("1.00"),
        target_margin_pct=D("0"),
        other_monthly=D("0.50"),
    )
    assert line.overhead == D("0.01")  # 0.005 → 0.01 (banker's rounding would give 0.00)


def test_margin_of_a_quoted_rate():
    assert pricing.margin_pct(D("4500.00"), D("4032.17")) == D("10.40")
    assert pricing.margin_pct(D("4000.00"), D("4032.17")) == D("-0.80")
    assert pricing.margin_pct(D("0"), D("4032.17")) is None


@pytest.mark.parametrize(
    ("margin", "colour", "warning"),
    [
        ("15.00", "success", False),
        ("14.99", "warning", False),
        ("10.00", "warning", False),
        ("9.99", "danger", True),
    ],
)
def test_margin_colours(margin, colour, warning):
    assert pricing.margin_colour(D(margin), D("15.00")) == colour
    assert pricing.margin_warning(D(margin)) is warning


def test_sheet_summary_weights_by_vehicles_and_names_the_lowest_margin_line():
    summary = pricing.sheet_summary(
        [
            pricing.SheetLine("a", 10, D("3285.00"), D("4106.25")),
            pricing.SheetLine("b", 2, D("4032.17"), D("4300.00")),
        ]
    )
    assert summary.total_monthly_cost == D("40914.34")  # 32,850.00 + 8,064.34
    assert summary.total_revenue == D("49662.50")  # 41,062.50 + 8,600.00
    assert summary.average_margin_pct == D("17.62")  # (49,662.50 − 40,914.34) / 49,662.50
    assert summary.lowest_margin_line == "b"
    assert summary.lowest_margin_pct == D("6.23")


def test_a_target_margin_of_100_percent_is_refused():
    with pytest.raises(ValueError):
        pricing.line_cost(**{**EXAMPLE, "target_margin_pct": D("100")}, term_months=12)


money = st.decimals(min_value=D("0"), max_value=D("5000"), places=2)
pct = st.decimals(min_value=D("0"), max_value=D("30"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    cost=st.decimals(min_value=D("20000"), max_value=D("2000000"), places=2),
    term=st.integers(min_value=1, max_value=72),
    financing=pct,
    overhead=pct,
    margin=st.decimals(min_value=D("0"), max_value=D("60"), places=2),
    monthly=st.lists(money, min_size=6, max_size=6),
)
def test_the_suggested_rate_earns_at_least_the_target_margin(
    cost, term, financing, overhead, margin, monthly
):
    line = pricing.line_cost(
        acquisition_cost=cost,
        term_months=term,
        financing_rate_pct=financing,
        overhead_pct=overhead,
        target_margin_pct=margin,
        **dict(zip(pricing.MONTHLY_COSTS, monthly, strict=True)),
    )
    # Before the premium the rate is total / (1 − margin); the premium (≥ 1) only adds, and the one
    # rounding at the end moves it by at most half a fils.
    exact = line.total_monthly_cost / (1 - margin / 100) * pricing.short_lease_premium(term)
    assert abs(line.suggested_rate - exact) <= D("0.005")
    assert line.suggested_rate * 1 >= line.total_monthly_cost
    assert pricing.margin_pct(line.suggested_rate, line.total_monthly_cost) >= margin


@settings(max_examples=300, deadline=None)
@given(
    cost=st.decimals(min_value=D("0"), max_value=D("2000000"), places=2),
    term=st.integers(min_value=1, max_value=72),
    financing=pct,
    overhead=pct,
    monthly=st.lists(money, min_size=6, max_size=6),
)
def test_a_lines_total_is_the_sum_of_its_rounded_components(cost, term, financing, overhead, monthly):
    line = pricing.line_cost(
        acquisition_cost=cost,
        term_months=term,
        financing_rate_pct=financing,
        overhead_pct=overhead,
        target_margin_pct=D("15"),
        **dict(zip(pricing.MONTHLY_COSTS, monthly, strict=True)),
    )
    parts = (line.depreciation, line.financing, line.operating, line.overhead)
    assert all(p == p.quantize(D("0.01")) for p in parts)
    assert line.total_monthly_cost == sum(parts)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=50),
            st.decimals(min_value=D("0"), max_value=D("99999"), places=2),
        ),
        min_size=1,
        max_size=12,
    ),
    vat=st.decimals(min_value=D("0"), max_value=D("20"), places=2),
)
def test_quote_totals_are_the_sum_of_the_rounded_lines(lines, vat):
    rounded = [pricing.line_total(q, rate) for q, rate in lines]
    totals = pricing.quote_totals(rounded, vat)
    assert totals.subtotal == sum(rounded)
    assert totals.total == totals.subtotal + totals.vat_amount
    summary = pricing.sheet_summary(pricing.SheetLine(i, q, rate, rate) for i, (q, rate) in enumerate(lines))
    assert summary.total_monthly_cost == sum(pricing.line_total(q, rate) for q, rate in lines)
    assert summary.total_revenue == totals.subtotal


@settings(max_examples=300, deadline=None)
@given(
    cost=st.decimals(min_value=D("0"), max_value=D("2000000"), places=2),
    term=st.integers(min_value=1, max_value=72),
    financing=pct,
    overhead=pct,
    margin=st.decimals(min_value=D("0"), max_value=D("90"), places=2),
    monthly=st.lists(money, min_size=6, max_size=6),
)
def test_before_the_premium_the_rate_already_earns_the_target_margin(
    cost, term, financing, overhead, margin, monthly
):
    """The issue's property: the suggested rate without its short-lease premium (suggested / premium)
    yields at least the target margin on the line's cost; the premium only adds. Checked exactly (no
    rounding of the margin): rate × (1 − margin) ≥ cost, allowing the half fils of the one rounding."""
    line = pricing.line_cost(
        acquisition_cost=cost,
        term_months=term,
        financing_rate_pct=financing,
        overhead_pct=overhead,
        target_margin_pct=margin,
        **dict(zip(pricing.MONTHLY_COSTS, monthly, strict=True)),
    )
    premium = pricing.short_lease_premium(term)
    assert premium >= 1
    before_premium = line.suggested_rate / premium
    half_fils = D("0.005") / premium
    assert before_premium * (1 - margin / 100) >= line.total_monthly_cost - half_fils
    if line.total_monthly_cost >= D("100"):  # away from tiny amounts the rounded margin shows it too
        assert pricing.margin_pct(before_premium, line.total_monthly_cost) >= margin - D("0.01")
    # Premium 1.00 (terms over 24 months): the suggested rate itself, rounded half-up, meets the target
    # (from a cost of 100.00 a month the rounding moves the margin by at most 0.005 points; below a
    # dirham the fils rounding can eat a margin, e.g. a cost of 0.01 at 33.33 % is quoted 0.01).
    if premium == 1 and line.total_monthly_cost >= D("100"):
        assert pricing.margin_pct(line.suggested_rate, line.total_monthly_cost) >= margin

"""Lease pricing (DESIGN §12, rounding of §15.2): the one formula the server, the pages and the PDF use.

Pure Decimal functions, no database. Every cost component is rounded half-up to 2 places, a line's
total monthly cost is the sum of its rounded components, and the suggested rate is rounded once at
the end; quote and sheet totals are sums of rounded lines, so every figure adds up on paper.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from billing.money import HUNDRED, ZERO, to_money

TWELVE = Decimal("12")
ONE = Decimal("1")
PCT = Decimal("0.01")

# (longest term in the band in months, residual value % of the acquisition cost); None = longer.
RESIDUAL_BANDS: tuple[tuple[int | None, Decimal], ...] = (
    (12, Decimal("85")),
    (18, Decimal("75")),
    (24, Decimal("65")),
    (30, Decimal("55")),
    (None, Decimal("45")),
)
# Short leases carry a premium on the suggested rate (the car comes back sooner, less used).
PREMIUM_BANDS: tuple[tuple[int | None, Decimal], ...] = (
    (12, Decimal("1.25")),
    (18, Decimal("1.15")),
    (24, Decimal("1.10")),
    (None, Decimal("1.00")),
)
MONTHLY_COSTS = (
    "maintenance_monthly",
    "insurance_monthly",
    "registration_monthly",
    "roadside_monthly",
    "replacement_monthly",
    "other_monthly",
)


def to_pct(value) -> Decimal:
    """A percentage with 2 places, half-up (margins, rates)."""
    if isinstance(value, float):
        raise TypeError("percentages must not be floats")
    return Decimal(value).quantize(PCT, rounding=ROUND_HALF_UP)


def _band(bands, term_months: int) -> Decimal:
    if term_months < 1:
        raise ValueError("the lease term is at least one month")
    for longest, value in bands:
        if longest is None or term_months <= longest:
            return value
    raise AssertionError("the last band is open-ended")


def residual_pct(term_months: int) -> Decimal:
    return _band(RESIDUAL_BANDS, term_months)


def short_lease_premium(term_months: int) -> Decimal:
    return _band(PREMIUM_BANDS, term_months)


@dataclass(frozen=True)
class LineCost:
    residual_pct: Decimal
    depreciation: Decimal
    financing: Decimal
    operating: Decimal
    overhead: Decimal
    total_monthly_cost: Decimal
    suggested_rate: Decimal


def line_cost(
    *,
    acquisition_cost,
    term_months: int,
    financing_rate_pct,
    overhead_pct,
    target_margin_pct,
    maintenance_monthly=ZERO,
    insurance_monthly=ZERO,
    registration_monthly=ZERO,
    roadside_monthly=ZERO,
    replacement_monthly=ZERO,
    other_monthly=ZERO,
) -> LineCost:
    """Monthly cost of one vehicle on a line and the rate that earns the target margin.

    depreciation = cost × (1 − residual) / term; financing = cost × rate / 12; operating = the monthly
    costs; overhead = overhead % × operating; suggested = total / (1 − margin) × short-lease premium.
    """
    margin = Decimal(target_margin_pct)
    if not ZERO <= margin < HUNDRED:
        raise ValueError("the target margin is at least 0 % and below 100 %")
    cost = Decimal(acquisition_cost)
    residual = residual_pct(term_months)
    depreciation = to_money(cost * (HUNDRED - residual) / HUNDRED / Decimal(term_months))
    financing = to_money(cost * Decimal(financing_rate_pct) / HUNDRED / TWELVE)
    operating = to_money(
        sum(
            (
                Decimal(v)
                for v in (
                    maintenance_monthly,
                    insurance_monthly,
                    registration_monthly,
                    roadside_monthly,
                    replacement_monthly,
                    other_monthly,
                )
            ),
            ZERO,
        )
    )
    overhead = to_money(operating * Decimal(overhead_pct) / HUNDRED)
    total = depreciation + financing + operating + overhead
    suggested = to_money(total / (ONE - margin / HUNDRED) * short_lease_premium(term_months))
    return LineCost(
        residual_pct=to_pct(residual),
        depreciation=depreciation,
        financing=financing,
        operating=operating,
        overhead=overhead,
        total_monthly_cost=total,
        suggested_rate=suggested,
    )


def margin_pct(rate, monthly_cost) -> Decimal | None:
    """Actual margin of a quoted rate: (quoted − cost) / quoted × 100, 2 places; None for a zero rate."""
    rate = Decimal(rate)
    if rate == ZERO:
        return None
    return to_pct((rate - Decimal(monthly_cost)) / rate * HUNDRED)


# Margin colours (DESIGN §12): at or above the target green, at or above 10 % amber, else red.
WARNING_MARGIN_PCT = Decimal("10")


def margin_colour(margin, target_margin_pct) -> str:
    if margin is None:
        return "danger"
    if margin >= Decimal(target_margin_pct):
        return "success"
    if margin >= WARNING_MARGIN_PCT:
        return "warning"
    return "danger"


def margin_warning(margin) -> bool:
    """A line under 10 % (or with no rate) is flagged wherever the sheet is shown."""
    return margin is None or margin < WARNING_MARGIN_PCT


# ---- quote totals ---------------------------------------------------------------------------------


def line_total(quantity: int, monthly_rate) -> Decimal:
    """A quote line's monthly amount: quantity × monthly rate."""
    return to_money(Decimal(quantity) * Decimal(monthly_rate))


@dataclass(frozen=True)
class QuoteTotals:
    subtotal: Decimal
    vat_amount: Decimal
    total: Decimal


def quote_totals(line_totals: Iterable[Decimal], vat_rate) -> QuoteTotals:
    """Subtotal = sum of the rounded lines, VAT rounded once, total = subtotal + VAT."""
    subtotal = to_money(sum((Decimal(t) for t in line_totals), ZERO))
    vat = to_money(subtotal * Decimal(vat_rate) / HUNDRED)
    return QuoteTotals(subtotal=subtotal, vat_amount=vat, total=subtotal + vat)


# ---- cost sheet summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetLine:
    """What the summary needs of a sheet line: its key, vehicles, cost and the quoted rate."""

    key: object
    quantity: int
    total_monthly_cost: Decimal
    quoted_rate: Decimal


@dataclass(frozen=True)
class SheetSummary:
    total_monthly_cost: Decimal
    total_revenue: Decimal
    average_margin_pct: Decimal | None
    lowest_margin_line: object | None
    lowest_margin_pct: Decimal | None


def sheet_summary(lines: Iterable[SheetLine]) -> SheetSummary:
    """Monthly cost and revenue of all vehicles (sums of rounded lines × quantity), the revenue-weighted
    average margin, and the line with the lowest margin."""
    lines = list(lines)
    cost = sum((to_money(line.total_monthly_cost * line.quantity) for line in lines), ZERO)
    revenue = sum((line_total(line.quantity, line.quoted_rate) for line in lines), ZERO)
    lowest_key, lowest = None, None
    for line in lines:
        margin = margin_pct(line.quoted_rate, line.total_monthly_cost)
        value = margin if margin is not None else Decimal("-Infinity")
        if lowest is None or value < lowest:
            lowest_key, lowest = line.key, value
    return SheetSummary(
        total_monthly_cost=to_money(cost),
        total_revenue=to_money(revenue),
        average_margin_pct=margin_pct(revenue, cost),
        lowest_margin_line=lowest_key,
        lowest_margin_pct=lowest if lowest is not None and lowest.is_finite() else None,
    )

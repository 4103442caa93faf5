"""All money arithmetic: Decimal, 2 places, half-up; tax from the tax profile (DESIGN §8)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.kept import Kept

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def to_money(value) -> Decimal:
    """Quantize anything numeric (never a float) to 2 places, half-up."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> int:
    """An amount as whole cents (fils), for sums kept as integers (the KPI rollup)."""
    return int(to_money(value) * 100)


def from_cents(cents: int) -> Decimal:
    return to_money(Decimal(cents) / HUNDRED)


def parse_money(value) -> Decimal | None:
    """User input (string, int or Decimal) as money, or None when it is not a finite amount."""
    if value is None or isinstance(value, float | bool):
        return None
    try:
        amount = Decimal(str(value).strip())
        return to_money(amount) if amount.is_finite() else None
    except ArithmeticError:
        return None


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal
    tax_amount: Decimal
    total: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal) -> LineAmounts:
    """One charge line: subtotal and tax each rounded once, total = their sum (so totals always add up)."""
    subtotal = to_money(Decimal(quantity) * Decimal(unit_price))
    tax = to_money(subtotal * Decimal(tax_rate) / HUNDRED)
    return LineAmounts(subtotal=subtotal, tax_amount=tax, total=subtotal + tax)


# The default tax profile's rate, kept per process (core.kept): every charge reads it. Saving or deleting
# a tax profile forgets it (apps.py); other processes within CUSTODY_CONFIG_CACHE_SECONDS.
DEFAULT_TAX_RATE = Kept("default_tax_rate", lambda: settings.CUSTODY_CONFIG_CACHE_SECONDS)


def _read_default_tax_rate() -> Decimal:
    from fleet.models import TaxProfile

    profile = TaxProfile.objects.filter(is_default=True).only("rate_percent").first()
    return profile.rate_percent if profile else ZERO


def default_tax_rate() -> Decimal:
    return DEFAULT_TAX_RATE.get(None, _read_default_tax_rate)


def currency() -> str:
    return settings.CUSTODY_CURRENCY


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    taxable: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class VatSummary:
    rows: list[VatRow]
    taxable: Decimal
    vat: Decimal
    total: Decimal


def vat_summary(lines) -> VatSummary:
    """A tax invoice's VAT summary: per rate the taxable amount and VAT, then the totals (sums of lines)."""
    by_rate: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        row = by_rate.setdefault(to_money(line.tax_rate), [ZERO, ZERO])
        row[0] += line.subtotal
        row[1] += line.tax_amount
    rows = [VatRow(rate, taxable, vat, taxable + vat) for rate, (taxable, vat) in sorted(by_rate.items())]
    taxable = sum((r.taxable for r in rows), ZERO)
    vat = sum((r.vat for r in rows), ZERO)
    return VatSummary(rows, taxable, vat, taxable + vat)

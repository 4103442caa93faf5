"""Replacement rental computed from the rate policy and the custody period (DESIGN §8)."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core import dates
from core.bidi import isolate
from custodies.choices import RatePolicy

from .choices import ChargeType, Responsibility
from .money import ZERO, to_money

SECONDS_PER_DAY = 86400

# What the system writes on the lines it makes: a key and its values are stored on the charge
# (description_key, description_params), the words are chosen when the line is shown, in the reader's
# language (Charge.display_description). The stored `description` is the English text, for the API.
DESCRIPTIONS = {
    "rental:company": gettext_lazy("Replacement rental (free of charge), %(plate)s, %(start)s – %(end)s"),
    "rental:customer": gettext_lazy("Replacement rental, %(plate)s, %(start)s – %(end)s"),
    "rental:insurance": gettext_lazy("Replacement rental (%(insurer)s), %(plate)s, %(start)s – %(end)s"),
    "rental:rate_excess": gettext_lazy("Daily rate above the insurer's cap"),
    "rental:days_excess": gettext_lazy("Days beyond the insurer's authorization"),
    "fuel": gettext_lazy("Fuel: returned %(eighths)s/8 tank short"),
    "excess_km": gettext_lazy("%(km)s km over the %(allowance)s km allowance"),
}
DATE_PARAMS = ("start", "end")  # stored as ISO dates (the branch's days), shown in the reader's format


def _param_text(name: str, value) -> str:
    if name in DATE_PARAMS:
        try:
            return dates.date_text(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    return str(value)


def describe(key: str, params: dict | None, *, html: bool = False) -> str | None:
    """A system line's description in the active language; None when `key` is not one of ours.
    With html=True each value is isolated (<bdi>), so a plate or a date keeps its order in Arabic."""
    template = DESCRIPTIONS.get(key or "")
    if template is None:
        return None
    values = {}
    for name, value in (params or {}).items():
        text = _param_text(name, value)
        values[name] = isolate(text) if html else text
    try:
        if html:
            # The template is escaped and every value was escaped by format_html.
            return mark_safe(conditional_escape(str(template)) % values)  # noqa: S308
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return None  # params of an older shape: the stored text is shown


def english(key: str, params: dict | None) -> str:
    """The stored text of a system line (English, whatever the language of the user who caused it)."""
    with translation.override("en"):
        return describe(key, params) or ""


@dataclass(frozen=True)
class RentalLine:
    system_key: str
    quantity: Decimal
    unit_price: Decimal
    responsibility: str
    charge_type: str = ChargeType.REPLACEMENT_RENTAL
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        return english(self.system_key, self.params)


def billable_days(start: datetime, end: datetime) -> int:
    """Days rounded up per started 24 hours; at least one."""
    seconds = max(0, int((end - start).total_seconds()))
    return max(1, -(-seconds // SECONDS_PER_DAY))


def calendar_days(start: datetime, end: datetime, tz_name: str) -> int:
    """Every calendar day (in the branch's time zone) the car was out, first and last included."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(tz_name or "Asia/Dubai")
    return max(1, (end.astimezone(tz).date() - start.astimezone(tz).date()).days + 1)


def period(custody, now: datetime) -> tuple[datetime, datetime]:
    start = custody.handed_over_at or custody.effective_from
    end = custody.returned_at or custody.expected_return_at or now
    return start, max(end, start)


def daily_rate(custody) -> Decimal:
    policy = custody.rate_policy
    agreement = custody.agreement
    if policy == RatePolicy.FREE:
        return ZERO
    if policy == RatePolicy.SPECIAL_CODE and custody.special_rate_code_id:
        return custody.special_rate_code.daily_rate
    if policy == RatePolicy.PRORATE and agreement is not None:
        return to_money(agreement.monthly_rate / 30)
    if agreement is not None:
        return agreement.daily_rate
    # No agreement: the replacement's class rate is what the counter would quote.
    vehicle = custody.replacement_vehicle
    return vehicle.vehicle_class.daily_rate if vehicle is not None else ZERO


def estimated_cost(custody) -> Decimal:
    """The rental estimate approval rules compare with (`min_estimated_cost`), priced like the rental:
    the daily rate over the expected period (one day when open-ended)."""
    end = custody.expected_return_at or (custody.effective_from + timedelta(days=1))
    return to_money(daily_rate(custody) * billable_days(custody.effective_from, end))


def rental_lines(custody, now: datetime) -> list[RentalLine]:
    """The system's replacement-rental lines; an insurer pays within its authorization, the customer the rest."""
    if custody.replacement_vehicle_id is None:
        return []
    start, end = period(custody, now)
    rate = daily_rate(custody)
    insured = bool(
        custody.rate_policy != RatePolicy.FREE
        and custody.insurer_name
        and (custody.authorized_daily_rate_cap is not None or custody.authorized_max_days)
    )
    branch = custody.branch
    if insured and branch.insurer_calendar_days:
        days = calendar_days(start, end, branch.timezone)
    else:
        days = billable_days(start, end)
    zone = zoneinfo.ZoneInfo(branch.timezone) if branch.timezone else None
    period_params = {
        "plate": custody.replacement_vehicle.plate,
        "start": dates.local(start, zone).date().isoformat(),
        "end": dates.local(end, zone).date().isoformat(),
    }
    if custody.rate_policy == RatePolicy.FREE:
        return [
            RentalLine("rental:company", Decimal(days), ZERO, Responsibility.COMPANY, params=period_params)
        ]
    if not insured:
        return [
            RentalLine("rental:customer", Decimal(days), rate, Responsibility.CUSTOMER, params=period_params)
        ]
    cap = custody.authorized_daily_rate_cap if custody.authorized_daily_rate_cap is not None else rate
    covered_days = min(days, custody.authorized_max_days) if custody.authorized_max_days else days
    insurer_rate = min(rate, cap)
    lines = [
        RentalLine(
            "rental:insurance",
            Decimal(covered_days),
            insurer_rate,
            Responsibility.INSURANCE,
            params={"insurer": custody.insurer_name, **period_params},
        )
    ]
    excess_rate = rate - insurer_rate
    if excess_rate > 0 and covered_days:
        lines.append(
            RentalLine("rental:rate_excess", Decimal(covered_days), excess_rate, Responsibility.CUSTOMER)
        )
    if days > covered_days:
        lines.append(
            RentalLine("rental:days_excess", Decimal(days - covered_days), rate, Responsibility.CUSTOMER)
        )
    return lines


@dataclass(frozen=True)
class Suggestion:
    key: str
    charge_type: str
    quantity: Decimal
    unit_price: Decimal
    responsibility: str = Responsibility.CUSTOMER
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """The stored (English) text."""
        return english(self.key, self.params)

    @property
    def display_description(self) -> str:
        """In the reader's language, values isolated (the close dialog)."""
        return describe(self.key, self.params, html=True)


def close_suggestions(
    custody, returned_at: datetime, odometer_km: int | None, fuel_level: int | None
) -> list[Suggestion]:
    """Fuel and excess-km charges the operator may accept when closing."""
    suggestions = []
    if (
        custody.handover_fuel_level is not None
        and fuel_level is not None
        and fuel_level < custody.handover_fuel_level
    ):
        eighths = custody.handover_fuel_level - fuel_level
        suggestions.append(
            Suggestion(
                "fuel",
                ChargeType.FUEL,
                Decimal(eighths),
                Decimal(settings.CUSTODY_FUEL_PRICE_PER_EIGHTH),
                params={"eighths": eighths},
            )
        )
    if custody.handover_odometer_km is not None and odometer_km is not None and custody.handed_over_at:
        driven = odometer_km - custody.handover_odometer_km
        allowance = billable_days(custody.handed_over_at, returned_at) * settings.CUSTODY_KM_ALLOWANCE_PER_DAY
        if driven > allowance:
            suggestions.append(
                Suggestion(
                    "excess_km",
                    ChargeType.EXCESS_KM,
                    Decimal(driven - allowance),
                    Decimal(settings.CUSTODY_EXCESS_KM_PRICE),
                    params={"km": driven - allowance, "allowance": allowance},
                )
            )
    return suggestions

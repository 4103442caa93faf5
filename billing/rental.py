"""Replacement rental computed from the rate policy and the custody period (DESIGN §8)."""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from core import dates
from custodies.choices import RatePolicy

from .choices import ChargeType, Responsibility
from .money import ZERO, to_money

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class RentalLine:
    system_key: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    responsibility: str
    charge_type: str = ChargeType.REPLACEMENT_RENTAL


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
    dates_out = f"{dates.date_text(dates.local(start, zone))} – {dates.date_text(dates.local(end, zone))}"
    label = f"{custody.replacement_vehicle.plate}, {dates_out}"
    if custody.rate_policy == RatePolicy.FREE:
        return [
            RentalLine(
                "rental:company",
                f"Replacement rental (free of charge), {label}",
                Decimal(days),
                ZERO,
                Responsibility.COMPANY,
            )
        ]
    if not insured:
        return [
            RentalLine(
                "rental:customer",
                f"Replacement rental, {label}",
                Decimal(days),
                rate,
                Responsibility.CUSTOMER,
            )
        ]
    cap = custody.authorized_daily_rate_cap if custody.authorized_daily_rate_cap is not None else rate
    covered_days = min(days, custody.authorized_max_days) if custody.authorized_max_days else days
    insurer_rate = min(rate, cap)
    lines = [
        RentalLine(
            "rental:insurance",
            f"Replacement rental ({custody.insurer_name}), {label}",
            Decimal(covered_days),
            insurer_rate,
            Responsibility.INSURANCE,
        )
    ]
    excess_rate = rate - insurer_rate
    if excess_rate > 0 and covered_days:
        lines.append(
            RentalLine(
                "rental:rate_excess",
                "Daily rate above the insurer's cap",
                Decimal(covered_days),
                excess_rate,
                Responsibility.CUSTOMER,
            )
        )
    if days > covered_days:
        lines.append(
            RentalLine(
                "rental:days_excess",
                "Days beyond the insurer's authorization",
                Decimal(days - covered_days),
                rate,
                Responsibility.CUSTOMER,
            )
        )
    return lines


@dataclass(frozen=True)
class Suggestion:
    key: str
    charge_type: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    responsibility: str = Responsibility.CUSTOMER


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
                f"Fuel: returned {eighths}/8 tank short",
                Decimal(eighths),
                Decimal(settings.CUSTODY_FUEL_PRICE_PER_EIGHTH),
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
                    f"{driven - allowance} km over the {allowance} km allowance",
                    Decimal(driven - allowance),
                    Decimal(settings.CUSTODY_EXCESS_KM_PRICE),
                )
            )
    return suggestions

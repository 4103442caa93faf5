"""Quotes and cost sheets: the only code that changes them (DESIGN §12).

Every action: one transaction, the quote row locked first (then its cost sheet), the transition table
checked (role before state), the change audited and its event written to the outbox.
"""

import calendar
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from audit import services as audit
from billing.money import default_tax_rate, to_money
from core.dates import day_start
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.events import emit
from fleet import selectors as fleet_selectors
from fleet.choices import AgreementStatus, CustomerKind, VehicleStatus
from fleet.models import RentalAgreement, Vehicle

from . import pricing, selectors
from .choices import OPEN_QUOTE_STATUSES, CostSheetStatus, QuoteStatus
from .models import (
    MAX_TERM_MONTHS,
    CostDefaults,
    CostElement,
    CostSheet,
    CostSheetLine,
    Quote,
    QuoteAssignment,
    QuoteLine,
)
from .transitions import (
    COST_SHEET_TRANSITIONS,
    CUSTOMER,
    QUOTE_TRANSITIONS,
    SEGREGATED,
    SYSTEM,
    Transition,
    cost_sheet_transition,
    quote_transition,
)

QUOTE_FIELDS = ["branch_id", "customer_id", "valid_until", "vat_rate", "notes"]
AUDITED_QUOTE_FIELDS = [*QUOTE_FIELDS, "status", "subtotal", "vat_amount", "total"]
LINE_FIELDS = [
    "vehicle_class_id",
    "vehicle_id",
    "description",
    "quantity",
    "term_months",
    "monthly_rate",
    "maintenance_included",
    "roadside_included",
    "replacement_included",
]
SHEET_PERCENTS = ["financing_rate_pct", "overhead_pct", "target_margin_pct"]
COST_FIELDS = ["acquisition_cost", *pricing.MONTHLY_COSTS]
# A monthly cost applies by default only when the quote line includes the service.
INCLUDED_BY = {
    "maintenance_monthly": "maintenance_included",
    "roadside_monthly": "roadside_included",
    "replacement_monthly": "replacement_included",
}
REVIEW_SALT = b"custody.quote-review"


def _now() -> datetime:
    return timezone.now()


def _today() -> date:
    return timezone.localdate()


# ---- numbers ----------------------------------------------------------------------------------------


def next_quote_no() -> str:
    """`QT-` + at least 6 digits, never reused: a PostgreSQL sequence; on SQLite the transaction already
    holds the database's single write lock (IMMEDIATE), so reading the highest number is race-free."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('quote_no_seq')")
            value = int(cursor.fetchone()[0])
    else:
        numbers = Quote.objects.filter(quote_no__startswith="QT-").values_list("quote_no", flat=True)
        value = max((int(n[3:]) for n in numbers.order_by("-quote_no")[:1]), default=0) + 1
        # Lexical order equals numeric order while numbers keep 6 digits; beyond, check them all.
        if value > 999_999:
            value = max(int(n[3:]) for n in numbers) + 1
    return f"QT-{value:06d}"


# ---- permissions and transitions ---------------------------------------------------------------------


def _decider_problem(user, submitted_by_id) -> str | None:
    if submitted_by_id is not None and user is not None and user.pk == submitted_by_id:
        return _("You submitted it, so someone else (a manager or finance) must decide it.")
    return None


def _allowed(user, obj, table, submitted_by_id) -> list[str]:
    if not user or not user.is_authenticated or not permissions.in_branch(user, _branch_id(obj)):
        return []
    result = []
    for (source, action), transition in table.items():
        if source != obj.status or transition.permission in (CUSTOMER, SYSTEM):
            continue
        if not permissions.may(user, transition.permission):
            continue
        if action in SEGREGATED and _decider_problem(user, submitted_by_id):
            continue
        if action not in result:
            result.append(action)
    return result


def _branch_id(obj):
    return obj.branch_id if isinstance(obj, Quote) else obj.quote.branch_id


def allowed_quote_actions(user, quote: Quote) -> list[str]:
    actions = _allowed(user, quote, QUOTE_TRANSITIONS, quote.submitted_by_id)
    if "convert" in actions and not _convertible(quote):
        actions.remove("convert")
    return actions


def allowed_sheet_actions(user, sheet: CostSheet) -> list[str]:
    actions = _allowed(user, sheet, COST_SHEET_TRANSITIONS, sheet.submitted_by_id)
    if sheet.quote.status != QuoteStatus.DRAFT:
        actions = [a for a in actions if a not in ("edit", "submit", "apply")]
    return actions


def _check(user, obj, transition: Transition | None, action: str, label: str, submitted_by_id=None):
    """Role first (403), then state (409), then segregation of duties (403)."""
    permission = transition.permission if transition else _any_permission(obj, action)
    if permission not in (None, CUSTOMER, SYSTEM) and not permissions.can(user, permission, _scope(obj)):
        raise PermissionDenied(
            _("Your role may not %(action)s this %(what)s.") % {"action": action, "what": label}
        )
    if transition is None or transition.permission in (CUSTOMER, SYSTEM):
        raise InvalidTransition(
            _("A %(status)s %(what)s cannot be %(action)s.")
            % {"status": obj.get_status_display().lower(), "what": label, "action": action},
            {"status": obj.status, "action": action},
        )
    if action in SEGREGATED:
        problem = _decider_problem(user, submitted_by_id)
        if problem:
            raise PermissionDenied(problem)
    return transition


def _scope(obj):
    return obj if isinstance(obj, Quote) else obj.quote


def _any_permission(obj, action) -> str | None:
    table = QUOTE_TRANSITIONS if isinstance(obj, Quote) else COST_SHEET_TRANSITIONS
    for (_source, name), transition in table.items():
        if name == action:
            return transition.permission
    return None


def _check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and int(expected) != current:
        raise Conflict(
            _("This %(what)s was changed by someone else; reload and try again.") % {"what": what},
            {"version": current, "expected_version": expected},
        )


def _lock_quote(quote_id, user=None) -> Quote:
    qs = Quote.objects.select_for_update(of=("self",)).select_related("customer", "branch")
    if user is not None:
        qs = permissions.scope_to_branches(qs, user)
    try:
        return qs.get(pk=quote_id)
    except (Quote.DoesNotExist, ValueError, TypeError, DjangoValidationError) as exc:
        raise NotFound(_("No such quote, or not in your branches.")) from exc


def _lock_sheet(sheet_id, user) -> tuple[Quote, CostSheet]:
    """The quote first, then its sheet (the order every action takes them, so none deadlock)."""
    row = selectors.cost_sheets_for(user).filter(pk=sheet_id).values("quote_id").first()
    if row is None:
        raise NotFound(_("No such cost sheet, or not in your branches."))
    quote = _lock_quote(row["quote_id"], user)
    sheet = CostSheet.objects.select_for_update().get(pk=sheet_id)
    sheet.quote = quote
    return quote, sheet


# ---- quote payloads ------------------------------------------------------------------------------------


def _decimal(value, field: str, errors: dict, *, places_max=Decimal("9999999999.99")) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        errors.setdefault(field, []).append(_('Send a decimal string such as "1050.00".'))
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Not a number."))
        return None
    if not number.is_finite() or number < 0 or number > places_max:
        errors.setdefault(field, []).append(_("Out of range."))
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.setdefault(field, []).append(_("At most 2 decimal places."))
        return None
    return number.quantize(Decimal("0.01"))


def _percent(value, field: str, errors: dict, *, below_100=False) -> Decimal | None:
    number = _decimal(value, field, errors, places_max=Decimal("100"))
    if number is not None and below_100 and number >= 100:
        errors.setdefault(field, []).append(_("Must be below 100 %."))
        return None
    return number


def _int(value, field: str, errors: dict, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
        if str(value).strip() != str(number):
            raise ValueError
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.setdefault(field, []).append(
            _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}
        )
        return None
    return number


@dataclass
class LineInput:
    id: str | None
    vehicle_class: object
    vehicle: object
    description: str
    quantity: int
    term_months: int
    monthly_rate: Decimal
    maintenance_included: bool
    roadside_included: bool
    replacement_included: bool

    def key(self) -> tuple:
        return (
            str(self.vehicle_class.pk) if self.vehicle_class else None,
            str(self.vehicle.pk) if self.vehicle else None,
            self.description,
            self.quantity,
            self.term_months,
            self.monthly_rate,
            self.maintenance_included,
            self.roadside_included,
            self.replacement_included,
        )


def _line_key(line: QuoteLine) -> tuple:
    return (
        str(line.vehicle_class_id) if line.vehicle_class_id else None,
        str(line.vehicle_id) if line.vehicle_id else None,
        line.description,
        line.quantity,
        line.term_months,
        line.monthly_rate,
        line.maintenance_included,
        line.roadside_included,
        line.replacement_included,
    )


def _parse_lines(user, raw_lines, errors: dict) -> list[LineInput]:
    if raw_lines is None:
        return []
    if not isinstance(raw_lines, list):
        errors["lines"] = [_("Send a list of lines.")]
        return []
    if len(raw_lines) > 100:
        errors["lines"] = [_("At most 100 lines.")]
        return []
    classes = {str(c.pk): c for c in fleet_selectors.vehicle_classes()}
    wanted = {
        str(line.get("vehicle_id")) for line in raw_lines if isinstance(line, dict) and line.get("vehicle_id")
    }
    vehicles = {str(v.pk): v for v in fleet_selectors.vehicles_for(user).filter(pk__in=_uuids(wanted))}
    parsed = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        line_errors: dict[str, list[str]] = {}
        if not isinstance(raw, dict):
            errors[prefix] = [_("Each line is an object.")]
            continue
        vehicle_class = vehicle = None
        class_id, vehicle_id = raw.get("vehicle_class_id"), raw.get("vehicle_id")
        if vehicle_id:
            vehicle = vehicles.get(str(vehicle_id))
            if vehicle is None:
                line_errors["vehicle_id"] = [_("No such vehicle, or not in your branches.")]
        if class_id:
            vehicle_class = classes.get(str(class_id))
            if vehicle_class is None:
                line_errors["vehicle_class_id"] = [_("No such vehicle class.")]
        if vehicle is not None:
            if vehicle_class is not None and vehicle.vehicle_class_id != vehicle_class.pk:
                line_errors["vehicle_id"] = [_("The vehicle is not of the chosen class.")]
            vehicle_class = vehicle.vehicle_class
        if not class_id and not vehicle_id:
            line_errors["vehicle_class_id"] = [_("Choose a vehicle class or a vehicle.")]
        quantity = _int(raw.get("quantity"), "quantity", line_errors, 1, 1000)
        if vehicle is not None and quantity not in (None, 1):
            line_errors["quantity"] = [_("A line for one specific vehicle has quantity 1.")]
        term = _int(raw.get("term_months"), "term_months", line_errors, 1, MAX_TERM_MONTHS)
        rate = _decimal(raw.get("monthly_rate"), "monthly_rate", line_errors)
        if rate is None and "monthly_rate" not in line_errors:
            line_errors["monthly_rate"] = [_("Required.")]
        description = str(raw.get("description") or "").strip()
        if len(description) > 200:
            line_errors["description"] = [_("At most 200 characters.")]
        for key, messages in line_errors.items():
            errors[f"{prefix}.{key}"] = messages
        if line_errors:
            continue
        parsed.append(
            LineInput(
                id=str(raw["id"]) if raw.get("id") else None,
                vehicle_class=vehicle_class,
                vehicle=vehicle,
                description=description,
                quantity=quantity,
                term_months=term,
                monthly_rate=rate,
                maintenance_included=bool(raw.get("maintenance_included")),
                roadside_included=bool(raw.get("roadside_included")),
                replacement_included=bool(raw.get("replacement_included")),
            )
        )
    return parsed


def _uuids(values) -> list[str]:
    import uuid

    result = []
    for value in values:
        try:
            result.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    return result


def _resolve_header(user, data: dict, errors: dict, quote: Quote | None) -> dict:
    values: dict[str, Any] = {}
    if "customer_id" in data:
        customer = None
        if data["customer_id"]:
            customer = (
                fleet_selectors.customers_for(user).filter(pk__in=_uuids([data["customer_id"]])).first()
            )
        if customer is None:
            errors["customer_id"] = [_("No such customer.")]
        else:
            values["customer"] = customer
    if "branch_id" in data and data["branch_id"]:
        branch = (
            fleet_selectors.branches_for(user).filter(active=True, pk__in=_uuids([data["branch_id"]])).first()
        )
        if branch is None:
            errors["branch_id"] = [_("No such branch, or not in your branches.")]
        else:
            values["branch"] = branch
    if "valid_until" in data:
        valid_until = data["valid_until"]
        if isinstance(valid_until, str):
            try:
                valid_until = date.fromisoformat(valid_until)
            except ValueError:
                valid_until = None
        if not isinstance(valid_until, date):
            errors["valid_until"] = [_("Enter a date (YYYY-MM-DD).")]
        elif valid_until < _today() and (quote is None or valid_until != quote.valid_until):
            errors["valid_until"] = [_("Cannot be in the past.")]
        else:
            values["valid_until"] = valid_until
    if "vat_rate" in data and data["vat_rate"] not in (None, ""):
        rate = _percent(data["vat_rate"], "vat_rate", errors)
        if rate is not None:
            values["vat_rate"] = rate
    if "notes" in data:
        values["notes"] = str(data["notes"] or "").strip()
    return values


def _default_branch(user, lines: list[LineInput]):
    for line in lines:
        if line.vehicle is not None:
            return line.vehicle.branch
    return fleet_selectors.branches_for(user).filter(active=True).order_by("code").first()


def _write_lines(quote: Quote, lines: list[LineInput]) -> None:
    existing = {str(line.pk): line for line in quote.lines.all()}
    keep = set()
    for position, item in enumerate(lines):
        line = existing.get(item.id) if item.id else None
        if line is None:
            line = QuoteLine(quote=quote)
        line.position = position
        line.vehicle_class = item.vehicle_class
        line.vehicle = item.vehicle
        line.description = item.description
        line.quantity = item.quantity
        line.term_months = item.term_months
        line.monthly_rate = item.monthly_rate
        line.maintenance_included = item.maintenance_included
        line.roadside_included = item.roadside_included
        line.replacement_included = item.replacement_included
        line.line_total = pricing.line_total(item.quantity, item.monthly_rate)
        line.save()
        keep.add(str(line.pk))
    QuoteLine.objects.filter(quote=quote).exclude(pk__in=keep).delete()


def _recompute_totals(quote: Quote) -> None:
    totals = pricing.quote_totals(quote.lines.values_list("line_total", flat=True), quote.vat_rate)
    quote.subtotal, quote.vat_amount, quote.total = totals.subtotal, totals.vat_amount, totals.total


def _lines_snapshot(quote: Quote) -> list:
    return [
        [str(line.pk), *(str(v) if v is not None else None for v in _line_key(line))]
        for line in quote.lines.all()
    ]


def event_payload(quote: Quote, changes: dict | None = None) -> dict:
    return {
        "quote": {
            "id": str(quote.pk),
            "quote_no": quote.quote_no,
            "status": quote.status,
            "branch_id": str(quote.branch_id),
            "customer_id": str(quote.customer_id),
            "valid_until": quote.valid_until.isoformat(),
            "subtotal": str(quote.subtotal),
            "vat_amount": str(quote.vat_amount),
            "total": str(quote.total),
            "version": quote.version,
        },
        "changes": changes or {},
    }


SENT_AGAIN = audit.message_template(gettext_lazy("Sent again to %(email)s"))


def _save_quote(quote: Quote, before: dict, action: str, event: str | None = None, message="", extra=None):
    quote.version += 1
    quote.save()
    changes = audit.diff(before, audit.snapshot(quote, AUDITED_QUOTE_FIELDS))
    changes.update(extra or {})
    audit.record(action, quote, object_type="quote", changes=changes, message=message)
    if event:
        emit(event, event_payload(quote, changes))
    return quote


# ---- quotes ----------------------------------------------------------------------------------------------


@transaction.atomic
def create_quote(user, data: dict[str, Any]) -> Quote:
    permissions.require(user, "quote.create")
    errors: dict[str, list[str]] = {}
    for required in ("customer_id", "valid_until"):
        if not data.get(required):
            errors[required] = [_("Required.")]
    values = _resolve_header(user, {k: v for k, v in data.items() if k in QUOTE_FIELDS}, errors, None)
    lines = _parse_lines(user, data.get("lines") or [], errors)
    if errors:
        raise ValidationFailed(_("The quote is not valid."), errors)
    branch = values.pop("branch", None) or _default_branch(user, lines)
    if branch is None:
        raise ValidationFailed(_("You work in no active branch."), {"branch_id": [_("Required.")]})
    quote = Quote(
        created_by=user,
        branch=branch,
        vat_rate=values.pop("vat_rate", None) if "vat_rate" in values else default_tax_rate(),
        **values,
    )
    quote.quote_no = next_quote_no()
    quote.version = 1
    quote.save()
    _write_lines(quote, lines)
    _recompute_totals(quote)
    quote.save(update_fields=["subtotal", "vat_amount", "total"])
    audit.record(
        "quote.created",
        quote,
        object_type="quote",
        changes=audit.diff(
            {}, {**audit.snapshot(quote, AUDITED_QUOTE_FIELDS), "lines": _lines_snapshot(quote)}
        ),
    )
    return quote


@transaction.atomic
def update_quote(user, quote_id, data: dict[str, Any], expected_version: int | None = None) -> Quote:
    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "edit"), "edit", _("quote"))
    _check_version(quote.version, expected_version, _("quote"))
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - {*QUOTE_FIELDS, "lines"})
    for name in unknown:
        errors[name] = [_("Unknown field.")]
    values = _resolve_header(user, {k: v for k, v in data.items() if k in QUOTE_FIELDS}, errors, quote)
    lines = _parse_lines(user, data["lines"], errors) if "lines" in data else None
    if lines is not None:
        known = {str(pk) for pk in quote.lines.values_list("pk", flat=True)}
        for index, item in enumerate(lines):
            if item.id and item.id not in known:
                errors[f"lines.{index}.id"] = [_("Not a line of this quote.")]
    if errors:
        raise ValidationFailed(_("The quote is not valid."), errors)
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    lines_before = _lines_snapshot(quote)
    for name, value in values.items():
        setattr(quote, name, value)
    if lines is not None:
        _write_lines(quote, lines)
    _recompute_totals(quote)
    lines_after = _lines_snapshot(quote)
    lines_changed = [row[1:] for row in lines_before] != [row[1:] for row in lines_after]
    if not audit.diff(before, audit.snapshot(quote, AUDITED_QUOTE_FIELDS)) and not lines_changed:
        return quote  # nothing changed: no new version or audit entry
    extra = {"lines": [lines_before, lines_after]} if lines_changed else {}
    _save_quote(quote, before, "quote.updated", extra=extra)
    if lines_changed:
        _obsolete_sheets(quote, _("The quote's lines changed."))
    return quote


def _obsolete_sheets(quote: Quote, reason: str, keep: CostSheet | None = None) -> int:
    count = 0
    open_sheets = quote.cost_sheets.select_for_update().exclude(status=CostSheetStatus.OBSOLETE)
    if keep is not None:
        open_sheets = open_sheets.exclude(pk=keep.pk)
    for sheet in open_sheets:
        before = sheet.status
        sheet.status = CostSheetStatus.OBSOLETE
        sheet.obsolete_at = _now()
        sheet.revision += 1
        sheet.save()
        audit.record(
            "cost_sheet.obsolete",
            sheet,
            object_type="cost_sheet",
            changes={"status": [before, CostSheetStatus.OBSOLETE]},
            message=reason,
        )
        count += 1
    return count


def current_sheet(quote: Quote) -> CostSheet | None:
    """The latest cost sheet that still prices the quote's lines (obsolete ones never do)."""
    return quote.cost_sheets.exclude(status=CostSheetStatus.OBSOLETE).order_by("-version").first()


def submission_problems(quote: Quote) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    lines = list(quote.lines.all())
    if not lines:
        errors["lines"] = [_("Add at least one line.")]
    for index, line in enumerate(lines):
        if line.monthly_rate <= 0:
            errors[f"lines.{index}.monthly_rate"] = [_("Enter the monthly rate.")]
    if quote.valid_until < _today():
        errors["valid_until"] = [_("The validity date has passed.")]
    if quote.customer.kind == CustomerKind.COMPANY:
        sheet = current_sheet(quote)
        if sheet is None or sheet.status != CostSheetStatus.APPROVED:
            errors["cost_sheet"] = [
                _(
                    "A corporate quote needs an approved cost sheet for its current lines before it is submitted."
                )
            ]
    return errors


@transaction.atomic
def submit_quote(user, quote_id, expected_version: int | None = None) -> Quote:
    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "submit"), "submit", _("quote"))
    _check_version(quote.version, expected_version, _("quote"))
    problems = submission_problems(quote)
    if problems:
        raise ValidationFailed(_("The quote cannot be submitted yet."), problems)
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    quote.status = QuoteStatus.PENDING_APPROVAL
    quote.submitted_at = _now()
    quote.submitted_by = user
    quote.approved_at = quote.approved_by = None
    return _save_quote(quote, before, "quote.submitted")


@transaction.atomic
def approve_quote(user, quote_id, notes: str = "", expected_version: int | None = None) -> Quote:
    quote = _lock_quote(quote_id, user)
    _check(
        user, quote, quote_transition(quote.status, "approve"), "approve", _("quote"), quote.submitted_by_id
    )
    _check_version(quote.version, expected_version, _("quote"))
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    quote.status = QuoteStatus.APPROVED
    quote.approved_at = _now()
    quote.approved_by = user
    return _save_quote(quote, before, "quote.approved", message=(notes or "").strip())


@transaction.atomic
def reject_quote(user, quote_id, reason: str, expected_version: int | None = None) -> Quote:
    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "reject"), "reject", _("quote"), quote.submitted_by_id)
    _check_version(quote.version, expected_version, _("quote"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the rejection."), {"reason": [_("Required.")]})
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    quote.status = QuoteStatus.DRAFT
    quote.last_reject_reason = reason
    return _save_quote(quote, before, "quote.rejected_by_approver", message=reason)


# ---- sending and the public review link -------------------------------------------------------------------


def review_token(quote: Quote) -> str:
    """The link's token: an HMAC of the quote's random nonce (rebuildable by the worker, never stored)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode() + REVIEW_SALT, quote.review_nonce.encode(), hashlib.sha256
    ).digest()
    import base64

    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def review_url(quote: Quote) -> str:
    return f"{settings.CUSTODY_PUBLIC_URL.rstrip('/')}/q/{review_token(quote)}"


def link_expiry(valid_until: date) -> datetime:
    """The link works until the end of the quote's last valid day (the company's time zone)."""
    return day_start(valid_until + timedelta(days=1))


@transaction.atomic
def send_quote(user, quote_id, email: str = "", expected_version: int | None = None) -> tuple[Quote, str]:
    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "send"), "send", _("quote"))
    _check_version(quote.version, expected_version, _("quote"))
    email = (email or quote.customer.email or "").strip()
    errors = {}
    if not email:
        errors["email"] = [_("The customer has no e-mail address; enter one.")]
    if quote.valid_until < _today():
        errors["valid_until"] = [_("The validity date has passed.")]
    if errors:
        raise ValidationFailed(_("The quote cannot be sent."), errors)
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    again = quote.status == QuoteStatus.SENT
    quote.status = QuoteStatus.SENT
    quote.sent_at = _now()
    quote.sent_by = user
    quote.sent_to = email
    quote.review_nonce = secrets.token_urlsafe(32)
    quote.review_token_hash = token_hash(review_token(quote))
    quote.review_expires_at = link_expiry(quote.valid_until)
    _save_quote(
        quote,
        before,
        "quote.sent",
        "quote.sent",
        message=(SENT_AGAIN, {"email": email}) if again else email,
        extra={"sent_to": [None, email]},
    )
    from .tasks import send_quote_email

    send_quote_email.enqueue(str(quote.pk), quote.review_nonce)
    return quote, review_url(quote)


class LinkGone(InvalidTransition):
    """The link expired (410)."""

    status = 410
    code = "GONE"


def quote_for_token(token: str, lock: bool = False) -> Quote:
    """The quote a review link opens: NotFound (404), LinkGone (410) or InvalidTransition when decided (409)."""
    if not token or len(token) > 100:
        raise NotFound(_("This link is not valid."))
    qs = Quote.objects.select_related("customer", "branch")
    if lock:
        qs = qs.select_for_update(of=("self",))
    quote = qs.filter(review_token_hash=token_hash(token)).first()
    # Compare in constant time too, though the hash lookup already needs the whole token.
    if quote is None or not hmac.compare_digest(review_token(quote), token):
        raise NotFound(_("This link is not valid."))
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
        raise InvalidTransition(
            _("This quote was already %(decision)s.") % {"decision": quote.get_status_display().lower()},
            {"status": quote.status},
        )
    expired = quote.status == QuoteStatus.EXPIRED or (
        quote.review_expires_at is not None and quote.review_expires_at <= _now()
    )
    if expired:
        raise LinkGone(_("This quote has expired. Ask us for a new one."), {"status": quote.status})
    if quote.status != QuoteStatus.SENT:
        raise NotFound(_("This link is not valid."))
    return quote


@transaction.atomic
def accept_quote(
    token: str, name: str, signature_data_url: str, ip: str | None, user_agent: str = ""
) -> Quote:
    from documents.services import decode_signature_png

    quote = quote_for_token(token, lock=True)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Type your full name.")]
    elif len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    try:
        png = decode_signature_png(signature_data_url)
    except ValidationFailed as exc:
        errors.update(exc.details)
        png = None
    if errors:
        raise ValidationFailed(_("The acceptance is not complete."), errors)
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    quote.status = QuoteStatus.ACCEPTED
    quote.decided_at = _now()
    quote.decision_name = name
    quote.decision_ip = ip
    quote.decision_user_agent = (user_agent or "")[:300]
    quote.signature_png = png
    quote.signature_sha256 = hashlib.sha256(png).hexdigest()
    _save_quote(
        quote,
        before,
        "quote.accepted",
        "quote.accepted",
        message=name,
        extra={"decision_ip": [None, ip], "signature_sha256": [None, quote.signature_sha256]},
    )
    from .tasks import send_signed_quote

    send_signed_quote.enqueue(str(quote.pk))
    return quote


@transaction.atomic
def decline_quote(token: str, reason: str, ip: str | None, user_agent: str = "", name: str = "") -> Quote:
    quote = quote_for_token(token, lock=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Tell us why you reject the quote."), {"reason": [_("Required.")]})
    if len(reason) > 2000:
        raise ValidationFailed(_("The reason is too long."), {"reason": [_("At most 2,000 characters.")]})
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    quote.status = QuoteStatus.REJECTED
    quote.decided_at = _now()
    quote.decision_name = (name or "").strip()[:200]
    quote.decision_reason = reason
    quote.decision_ip = ip
    quote.decision_user_agent = (user_agent or "")[:300]
    return _save_quote(
        quote, before, "quote.rejected", "quote.rejected", message=reason, extra={"decision_ip": [None, ip]}
    )


# ---- expiry (scheduled) ---------------------------------------------------------------------------------------


def expire_quotes(now: datetime | None = None) -> dict:
    """Open quotes past their validity date become `expired`, one event each (idempotent)."""
    today = timezone.localdate(now or _now())
    count = 0
    candidates = Quote.objects.filter(
        status__in=OPEN_QUOTE_STATUSES,
        valid_until__lt=today,
    ).values_list("pk", flat=True)
    for quote_id in list(candidates[:5000]):
        with transaction.atomic():
            quote = Quote.objects.select_for_update().filter(pk=quote_id).first()
            if (
                quote is None
                or quote_transition(quote.status, "expire") is None
                or quote.valid_until >= today
            ):
                continue  # decided or changed since the list was read
            before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
            quote.status = QuoteStatus.EXPIRED
            quote.expired_at = now or _now()
            _save_quote(quote, before, "quote.expired", "quote.expired")
            count += 1
    return {"expired": count}


# ---- conversion into rental agreements ---------------------------------------------------------------------


def _convertible(quote: Quote) -> bool:
    return quote.status == QuoteStatus.ACCEPTED


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@transaction.atomic
def assign_vehicles(user, quote_id, line_id, vehicle_ids: list) -> QuoteLine:
    """Choose the cars of an accepted quote's class line (up to its quantity); converted ones stay."""
    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "convert"), "convert", _("quote"))
    line = quote.lines.filter(pk__in=_uuids([line_id])).first()
    if line is None:
        raise NotFound(_("No such line on this quote."))
    if line.vehicle_id:
        raise ValidationFailed(
            _("This line is for one named vehicle already."), {"vehicle_ids": [_("Not needed.")]}
        )
    ids = _uuids({str(v) for v in vehicle_ids or [] if v})
    vehicles = list(
        fleet_selectors.vehicles_for(user)
        .filter(pk__in=ids, vehicle_class_id=line.vehicle_class_id)
        .order_by("pk")
    )
    converted = list(line.assignments.filter(agreement__isnull=False).values_list("vehicle_id", flat=True))
    errors = {}
    if len(vehicles) != len(ids):
        errors["vehicle_ids"] = [_("Choose vehicles of the line's class in your branches.")]
    elif len({*ids, *map(str, converted)}) > line.quantity:
        errors["vehicle_ids"] = [_("At most %(n)s vehicles for this line.") % {"n": line.quantity}]
    if errors:
        raise ValidationFailed(_("The vehicles cannot be assigned."), errors)
    line.assignments.filter(agreement__isnull=True).exclude(vehicle_id__in=ids).delete()
    for vehicle in vehicles:
        QuoteAssignment.objects.get_or_create(line=line, vehicle=vehicle)
    audit.record(
        "quote.vehicles_assigned",
        quote,
        object_type="quote",
        changes={"line": [None, str(line.pk)], "vehicles": [None, sorted(v.plate for v in vehicles)]},
    )
    return line


@transaction.atomic
def convert_quote(user, quote_id, start_at: datetime | None = None) -> list[RentalAgreement]:
    """One rental agreement per assigned vehicle of an accepted quote (at the line's rate and term)."""
    from fleet import services as fleet_services

    quote = _lock_quote(quote_id, user)
    _check(user, quote, quote_transition(quote.status, "convert"), "convert", _("quote"))
    start_at = start_at or _now()
    pending: list[tuple[QuoteLine, QuoteAssignment]] = []
    for line in quote.lines.select_related("vehicle").prefetch_related("assignments"):
        if line.vehicle_id:
            assignment, _created = QuoteAssignment.objects.get_or_create(
                line=line, vehicle_id=line.vehicle_id
            )
            pending.append((line, assignment))
        else:
            pending.extend((line, a) for a in line.assignments.all())
    pending = [(line, a) for line, a in pending if a.agreement_id is None]
    if not pending:
        raise ValidationFailed(
            _("Assign vehicles to the quote's lines first."),
            {"vehicles": [_("No vehicle waits for an agreement.")]},
        )
    vehicle_ids = sorted(str(a.vehicle_id) for _line, a in pending)
    vehicles = {
        str(v.pk): v for v in Vehicle.objects.select_for_update().filter(pk__in=vehicle_ids).order_by("pk")
    }
    busy = [v.plate for v in vehicles.values() if v.status != VehicleStatus.AVAILABLE]
    if busy:
        raise Conflict(
            _("These vehicles are not available: %(plates)s.") % {"plates": ", ".join(sorted(busy))},
            {"vehicles": sorted(busy)},
        )
    taken = RentalAgreement.objects.filter(agreement_no__startswith=f"{quote.quote_no}-").count()
    agreements = []
    for number, (line, assignment) in enumerate(pending, start=taken + 1):
        vehicle = vehicles[str(assignment.vehicle_id)]
        agreement = fleet_services.save_record(
            user,
            RentalAgreement(
                agreement_no=f"{quote.quote_no}-{number:02d}",
                customer=quote.customer,
                vehicle=vehicle,
                branch=vehicle.branch,
                start_at=start_at,
                end_at=add_months(start_at, line.term_months),
                daily_rate=to_money(line.monthly_rate / 30),
                monthly_rate=line.monthly_rate,
                status=AgreementStatus.ACTIVE,
            ),
        )
        fleet_services.save_record(user, vehicle, {"status": VehicleStatus.RENTED})
        assignment.agreement = agreement
        assignment.save(update_fields=["agreement"])
        agreements.append(agreement)
    before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
    _save_quote(
        quote,
        before,
        "quote.converted",
        extra={"agreements": [None, [a.agreement_no for a in agreements]]},
    )
    return agreements


# ---- cost sheets --------------------------------------------------------------------------------------------


def cost_defaults() -> CostDefaults:
    return CostDefaults.objects.order_by("pk").first() or CostDefaults()


def default_costs(line: QuoteLine) -> dict[str, Decimal]:
    """The admin's cost elements for the line's class; running costs only for the services it includes."""
    element = (
        CostElement.objects.filter(vehicle_class_id=line.vehicle_class_id).first()
        if line.vehicle_class_id
        else None
    )
    values = {name: getattr(element, name) if element else Decimal("0.00") for name in COST_FIELDS}
    for cost, flag in INCLUDED_BY.items():
        if not getattr(line, flag):
            values[cost] = Decimal("0.00")
    return values


def _sheet_values(data: dict, errors: dict, base: dict) -> dict:
    values = dict(base)
    for name in SHEET_PERCENTS:
        if data.get(name) not in (None, ""):
            number = _percent(data[name], name, errors, below_100=name == "target_margin_pct")
            if number is not None:
                values[name] = number
    return values


def _sheet_lines(quote: Quote, raw_lines, errors: dict, previous: dict | None = None) -> list[dict]:
    """One entry per quote line: sent values, else the previous version's, else the admin's defaults."""
    if raw_lines is not None and not isinstance(raw_lines, list):
        errors["lines"] = [_("Send a list of lines.")]
        return []
    quote_lines = list(quote.lines.all())
    by_id = {str(line.pk): line for line in quote_lines}
    sent: dict[str, dict] = {}
    for index, raw in enumerate(raw_lines or []):
        if not isinstance(raw, dict) or str(raw.get("quote_line_id")) not in by_id:
            errors[f"lines.{index}.quote_line_id"] = [_("Not a line of this quote.")]
            continue
        sent[str(raw["quote_line_id"])] = (index, raw)
    result = []
    for line in quote_lines:
        values = (previous or {}).get(str(line.pk)) or default_costs(line)
        values = dict(values)
        if str(line.pk) in sent:
            index, raw = sent[str(line.pk)]
            for name in COST_FIELDS:
                if name in raw and raw[name] not in (None, ""):
                    number = _decimal(raw[name], name, errors)
                    if number is None:
                        errors[f"lines.{index}.{name}"] = errors.pop(name)
                    else:
                        values[name] = number
        result.append({"quote_line": line, **values})
    if not quote_lines:
        errors["lines"] = [_("The quote has no lines to price.")]
    return result


def _write_sheet_lines(sheet: CostSheet, lines: list[dict]) -> None:
    sheet.lines.all().delete()
    CostSheetLine.objects.bulk_create(
        [
            CostSheetLine(
                sheet=sheet,
                quote_line=item["quote_line"],
                position=item["quote_line"].position,
                description=str(item["quote_line"])[:200],
                term_months=item["quote_line"].term_months,
                quantity=item["quote_line"].quantity,
                **{name: to_money(item[name]) for name in COST_FIELDS},
            )
            for item in lines
        ]
    )


def _sheet_snapshot(sheet: CostSheet) -> dict:
    return {
        "status": sheet.status,
        **{name: str(getattr(sheet, name)) for name in SHEET_PERCENTS},
        "lines": [
            [str(line.quote_line_id), *(str(getattr(line, name)) for name in COST_FIELDS)]
            for line in sheet.lines.all()
        ],
    }


def _record_sheet(action: str, sheet: CostSheet, before: dict, message: str = "") -> None:
    audit.record(
        action,
        sheet,
        object_type="cost_sheet",
        changes=audit.diff(before, _sheet_snapshot(sheet)),
        message=message,
    )


@transaction.atomic
def create_cost_sheet(user, data: dict[str, Any]) -> CostSheet:
    permissions.require(user, "cost_sheet.edit")
    quote_id = data.get("quote_id")
    if not quote_id or not selectors.quotes_for(user).filter(pk__in=_uuids([quote_id])).exists():
        raise ValidationFailed(
            _("No such quote."), {"quote_id": [_("No such quote, or not in your branches.")]}
        )
    quote = _lock_quote(quote_id, user)
    permissions.require(user, "cost_sheet.edit", quote)
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidTransition(
            _("Cost sheets are made while the quote is a draft."),
            {"status": quote.status, "action": "create"},
        )
    errors: dict[str, list[str]] = {}
    previous_sheet = current_sheet(quote)
    defaults = cost_defaults()
    base = {name: getattr(previous_sheet or defaults, name) for name in SHEET_PERCENTS}
    values = _sheet_values(data, errors, base)
    previous = None
    if previous_sheet is not None:
        previous = {
            str(line.quote_line_id): {name: getattr(line, name) for name in COST_FIELDS}
            for line in previous_sheet.lines.all()
        }
    lines = _sheet_lines(quote, data.get("lines"), errors, previous)
    if errors:
        raise ValidationFailed(_("The cost sheet is not valid."), errors)
    number = (quote.cost_sheets.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    sheet = CostSheet.objects.create(quote=quote, version=number, created_by=user, **values)
    sheet.quote = quote
    _write_sheet_lines(sheet, lines)
    _obsolete_sheets(quote, _("Replaced by version %(n)s.") % {"n": number}, keep=sheet)
    _record_sheet("cost_sheet.created", sheet, {})
    return sheet


@transaction.atomic
def update_cost_sheet(
    user, sheet_id, data: dict[str, Any], expected_revision: int | None = None
) -> CostSheet:
    quote, sheet = _lock_sheet(sheet_id, user)
    transition = _check(user, sheet, cost_sheet_transition(sheet.status, "edit"), "edit", _("cost sheet"))
    _require_draft_quote(quote)
    _check_version(sheet.revision, expected_revision, _("cost sheet"))
    errors: dict[str, list[str]] = {}
    values = _sheet_values(data, errors, {name: getattr(sheet, name) for name in SHEET_PERCENTS})
    previous = {
        str(line.quote_line_id): {name: getattr(line, name) for name in COST_FIELDS}
        for line in sheet.lines.all()
    }
    lines = _sheet_lines(quote, data.get("lines"), errors, previous)
    if errors:
        raise ValidationFailed(_("The cost sheet is not valid."), errors)
    before = _sheet_snapshot(sheet)
    for name, value in values.items():
        setattr(sheet, name, value)
    sheet.status = transition.target
    _write_sheet_lines(sheet, lines)
    after = _sheet_snapshot(sheet)
    if before == after:
        return sheet
    sheet.revision += 1
    sheet.save()
    _record_sheet("cost_sheet.updated", sheet, before)
    return sheet


def _require_draft_quote(quote: Quote) -> None:
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidTransition(
            _("The quote is no longer a draft; its cost sheet cannot change."), {"quote_status": quote.status}
        )


def _sheet_action(
    user, sheet_id, action: str, apply=None, message: str = "", expected_revision: int | None = None
) -> CostSheet:
    quote, sheet = _lock_sheet(sheet_id, user)
    transition = _check(
        user,
        sheet,
        cost_sheet_transition(sheet.status, action),
        action,
        _("cost sheet"),
        sheet.submitted_by_id,
    )
    if action in ("submit", "apply"):
        _require_draft_quote(quote)
    # A decision or an apply on a sheet someone changed since it was read (rejected, revised and
    # submitted again with other figures) would act on figures the user never saw.
    _check_version(sheet.revision, expected_revision, _("cost sheet"))
    before = _sheet_snapshot(sheet)
    if apply is not None:
        apply(quote, sheet)
    sheet.status = transition.target
    sheet.revision += 1
    sheet.save()
    _record_sheet(f"cost_sheet.{action}", sheet, before, message)
    return sheet


@transaction.atomic
def submit_cost_sheet(user, sheet_id, expected_revision: int | None = None) -> CostSheet:
    def stamp(quote, sheet):
        if quote.lines.count() != sheet.lines.filter(quote_line__isnull=False).count():
            raise ValidationFailed(
                _("The sheet does not price every line."), {"lines": [_("Create a new version.")]}
            )
        sheet.submitted_at = _now()
        sheet.submitted_by = user
        sheet.reject_reason = ""

    return _sheet_action(user, sheet_id, "submit", stamp, expected_revision=expected_revision)


@transaction.atomic
def approve_cost_sheet(user, sheet_id, notes: str = "", expected_revision: int | None = None) -> CostSheet:
    def stamp(_quote, sheet):
        sheet.decided_at = _now()
        sheet.decided_by = user

    return _sheet_action(
        user, sheet_id, "approve", stamp, (notes or "").strip(), expected_revision=expected_revision
    )


@transaction.atomic
def reject_cost_sheet(user, sheet_id, reason: str, expected_revision: int | None = None) -> CostSheet:
    reason = (reason or "").strip()

    def stamp(_quote, sheet):
        if not reason:
            raise ValidationFailed(_("Give a reason for the rejection."), {"reason": [_("Required.")]})
        sheet.decided_at = _now()
        sheet.decided_by = user
        sheet.reject_reason = reason

    return _sheet_action(user, sheet_id, "reject", stamp, reason, expected_revision=expected_revision)


@transaction.atomic
def apply_cost_sheet(user, sheet_id, expected_revision: int | None = None) -> CostSheet:
    """Copy the approved sheet's suggested rates onto the quote's lines (the sheet stays current)."""

    def copy_rates(quote, sheet):
        before = audit.snapshot(quote, AUDITED_QUOTE_FIELDS)
        lines_before = _lines_snapshot(quote)
        priced = {str(row.quote_line_id): row for row in sheet_rows(sheet)}
        for line in quote.lines.all():
            row = priced.get(str(line.pk))
            if row is None:
                continue
            line.monthly_rate = row.cost.suggested_rate
            line.line_total = pricing.line_total(line.quantity, line.monthly_rate)
            line.save(update_fields=["monthly_rate", "line_total"])
        _recompute_totals(quote)
        _save_quote(
            quote,
            before,
            "quote.rates_applied",
            message=f"{sheet}",
            extra={"lines": [lines_before, _lines_snapshot(quote)]},
        )
        sheet.applied_at = _now()

    return _sheet_action(user, sheet_id, "apply", copy_rates, expected_revision=expected_revision)


# ---- the sheet as priced (one formula for API, pages and PDF) --------------------------------------------------


@dataclass
class SheetRow:
    line: CostSheetLine
    quote_line_id: object
    cost: pricing.LineCost
    quoted_rate: Decimal
    actual_margin_pct: Decimal | None
    colour: str
    warning: bool


def sheet_rows(sheet: CostSheet, quote_lines: dict | None = None) -> list[SheetRow]:
    if quote_lines is None:
        quote_lines = {str(q.pk): q for q in QuoteLine.objects.filter(quote_id=sheet.quote_id)}
    rows = []
    for line in sheet.lines.all():
        cost = line_cost_of(sheet, line)
        quote_line = quote_lines.get(str(line.quote_line_id))
        quoted = quote_line.monthly_rate if quote_line is not None else Decimal("0.00")
        margin = pricing.margin_pct(quoted, cost.total_monthly_cost)
        rows.append(
            SheetRow(
                line=line,
                quote_line_id=line.quote_line_id,
                cost=cost,
                quoted_rate=quoted,
                actual_margin_pct=margin,
                colour=pricing.margin_colour(margin, sheet.target_margin_pct),
                warning=pricing.margin_warning(margin),
            )
        )
    return rows


def line_cost_of(sheet, line) -> pricing.LineCost:
    return pricing.line_cost(
        acquisition_cost=line.acquisition_cost,
        term_months=line.term_months,
        financing_rate_pct=sheet.financing_rate_pct,
        overhead_pct=sheet.overhead_pct,
        target_margin_pct=sheet.target_margin_pct,
        **{name: getattr(line, name) for name in pricing.MONTHLY_COSTS},
    )


def sheet_summary(rows: list[SheetRow]) -> pricing.SheetSummary:
    return pricing.sheet_summary(
        pricing.SheetLine(r.quote_line_id, r.line.quantity, r.cost.total_monthly_cost, r.quoted_rate)
        for r in rows
    )


# ---- admin-editable cost elements ---------------------------------------------------------------------------


@transaction.atomic
def save_cost_defaults(user, data: dict) -> CostDefaults:
    permissions.require(user, "settings.manage")
    errors: dict[str, list[str]] = {}
    defaults = CostDefaults.objects.select_for_update().order_by("pk").first() or CostDefaults()
    before = audit.snapshot(defaults, SHEET_PERCENTS) if defaults.pk else {}
    for name in SHEET_PERCENTS:
        if name in data:
            number = _percent(data[name], name, errors, below_100=name == "target_margin_pct")
            if number is None and name not in errors:
                errors[name] = [_("Required.")]
            setattr(defaults, name, number if number is not None else getattr(defaults, name))
    if errors:
        raise ValidationFailed(_("The defaults are not valid."), errors)
    defaults.save()
    audit.record(
        "cost_defaults.updated",
        defaults,
        object_type="cost_defaults",
        changes=audit.diff(before, audit.snapshot(defaults, SHEET_PERCENTS)),
    )
    return defaults


@transaction.atomic
def save_cost_element(user, vehicle_class, data: dict) -> CostElement:
    permissions.require(user, "settings.manage")
    errors: dict[str, list[str]] = {}
    element = CostElement.objects.select_for_update().filter(vehicle_class=vehicle_class).first()
    creating = element is None
    element = element or CostElement(vehicle_class=vehicle_class)
    before = {} if creating else audit.snapshot(element, COST_FIELDS)
    for name in COST_FIELDS:
        if name in data:
            number = _decimal(data[name], name, errors)
            if number is None and name not in errors:
                number = Decimal("0.00")
            if number is not None:
                setattr(element, name, number)
    if errors:
        raise ValidationFailed(_("The cost element is not valid."), errors)
    element.save()
    audit.record(
        "cost_element.created" if creating else "cost_element.updated",
        element,
        object_type="cost_element",
        changes=audit.diff(before, audit.snapshot(element, COST_FIELDS)),
    )
    return element

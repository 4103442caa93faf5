"""Charges, payments, damage holds and the replacement rental (DESIGN §8).

Locks are taken in one order — custody, then its charges, then its holds — so concurrent
postings and payments never deadlock. Every money change is audited and emits its event.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connections, router, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from audit import services as audit
from core import rawsql
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.events import emit, emit_many
from custodies.choices import CustodyStatus
from custodies.models import Custody
from custodies.selectors import lock_custody

from . import rental
from .choices import BILLED_STATUSES, ChargeStatus, ChargeType, HoldStatus, PaymentMethod, Responsibility
from .models import Charge, DamageHold, Payment
from .money import ZERO, currency, default_tax_rate, line_amounts, parse_money, to_money

CHARGE_AUDIT_FIELDS = [
    "charge_type",
    "description",
    "description_key",  # with the values: the description in the reader's language (Charge.audit_reworded)
    "description_params",
    "quantity",
    "unit_price",
    "tax_rate",
    "subtotal",
    "tax_amount",
    "total",
    "amount_paid",
    "responsibility",
    "status",
    "invoice_ref",
    "void_reason",
]


# ---- helpers ---------------------------------------------------------------------------------

_lock_custody = lock_custody
# What adding a charge and recording a payment read of the custody they lock (the rows they write
# refer to it by id).
_CHARGE_AND_PAYMENT_COLUMNS = ("id", "branch", "status")


def _lock_charge(charge_id, user) -> tuple[Charge, Custody]:
    charge = Charge.objects.filter(pk=charge_id).only("custody_id").first()
    if charge is None:
        raise Charge.DoesNotExist("charge not found")
    custody = _lock_custody(charge.custody_id, user)
    return Charge.objects.select_for_update().get(pk=charge_id), custody


def _audit_charge(action: str, charge: Charge, before: dict, message="") -> None:
    audit.record(
        action,
        charge,
        object_type="charge",
        custody_id=charge.custody_id,
        changes=audit.diff(before, audit.snapshot(charge, CHARGE_AUDIT_FIELDS)),
        message=message,
    )


def _charge_entry(action: str, charge: Charge, changes: dict, message="") -> object:
    """_audit_charge's entry, unsaved, for audit.record_many (the changes already worked out)."""
    return audit.entry(
        action, charge, object_type="charge", custody_id=charge.custody_id, changes=changes, message=message
    )


def _charge_event(charge: Charge) -> dict:
    return {
        "charge": {
            "id": str(charge.pk),
            "custody_id": str(charge.custody_id),
            "charge_type": charge.charge_type,
            "total": str(charge.total),
            "responsibility": charge.responsibility,
            "status": charge.status,
            "invoice_ref": charge.invoice_ref,
        }
    }


def _clean_line(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    try:
        quantity = Decimal(str(data.get("quantity", "1")))
        if quantity <= 0:
            errors["quantity"] = [_("Must be more than zero.")]
    except ArithmeticError:
        errors["quantity"] = [_("Must be a number.")]
        quantity = Decimal("1")
    unit_price = parse_money(data.get("unit_price"))
    if unit_price is None:
        errors["unit_price"] = [_("Must be an amount.")]
        unit_price = ZERO
    elif unit_price < 0:
        errors["unit_price"] = [_("Cannot be negative.")]
    tax_rate = data.get("tax_rate")
    try:
        tax_rate = default_tax_rate() if tax_rate in (None, "") else Decimal(str(tax_rate))
        if not 0 <= tax_rate <= 100:
            errors["tax_rate"] = [_("Between 0 and 100.")]
    except ArithmeticError:
        errors["tax_rate"] = [_("Must be a percentage.")]
        tax_rate = ZERO
    if data.get("charge_type") not in ChargeType.values:
        errors["charge_type"] = [_("Unknown charge type.")]
    if data.get("responsibility") not in Responsibility.values:
        errors["responsibility"] = [_("Unknown responsibility.")]
    description = (data.get("description") or "").strip()
    if not description:
        errors["description"] = [_("Describe the charge.")]
    if errors:
        raise ValidationFailed(_("The charge is not valid."), errors)
    return {
        "charge_type": data["charge_type"],
        "description": description[:200],
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        "responsibility": data["responsibility"],
    }


def _set_amounts(charge: Charge) -> None:
    amounts = line_amounts(charge.quantity, charge.unit_price, charge.tax_rate)
    charge.subtotal, charge.tax_amount, charge.total = amounts.subtotal, amounts.tax_amount, amounts.total


def _reallocate(custody: Custody, payer: str, now: datetime, entries: list | None = None) -> None:
    """Spread the payer's net payments over their billed charges, oldest first; a charge is paid when covered.

    The allocations' audit entries are written in one INSERT, after `entries` (the caller's own)."""
    entries = [] if entries is None else entries
    received = to_money(_sums(custody, payer)[1].get(payer) or ZERO)  # the balance's sums (cents)
    remaining = max(received, ZERO)
    charges = _charges(
        "billing.payer_billed",
        Charge.objects.select_for_update()
        .filter(custody=custody, responsibility=payer, status__in=BILLED_STATUSES)
        .order_by("posted_at", "created_at", "id"),
        custody,
        payer,
        *BILLED_STATUSES,
    )
    for charge in charges:
        allocated = min(charge.total, remaining)
        remaining -= allocated
        status = (
            ChargeStatus.PAID
            if allocated == charge.total
            else (ChargeStatus.INVOICED if charge.invoice_ref else ChargeStatus.POSTED)
        )
        if (allocated, status) != (charge.amount_paid, charge.status):
            before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
            charge.amount_paid = allocated
            charge.status = status
            charge.paid_at = now if status == ChargeStatus.PAID else None
            charge.save(update_fields=["amount_paid", "status", "paid_at", "updated_at"])
            entries.append(
                _charge_entry(
                    "charge.allocated",
                    charge,
                    audit.diff(before, audit.snapshot(charge, CHARGE_AUDIT_FIELDS)),
                )
            )
    audit.record_many(entries)


# ---- balance -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    charged: Decimal
    paid: Decimal
    outstanding: Decimal
    by_responsibility: dict[str, dict[str, Decimal]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "charged": self.charged,
            "paid": self.paid,
            "outstanding": self.outstanding,
            "by_responsibility": self.by_responsibility,
        }


@functools.cache
def _sums_sql(alias: str, by_payer: bool) -> str:
    """The balance's UNION ALL (see _sums)."""
    connection = connections[alias]
    charges, c_custody, c_status, c_who, c_total = rawsql.names(
        connection, Charge, "custody", "status", "responsibility", "total"
    )
    payments, p_custody, p_who, p_amount = rawsql.names(connection, Payment, "custody", "payer", "amount")
    charge_where = f"{c_custody} = %s AND {c_status} IN (%s, %s, %s)"
    payment_where = f"{p_custody} = %s"
    if by_payer:
        charge_where += f" AND {c_who} = %s"
        payment_where += f" AND {p_who} = %s"
    return (
        f"SELECT {c_who}, 'c', SUM({c_total}) FROM {charges} WHERE {charge_where} GROUP BY {c_who}"  # noqa: S608
        f" UNION ALL SELECT {p_who}, 'p', SUM({p_amount}) FROM {payments} WHERE {payment_where} GROUP BY {p_who}"
    )


def _sums(custody: Custody, payer: str | None = None) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(billed totals, payments) per responsibility, in one query: the two sums as a UNION ALL.

    Hand-written SQL on purpose: the balance is on every custody detail (API and page), and the two
    ORM aggregates it replaces cost ~1.6 ms of CPU to compile and run against ~0.2 ms for this (an
    ORM `.union()` of the two costs as much as the two queries; docs/performance.md).
    """
    alias = router.db_for_read(Charge)
    db = connections[alias]
    custody_id = Charge._meta.get_field("custody").get_db_prep_value(custody.pk, db)  # hex on SQLite
    params: list = [custody_id, *BILLED_STATUSES, *([payer] if payer else []), custody_id]
    if payer:
        params.append(payer)
    charged: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    for who, kind, amount in rawsql.fetch(db, _sums_sql(alias, bool(payer)), params):
        # PostgreSQL sums numerics as Decimal, SQLite as int/float; to_money() rounds to cents.
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        (charged if kind == "c" else paid)[who] = value
    return charged, paid


def balance(custody: Custody, *, created: bool = False) -> Balance:
    """Balance per responsibility = billed (posted, invoiced, paid) totals − payments (refunds are negative).
    `created`: the custody was created in this transaction, so nothing is billed (its rental line is a
    draft) or paid yet: zero, without a query."""
    charged, paid = ({}, {}) if created else _sums(custody)
    by = {}
    for who in Responsibility.values:
        c, p = charged.get(who) or ZERO, paid.get(who) or ZERO
        by[who] = {"charged": to_money(c), "paid": to_money(p), "outstanding": to_money(c - p)}
    total_charged = sum((v["charged"] for v in by.values()), ZERO)
    total_paid = sum((v["paid"] for v in by.values()), ZERO)
    return Balance(to_money(total_charged), to_money(total_paid), to_money(total_charged - total_paid), by)


def payer_outstanding(custody: Custody, payer: str) -> Decimal:
    """What one payer still owes on billed charges (negative when they paid ahead)."""
    charged, paid = _sums(custody, payer)
    return to_money((charged.get(payer) or ZERO) - (paid.get(payer) or ZERO))


def overpayment_message(owed: Decimal, amount: Decimal) -> str:
    """The payment guard's field error: what is owed, and how to take more on purpose."""
    owed = max(owed, ZERO)
    if owed == 0:
        return _(
            "Nothing is outstanding for this payer. To take %(amount)s %(currency)s in advance, "
            "record it as a deposit / credit."
        ) % {"amount": amount, "currency": currency()}
    return _(
        "Only %(owed)s %(currency)s is outstanding for this payer. Enter at most that amount, "
        "or record the payment as a deposit / credit."
    ) % {"owed": owed, "currency": currency()}


# ---- replacement rental ---------------------------------------------------------------------------


# What recomputing a rental line sets (its tax rate is set once, when the line is made).
_RENTAL_FIELDS = [
    "charge_type",
    "description",
    "description_key",
    "description_params",
    "quantity",
    "unit_price",
    "responsibility",
    "subtotal",
    "tax_amount",
    "total",
]


@dataclass
class _RentalSync:
    """The system's rental lines recomputed in memory: what to write, and the audit entries, in order."""

    lines: list[Charge]  # the custody's draft rental lines after the sync (new ones unsaved)
    changed: set  # pks of the lines whose computed fields changed (new ones included)
    entries: list  # charge.computed and charge.removed, in that order
    stale: list[Charge]  # draft lines no longer wanted, to delete


def _recompute_rental(custody: Custody, now: datetime, created: bool = False) -> _RentalSync:
    wanted = {line.system_key: line for line in rental.rental_lines(custody, now)}
    # The custody's rental lines in one query: drafts are recomputed, a posted one is never touched.
    # All are locked, after the custody (the lock order above): only writers holding that lock change them.
    # A custody created in this transaction has none yet.
    existing, posted_keys = {}, set()
    statuses = (ChargeStatus.DRAFT, *BILLED_STATUSES)
    lines = (
        []
        if created
        else _charges(
            "billing.rental_lines",
            Charge.objects.select_for_update()
            .filter(custody=custody, status__in=statuses)
            .exclude(system_key=""),
            custody,
            *statuses,
            "",
        )
    )
    for charge in lines:
        if charge.status == ChargeStatus.DRAFT:
            existing[charge.system_key] = charge
        else:
            posted_keys.add(charge.system_key)
    tax_rate = None
    sync = _RentalSync([], set(), [], [])
    for key, line in wanted.items():
        if key in posted_keys:
            continue
        charge = existing.pop(key, None) or Charge(custody=custody, system_key=key, created_by=None)
        new = charge._state.adding
        before = {} if new else audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
        charge.charge_type, charge.description = line.charge_type, line.description
        charge.description_key, charge.description_params = line.system_key, line.params
        charge.quantity, charge.unit_price, charge.responsibility = (
            line.quantity,
            line.unit_price,
            line.responsibility,
        )
        if new:
            tax_rate = default_tax_rate() if tax_rate is None else tax_rate
            charge.tax_rate = tax_rate
        _set_amounts(charge)
        changes = audit.diff(before, audit.snapshot(charge, CHARGE_AUDIT_FIELDS))
        if new or changes:
            sync.changed.add(charge.pk)
            sync.entries.append(
                _charge_entry(
                    "charge.computed", charge, changes, message=gettext_lazy("Replacement rental recomputed")
                )
            )
        sync.lines.append(charge)
    for stale in existing.values():
        sync.entries.append(
            audit.entry(
                "charge.removed",
                stale,
                object_type="charge",
                custody_id=custody.pk,
                message=gettext_lazy("No longer part of the replacement rental"),
            )
        )
        sync.stale.append(stale)
    return sync


def _write_lines(charges: list[Charge], changed: set, extra_fields: tuple[str, ...] = ()) -> None:
    """INSERT the new lines (one statement), UPDATE the others with only the fields that changed."""
    new = [c for c in charges if c._state.adding]
    if new:
        Charge.objects.bulk_create(new)
    for charge in charges:
        if charge in new:
            continue
        fields = [*(_RENTAL_FIELDS if charge.pk in changed else ()), *extra_fields]
        if fields:
            charge.save(update_fields=[*fields, "updated_at"])


def sync_replacement_rental(
    custody: Custody, now: datetime | None = None, *, entries: list = (), created: bool = False
) -> list[Charge]:
    """Recompute the system's draft rental lines (called inside the custody's transaction).

    Posted lines are never touched; drafts are updated, created or removed to match the policy.
    `entries`: the caller's audit entries (its own change's), written first with the lines' in one
    INSERT. `created`: the custody was created in this transaction, so it has no lines to read yet.
    """
    now = now or timezone.now()
    if custody.status in (CustodyStatus.VOIDED,):
        Charge.objects.filter(custody=custody, status=ChargeStatus.DRAFT).exclude(system_key="").delete()
        audit.record_many(list(entries))
        return []
    sync = _recompute_rental(custody, now, created)
    _write_lines([c for c in sync.lines if c.pk in sync.changed], sync.changed)
    audit.record_many([*entries, *sync.entries])
    for stale in sync.stale:
        stale.delete()
    return sync.lines


def blocking_drafts(custody: Custody) -> list[Charge]:
    """Draft charges other than the system's rental lines: they must be posted or voided before closing."""
    return _charges(
        "billing.blocking_drafts",
        Charge.objects.filter(custody=custody, status=ChargeStatus.DRAFT, system_key=""),
        custody,
        ChargeStatus.DRAFT,
        "",
    )


def _charges(key: str, queryset, custody: Custody, *values) -> list[Charge]:
    """A custody's charges read on most writes (its rental lines, drafts, a payer's billed charges): the
    statement is compiled once per process (rawsql.compiled_once); `values` follow the custody's id."""
    custody_id = rawsql.db_value(queryset, "custody", custody.pk)
    return rawsql.compiled_once(queryset, key, [custody_id, *values])


def finalize_on_close(
    custody: Custody, now: datetime, suggestions: list[rental.Suggestion], *, entries: list = ()
) -> list[Charge]:
    """At close: the rental for the actual period and the accepted suggestions are posted by the system.

    Each line is written once, recomputed and posted (its audit entries are the same: computed,
    created, then posted, in that order). `entries`: the caller's audit entries (the close's own),
    written first with these and the payments' reallocation's, in one INSERT."""
    sync = _recompute_rental(custody, now)
    charges, entries = sync.lines, [*entries, *sync.entries]
    tax_rate = default_tax_rate() if suggestions else ZERO
    for suggestion in suggestions:
        charge = Charge(
            custody=custody,
            charge_type=suggestion.charge_type,
            description=suggestion.description,
            description_key=suggestion.key,
            description_params=suggestion.params,
            quantity=suggestion.quantity,
            unit_price=suggestion.unit_price,
            tax_rate=tax_rate,
            responsibility=suggestion.responsibility,
            system_key="",
        )
        _set_amounts(charge)
        entries.append(
            _charge_entry(
                "charge.created",
                charge,
                audit.diff({}, audit.snapshot(charge, CHARGE_AUDIT_FIELDS)),
                message=gettext_lazy("Accepted at close"),
            )
        )
        charges.append(charge)
    for charge in charges:
        before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
        charge.status, charge.posted_at, charge.posted_by = ChargeStatus.POSTED, now, None
        entries.append(
            _charge_entry(
                "charge.posted",
                charge,
                audit.diff(before, audit.snapshot(charge, CHARGE_AUDIT_FIELDS)),
                message=gettext_lazy("Posted by the system at close"),
            )
        )
    _write_lines(charges, sync.changed, ("status", "posted_at", "posted_by"))
    for stale in sync.stale:
        stale.delete()
    emit_many([("charge.posted", _charge_event(charge)) for charge in charges])
    payers = {c.responsibility for c in charges}
    if not payers:
        audit.record_many(entries)
    for payer in payers:  # the first one writes the entries so far with its own
        _reallocate(custody, payer, now, entries=entries)
        entries = None
    return charges


# ---- charges -----------------------------------------------------------------------------------------


@transaction.atomic
def add_charge(user, custody_id, data: dict) -> Charge:
    custody = _lock_custody(custody_id, user, only=_CHARGE_AND_PAYMENT_COLUMNS)
    permissions.require(user, "charge.add", custody)
    if custody.status == CustodyStatus.VOIDED:
        raise InvalidTransition(_("A voided custody takes no charges."), {"status": custody.status})
    values = _clean_line(data)
    charge = Charge(custody=custody, created_by=user, **values)
    _set_amounts(charge)
    charge.save()
    _audit_charge("charge.created", charge, {})
    return charge


@transaction.atomic
def update_charge(user, charge_id, data: dict, expected_version: int | None = None) -> Charge:
    charge, custody = _lock_charge(charge_id, user)
    permissions.require(user, "charge.add", custody)
    if charge.status != ChargeStatus.DRAFT:
        raise InvalidTransition(
            _("Posted charges cannot be changed: void it and add a new one."), {"status": charge.status}
        )
    if charge.system_key:
        raise InvalidTransition(
            _("The replacement rental is computed by the system."), {"status": charge.status}
        )
    if expected_version is not None and expected_version != charge.version:
        raise Conflict(_("The charge was changed by someone else; reload."), {"version": charge.version})
    merged = {
        name: getattr(charge, name)
        for name in ("charge_type", "description", "quantity", "unit_price", "tax_rate", "responsibility")
    }
    merged.update({k: v for k, v in data.items() if k in merged})
    values = _clean_line(merged)
    before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
    if values["description"] != charge.description:
        charge.description_key, charge.description_params = "", {}  # the user's own words from now on
    for name, value in values.items():
        setattr(charge, name, value)
    _set_amounts(charge)
    charge.version += 1
    charge.save()
    _audit_charge("charge.updated", charge, before)
    return charge


@transaction.atomic
def post_charge(user, charge_id) -> Charge:
    charge, custody = _lock_charge(charge_id, user)
    permissions.require(user, "charge.post", custody)
    if charge.status != ChargeStatus.DRAFT:
        raise InvalidTransition(_("Only draft charges can be posted."), {"status": charge.status})
    if custody.status in (CustodyStatus.DRAFT, CustodyStatus.VOIDED):
        raise InvalidTransition(
            _("Charges are posted once the custody is submitted (and never on a voided one)."),
            {"custody_status": custody.status},
        )
    now = timezone.now()
    before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
    charge.status, charge.posted_at, charge.posted_by = ChargeStatus.POSTED, now, user
    charge.version += 1
    charge.save()
    _audit_charge("charge.posted", charge, before)
    emit("charge.posted", _charge_event(charge))
    _reallocate(custody, charge.responsibility, now)
    charge.refresh_from_db()
    return charge


@transaction.atomic
def void_charge(user, charge_id, reason: str) -> Charge:
    charge, custody = _lock_charge(charge_id, user)
    own_draft = (
        charge.status == ChargeStatus.DRAFT
        and charge.created_by_id == user.pk
        and permissions.can(user, "charge.add", custody)
    )
    if not (own_draft or permissions.can(user, "charge.void", custody)):
        raise PermissionDenied(_("Your role may not void this charge."))
    if charge.status not in (ChargeStatus.DRAFT, ChargeStatus.POSTED):
        raise InvalidTransition(_("Only draft or posted charges can be voided."), {"status": charge.status})
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for voiding."), {"reason": [_("Required.")]})
    if charge.system_key and charge.status == ChargeStatus.DRAFT:
        raise InvalidTransition(
            _("The replacement rental is computed by the system; change the rate policy."),
            {"status": charge.status},
        )
    was_posted = charge.status == ChargeStatus.POSTED
    now = timezone.now()
    before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
    charge.status, charge.voided_at, charge.voided_by = ChargeStatus.VOID, now, user
    charge.void_reason, charge.amount_paid = reason.strip(), ZERO
    charge.version += 1
    charge.save()
    _audit_charge("charge.voided", charge, before, message=reason.strip())
    emit("charge.voided", _charge_event(charge))
    if was_posted:
        _reallocate(custody, charge.responsibility, now)
    return charge


@transaction.atomic
def invoice_charges(user, charge_ids: list, invoice_ref: str) -> list[Charge]:
    """posted → invoiced with the billing system's reference (finance, or the billing integration)."""
    if not (invoice_ref or "").strip():
        raise ValidationFailed(_("An invoice reference is required."), {"invoice_ref": [_("Required.")]})
    result = []
    for charge_id in sorted(str(c) for c in charge_ids):
        charge, custody = _lock_charge(charge_id, user)
        if user is not None:  # None = the billing integration (authenticated by its signature)
            permissions.require(user, "charge.invoice", custody)
        if charge.status != ChargeStatus.POSTED:
            raise InvalidTransition(_("Only posted charges can be invoiced."), {"status": charge.status})
        before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
        charge.status, charge.invoice_ref, charge.invoiced_at = (
            ChargeStatus.INVOICED,
            invoice_ref.strip(),
            timezone.now(),
        )
        charge.version += 1
        charge.save()
        _audit_charge("charge.invoiced", charge, before)
        result.append(charge)
    return result


INVOICED_PAYERS = (Responsibility.CUSTOMER, Responsibility.INSURANCE, Responsibility.THIRD_PARTY)


def _bill_to(custody: Custody, payer: str, names: dict) -> tuple[str, str]:
    if payer == Responsibility.CUSTOMER:
        return custody.customer.full_name, custody.customer.address
    if payer == Responsibility.INSURANCE:
        return (names.get(payer) or custody.insurer_name or str(Responsibility.INSURANCE.label)), ""
    return (names.get(payer) or str(Responsibility.THIRD_PARTY.label)), ""


@transaction.atomic
def issue_invoices(user, custody_id, payers: list[str] | None = None, names: dict | None = None) -> list:
    """Finance invoices a custody's billed, not yet invoiced charges: one tax invoice per payer.

    posted → invoiced (a charge already paid at the counter stays paid and gets the invoice number).
    Numbers come from one counter row, so two finance users never get the same number.
    """
    from custodies.numbers import next_value

    from .models import Invoice

    custody = _lock_custody(custody_id, user)
    permissions.require(user, "charge.invoice", custody)
    wanted = [p for p in (payers or INVOICED_PAYERS) if p in INVOICED_PAYERS]
    charges = list(
        Charge.objects.select_for_update()
        .filter(
            custody=custody,
            status__in=(ChargeStatus.POSTED, ChargeStatus.PAID),
            invoice__isnull=True,
            invoice_ref="",
            responsibility__in=wanted,
        )
        .order_by("posted_at", "created_at", "id")
    )
    if not charges:
        raise InvalidTransition(
            _("There are no posted charges to invoice for this payer."),
            {"payers": wanted, "custody_status": custody.status},
        )
    now = timezone.now()
    invoices = []
    for payer in INVOICED_PAYERS:
        lines = [c for c in charges if c.responsibility == payer]
        if not lines:
            continue
        name, address = _bill_to(custody, payer, names or {})
        invoice = Invoice.objects.create(
            invoice_no=f"INV-{next_value('invoice_no'):06d}",
            custody=custody,
            payer=payer,
            bill_to_name=name[:200],
            bill_to_address=address,
            subtotal=sum((c.subtotal for c in lines), ZERO),
            tax_amount=sum((c.tax_amount for c in lines), ZERO),
            total=sum((c.total for c in lines), ZERO),
            currency=currency(),
            issued_at=now,
            issued_by=user,
        )
        for charge in lines:
            before = audit.snapshot(charge, CHARGE_AUDIT_FIELDS)
            if charge.status == ChargeStatus.POSTED:
                charge.status = ChargeStatus.INVOICED
            charge.invoice, charge.invoice_ref, charge.invoiced_at = invoice, invoice.invoice_no, now
            charge.version += 1
            charge.save()
            _audit_charge("charge.invoiced", charge, before)
        audit.record(
            "invoice.issued",
            invoice,
            object_type="invoice",
            custody_id=custody.pk,
            changes={
                "invoice_no": [None, invoice.invoice_no],
                "payer": [None, payer],
                "total": [None, str(invoice.total)],
            },
        )
        invoices.append(invoice)
    return invoices


# ---- payments ------------------------------------------------------------------------------------------


@transaction.atomic
def record_payment(user, custody_id, data: dict) -> Payment:
    custody = _lock_custody(custody_id, user, only=_CHARGE_AND_PAYMENT_COLUMNS)
    if user is not None:  # None = the billing integration (authenticated by its signature)
        permissions.require(user, "payment.record", custody)
    if custody.status in (CustodyStatus.DRAFT, CustodyStatus.VOIDED):
        raise InvalidTransition(
            _("Payments are recorded once the custody is submitted (never on a voided one)."),
            {"custody_status": custody.status},
        )
    errors: dict[str, list[str]] = {}
    amount = parse_money(data.get("amount"))
    if amount is None:
        errors["amount"] = [_("Must be an amount.")]
        amount = ZERO
    elif amount == 0:
        errors["amount"] = [_("Cannot be zero.")]
    if data.get("method") not in PaymentMethod.values:
        errors["method"] = [_("Unknown payment method.")]
    if data.get("payer") not in Responsibility.values:
        errors["payer"] = [_("Unknown payer.")]
    reason = (data.get("reason") or "").strip()
    if amount < 0 and not reason:
        errors["reason"] = [_("A refund needs a reason.")]
    received_at = data.get("received_at") or timezone.now()
    if received_at > timezone.now() + timezone.timedelta(minutes=5):
        errors["received_at"] = [_("Cannot be in the future.")]
    as_credit = bool(data.get("as_credit"))
    if not errors and amount < 0:
        received = (
            Payment.objects.filter(custody=custody, payer=data["payer"]).aggregate(s=Sum("amount"))["s"]
            or ZERO
        )
        if received + amount < 0:
            errors["amount"] = [
                _("A refund cannot exceed what this payer paid (%(paid)s).") % {"paid": received}
            ]
    if not errors and amount > 0:
        owed = payer_outstanding(custody, data["payer"])
        if amount > owed:
            if user is None:
                as_credit = True  # the billing system already took the money: keep it, as a credit
            elif not as_credit:
                errors["amount"] = [overpayment_message(owed, amount)]
    if errors:
        raise ValidationFailed(_("The payment is not valid."), errors)
    payment = Payment.objects.create(
        custody=custody,
        amount=amount,
        method=data["method"],
        payer=data["payer"],
        reference=(data.get("reference") or "").strip()[:80],
        reason=reason,
        is_credit=as_credit and amount > 0,
        received_at=received_at,
        recorded_by=user,
    )
    recorded = audit.entry(  # written with the allocations' entries, by _reallocate (one INSERT)
        "payment.refunded" if amount < 0 else "payment.recorded",
        payment,
        object_type="payment",
        custody_id=custody.pk,
        changes={
            "amount": [None, str(amount)],
            "method": [None, payment.method],
            "payer": [None, payment.payer],
            **({"is_credit": [None, True]} if payment.is_credit else {}),
        },
        message=reason,
    )
    emit(
        "payment.recorded",
        {
            "payment": {
                "id": str(payment.pk),
                "custody_id": str(custody.pk),
                "amount": str(amount),
                "method": payment.method,
                "payer": payment.payer,
                "reference": payment.reference,
            }
        },
    )
    _reallocate(custody, payment.payer, timezone.now(), entries=[recorded])
    return payment


# ---- damage holds ------------------------------------------------------------------------------------


@transaction.atomic
def record_hold(user, custody_id, amount, reference: str = "") -> DamageHold:
    custody = _lock_custody(custody_id, user)
    permissions.require(user, "payment.record", custody)
    if custody.is_terminal:
        raise InvalidTransition(_("The custody is finished."), {"status": custody.status})
    amount = parse_money(amount)
    if amount is None:
        raise ValidationFailed(_("Must be an amount."), {"amount": [_("Must be an amount.")]})
    if amount <= 0:
        raise ValidationFailed(_("The hold must be positive."), {"amount": [_("Must be more than zero.")]})
    hold = DamageHold.objects.create(
        custody=custody, amount=amount, reference=reference.strip(), recorded_by=user
    )
    before = audit.snapshot(custody, ["damage_hold_amount", "damage_hold_ref"])
    custody.damage_hold_amount, custody.damage_hold_ref = amount, reference.strip()
    custody.save(update_fields=["damage_hold_amount", "damage_hold_ref", "updated_at"])
    audit.record(
        "hold.recorded",
        hold,
        object_type="damage_hold",
        custody_id=custody.pk,
        changes=audit.diff(before, audit.snapshot(custody, ["damage_hold_amount", "damage_hold_ref"])),
    )
    return hold


def sync_custody_hold(custody: Custody) -> DamageHold | None:
    """The damage hold typed into the custody (wizard) is a hold in billing (called in the custody's transaction).

    While the custody is a draft the hold follows its amount and reference; a hold recorded in billing
    itself is left alone.
    """
    if custody.status != CustodyStatus.DRAFT:
        return None
    holds = list(DamageHold.objects.select_for_update().filter(custody=custody, status=HoldStatus.HELD))
    hold = next((h for h in holds if h.from_custody), None)
    amount = to_money(custody.damage_hold_amount or ZERO)
    reference = (custody.damage_hold_ref or "").strip()
    if hold is None:
        if amount <= 0 or holds:
            return None
        hold = DamageHold.objects.create(
            custody=custody,
            amount=amount,
            reference=reference,
            recorded_by=custody.created_by,
            from_custody=True,
        )
        audit.record(
            "hold.recorded",
            hold,
            object_type="damage_hold",
            custody_id=custody.pk,
            changes={"amount": [None, str(amount)], "reference": [None, reference]},
            message=gettext_lazy("Damage hold entered on the custody"),
        )
        return hold
    if amount <= 0:
        hold.status, hold.settled_at = HoldStatus.RELEASED, timezone.now()
        hold.save(update_fields=["status", "settled_at"])
        audit.record(
            "hold.released",
            hold,
            object_type="damage_hold",
            custody_id=custody.pk,
            changes={"status": [HoldStatus.HELD, HoldStatus.RELEASED]},
            message=gettext_lazy("Damage hold removed from the custody"),
        )
        return None
    if (hold.amount, hold.reference) != (amount, reference):
        changes = audit.diff(
            {"amount": str(hold.amount), "reference": hold.reference},
            {"amount": str(amount), "reference": reference},
        )
        hold.amount, hold.reference = amount, reference
        hold.save(update_fields=["amount", "reference"])
        audit.record("hold.updated", hold, object_type="damage_hold", custody_id=custody.pk, changes=changes)
    return hold


def _lock_hold(hold_id, user) -> tuple[DamageHold, Custody]:
    hold = DamageHold.objects.filter(pk=hold_id).only("custody_id").first()
    if hold is None:
        raise DamageHold.DoesNotExist("hold not found")
    custody = _lock_custody(hold.custody_id, user)
    return DamageHold.objects.select_for_update().get(pk=hold_id), custody


@transaction.atomic
def capture_hold(user, hold_id, amount=None) -> Payment:
    """Capture (part of) a hold: the captured money becomes a customer payment."""
    hold, custody = _lock_hold(hold_id, user)
    permissions.require(user, "charge.post", custody)
    if hold.status != HoldStatus.HELD:
        raise InvalidTransition(
            _("This hold is already %(status)s.") % {"status": hold.get_status_display()},
            {"status": hold.status},
        )
    capture = hold.amount if amount in (None, "") else parse_money(amount)
    if capture is None or not ZERO < capture <= hold.amount:
        message = _("Capture between 0 and the held amount (%(held)s).") % {"held": hold.amount}
        raise ValidationFailed(message, {"amount": [message]})
    payment = Payment.objects.create(
        custody=custody,
        amount=capture,
        method=PaymentMethod.PREAUTH_CAPTURE,
        payer=Responsibility.CUSTOMER,
        reference=hold.reference,
        recorded_by=user,
    )
    hold.status, hold.captured_amount, hold.capture_payment, hold.settled_at = (
        HoldStatus.CAPTURED,
        capture,
        payment,
        timezone.now(),
    )
    hold.save()
    audit.record(
        "hold.captured",
        hold,
        object_type="damage_hold",
        custody_id=custody.pk,
        changes={"status": [HoldStatus.HELD, HoldStatus.CAPTURED], "captured_amount": [None, str(capture)]},
    )
    emit(
        "payment.recorded",
        {
            "payment": {
                "id": str(payment.pk),
                "custody_id": str(custody.pk),
                "amount": str(capture),
                "method": payment.method,
                "payer": payment.payer,
                "reference": payment.reference,
            }
        },
    )
    _reallocate(custody, Responsibility.CUSTOMER, timezone.now())
    return payment


@transaction.atomic
def release_hold(user, hold_id) -> DamageHold:
    hold, custody = _lock_hold(hold_id, user)
    permissions.require(user, "payment.record", custody)
    if hold.status != HoldStatus.HELD:
        raise InvalidTransition(
            _("This hold is already %(status)s.") % {"status": hold.get_status_display()},
            {"status": hold.status},
        )
    hold.status, hold.settled_at = HoldStatus.RELEASED, timezone.now()
    hold.save()
    audit.record(
        "hold.released",
        hold,
        object_type="damage_hold",
        custody_id=custody.pk,
        changes={"status": [HoldStatus.HELD, HoldStatus.RELEASED]},
    )
    return hold

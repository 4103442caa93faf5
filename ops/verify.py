"""`custody verify`: the invariants of DESIGN §14, one line per violation.

Each check reads with plain value queries (no model instances) so it stays quick on large data, and
asks the owning module for its rule (billing.money for line amounts, audit for the hash chain).
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import Count, Sum


@dataclass(frozen=True)
class Violation:
    check: str
    object: str
    message: str

    def line(self) -> str:
        return f"{self.check}: {self.object}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


def unique_numbers() -> Iterator[Violation]:
    from custodies.models import Custody

    dupes = Custody.objects.values("custody_no").annotate(n=Count("id")).filter(n__gt=1).order_by()
    for row in dupes:
        yield Violation("unique_numbers", row["custody_no"], f"used by {row['n']} custodies")


def charge_totals() -> Iterator[Violation]:
    from billing.models import Charge
    from billing.money import line_amounts

    fields = (
        "id",
        "custody__custody_no",
        "quantity",
        "unit_price",
        "tax_rate",
        "subtotal",
        "tax_amount",
        "total",
    )
    for cid, no, qty, price, rate, subtotal, tax, total in (
        Charge.objects.values_list(*fields).order_by("id").iterator(chunk_size=2000)
    ):
        expected = line_amounts(qty, price, rate)
        stored = (Decimal(subtotal), Decimal(tax), Decimal(total))
        if stored != (expected.subtotal, expected.tax_amount, expected.total):
            yield Violation(
                "charge_totals",
                f"{no} charge {cid}",
                f"stored {stored[0]} + {stored[1]} = {stored[2]}, the line gives "
                f"{expected.subtotal} + {expected.tax_amount} = {expected.total}",
            )


def balances() -> Iterator[Violation]:
    """Payments are spread over billed charges: what a payer's charges show as paid = min(billed, paid)."""
    from billing.choices import BILLED_STATUSES
    from billing.models import Charge, Payment
    from custodies.models import Custody

    zero = Decimal("0.00")
    billed: dict = defaultdict(lambda: [zero, zero])
    for custody_id, who, total, paid in (
        Charge.objects.filter(status__in=BILLED_STATUSES)
        .values_list("custody_id", "responsibility")
        .annotate(t=Sum("total"), p=Sum("amount_paid"))
        .order_by()
    ):
        billed[(custody_id, who)] = [Decimal(total or 0), Decimal(paid or 0)]
    received = {
        (custody_id, who): Decimal(amount or 0)
        for custody_id, who, amount in Payment.objects.values_list("custody_id", "payer")
        .annotate(s=Sum("amount"))
        .order_by()
    }
    keys = set(billed) | set(received)
    numbers = dict(Custody.objects.filter(pk__in={k[0] for k in keys}).values_list("pk", "custody_no"))
    for key in sorted(keys, key=lambda k: (numbers.get(k[0], ""), k[1])):
        total, allocated = billed.get(key, [zero, zero])
        expected = min(total, max(received.get(key, zero), zero))
        if allocated != expected:
            yield Violation(
                "balances",
                f"{numbers.get(key[0], key[0])} {key[1]}",
                f"charges show {allocated} paid; billed {total} and received {received.get(key, zero)} "
                f"give {expected}",
            )
    unbilled = Charge.objects.exclude(status__in=BILLED_STATUSES).exclude(amount_paid=0)
    for cid, no in unbilled.values_list("id", "custody__custody_no"):
        yield Violation("balances", f"{no} charge {cid}", "a draft or void charge shows a payment")


# status → timestamps that must be set (and the ones that must not)
STATUS_TIMESTAMPS = {
    "draft": ((), ("handed_over_at", "closed_at", "voided_at")),
    "pending_approval": (("submitted_at",), ("handed_over_at", "closed_at", "voided_at")),
    "approved": (("submitted_at", "approved_at"), ("handed_over_at", "closed_at", "voided_at")),
    "active": (("approved_at", "handed_over_at"), ("closed_at", "voided_at", "returned_at")),
    "closed": (("handed_over_at", "returned_at", "closed_at"), ("voided_at",)),
    "voided": (("voided_at",), ("closed_at",)),
}


def status_timestamps() -> Iterator[Violation]:
    from custodies.models import Custody

    names = sorted({n for need, forbid in STATUS_TIMESTAMPS.values() for n in (*need, *forbid)})
    for row in Custody.objects.values("custody_no", "status", *names).order_by("custody_no").iterator(2000):
        need, forbid = STATUS_TIMESTAMPS.get(row["status"], ((), ()))
        for name in need:
            if row[name] is None:
                yield Violation("status_timestamps", row["custody_no"], f"{row['status']} without {name}")
        for name in forbid:
            if row[name] is not None:
                yield Violation("status_timestamps", row["custody_no"], f"{row['status']} with {name} set")
        if row["closed_at"] and row["handed_over_at"] and row["closed_at"] < row["handed_over_at"]:
            yield Violation("status_timestamps", row["custody_no"], "closed before it was handed over")


def vehicles_and_custodies() -> Iterator[Violation]:
    """A replacement of an active custody is rented, an approved one's is reserved; a car in custody
    is the original of an active custody; no car is the replacement of two active custodies."""
    from custodies.models import Custody
    from fleet.models import Vehicle

    live = Custody.objects.filter(status__in=["approved", "active"]).values_list(
        "custody_no", "status", "replacement_vehicle_id", "original_vehicle_id"
    )
    rows = list(live)
    ids = {r[2] for r in rows if r[2]} | {r[3] for r in rows if r[3]}
    vehicles = dict(Vehicle.objects.filter(pk__in=ids).values_list("pk", "plate"))
    status_of = dict(Vehicle.objects.filter(pk__in=ids).values_list("pk", "status"))
    active_replacements: dict = defaultdict(list)
    active_originals = set()
    for no, status, replacement, original in rows:
        if replacement:
            want = "rented" if status == "active" else "reserved"
            if status_of.get(replacement) != want:
                yield Violation(
                    "vehicles",
                    vehicles.get(replacement, str(replacement)),
                    f"replacement of {status} {no} but its status is {status_of.get(replacement)}",
                )
            if status == "active":
                active_replacements[replacement].append(no)
        if original and status == "active":
            active_originals.add(original)
    for vehicle_id, numbers in active_replacements.items():
        if len(numbers) > 1:
            yield Violation(
                "vehicles", vehicles[vehicle_id], f"replacement of {', '.join(sorted(numbers))} at once"
            )
    for vehicle_id, plate in Vehicle.objects.filter(status="in_custody").values_list("pk", "plate"):
        if vehicle_id not in active_originals:
            yield Violation("vehicles", plate, "in custody, but no active custody holds it")


def overlapping_holds() -> Iterator[Violation]:
    """One car is never reserved for two overlapping approved/active custodies (PostgreSQL also enforces it)."""
    from custodies.models import Custody

    by_vehicle: dict = defaultdict(list)
    for no, vehicle_id, start, end in (
        Custody.objects.filter(
            status__in=["approved", "active"], replacement_vehicle__isnull=False, reserved_from__isnull=False
        )
        .values_list("custody_no", "replacement_vehicle_id", "reserved_from", "reserved_until")
        .order_by("replacement_vehicle_id", "reserved_from")
    ):
        by_vehicle[vehicle_id].append((start, end, no))
    for periods in by_vehicle.values():
        # Sorted by start: a period overlaps when it starts before the latest end seen so far.
        held_until, held_by = None, None
        for start, end, no in periods:
            if held_by is not None and (held_until is None or start < held_until):
                yield Violation("overlapping_holds", no, f"its replacement is also held by {held_by} then")
            if held_by is None or held_until is not None and (end is None or end > held_until):
                held_until, held_by = end, no
    from billing.models import DamageHold

    for hid, no, amount, captured, status, settled in DamageHold.objects.values_list(
        "id", "custody__custody_no", "amount", "captured_amount", "status", "settled_at"
    ):
        if captured > amount:
            yield Violation("damage_holds", f"{no} hold {hid}", f"captured {captured} of {amount}")
        if (status != "held") != (settled is not None):
            yield Violation("damage_holds", f"{no} hold {hid}", f"{status} with settled_at {settled}")


def document_files() -> Iterator[Violation]:
    from documents.models import Document

    for did, no, name, size, sha in (
        Document.objects.values_list("id", "custody__custody_no", "file", "size", "sha256")
        .order_by("id")
        .iterator(chunk_size=500)
    ):
        storage = Document._meta.get_field("file").storage
        digest, length = hashlib.sha256(), 0
        try:
            with storage.open(name, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
                    length += len(chunk)
        except (FileNotFoundError, OSError):
            yield Violation("document_files", f"{no} document {did}", f"file {name} is missing")
            continue
        if length != size or digest.hexdigest() != sha:
            yield Violation(
                "document_files", f"{no} document {did}", f"file {name} does not match its SHA-256"
            )


def audit_chain() -> Iterator[Violation]:
    from audit import services as audit

    for entry_id in audit.verify_chain():
        yield Violation(
            "audit_chain", f"entry {entry_id}", "hash or link to the previous entry does not match"
        )


CHECKS: dict[str, Callable[[], Iterator[Violation]]] = {
    "unique_numbers": unique_numbers,
    "charge_totals": charge_totals,
    "balances": balances,
    "status_timestamps": status_timestamps,
    "vehicles": vehicles_and_custodies,
    "overlapping_holds": overlapping_holds,
    "document_files": document_files,
    "audit_chain": audit_chain,
}


def run_checks(only: list[str] | None = None) -> list[Violation]:
    found: list[Violation] = []
    for name, check in CHECKS.items():
        if only and name not in only:
            continue
        found.extend(check())
    return found

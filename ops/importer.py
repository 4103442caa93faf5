"""Legacy import from CSV (DESIGN §14, §15.2): the dedicated import service.

All or nothing: every row is parsed and checked first, and the writes run in one transaction that a
dry run rolls back, so a dry run reports exactly what the import would refuse. Row numbers are the
spreadsheet's (the header is row 1). References use natural keys (`branch_code`, `vehicle_class_code`,
`customer_no`, `plate`, `agreement_no`); a row whose key already exists with the same values is
skipped, so running a file twice creates nothing new. Every created record is audited with source
`import`.
"""

import csv
import io
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import services as audit
from audit.context import acting_as

KINDS = ("branches", "vehicle-classes", "customers", "vehicles", "agreements", "custodies")
MAX_ROWS = 200_000
PROGRESS_EVERY = 250
# A spreadsheet would run these as formulas; numbers and phone numbers may start with + or -.
FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![\d\s().]*$)")


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class Result:
    kind: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        return (
            f"{self.kind}: {self.rows} rows, {verb} {self.created}, {self.skipped} already imported, "
            f"{len(self.errors)} rejected"
        )


class RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


# ---- cell parsers -------------------------------------------------------------------------------------


def text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return value

    return parse


def enum(choices) -> Callable[[str], str]:
    allowed = list(choices.values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time (YYYY-MM-DD HH:MM, ISO 8601)") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


def money(value: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a positive amount")
    if amount.as_tuple().exponent < -2:
        raise ValueError("at most 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a positive number")
    return number


def integer(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "y"):
        return True
    if lowered in ("0", "false", "no", "n"):
        return False
    raise ValueError(f"{value!r} is not true/false")


def timezone_name(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValueError(f"{value!r} is not a time zone")
    return value


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object]
    required: bool = False
    ref: str = ""  # natural-key map the value is looked up in (branch, vehicle_class, ...)


# ---- the kinds ------------------------------------------------------------------------------------------


def _specs():
    from billing.choices import ChargeType, PaymentMethod, Responsibility
    from custodies.choices import CustodianType, ReasonCode
    from fleet.choices import AgreementStatus, CustomerKind, VehicleStatus

    return {
        "branches": [
            Column("code", text(20), True),
            Column("name", text(120), True),
            Column("city", text(80)),
            Column("timezone", timezone_name),
            Column("active", boolean),
        ],
        "vehicle-classes": [
            Column("code", text(20), True),
            Column("name", text(80), True),
            Column("daily_rate", money, True),
            Column("monthly_rate", money, True),
        ],
        "customers": [
            Column("customer_no", text(30), True),
            Column("kind", enum(CustomerKind)),
            Column("full_name", text(200), True),
            Column("email", text(254)),
            Column("phone", text(30)),
            Column("national_id", text(30)),
            Column("driving_licence_no", text(40)),
            Column("driving_licence_expiry", parse_date),
            Column("address", text(1000)),
            Column("notes", text(2000)),
            Column("active", boolean),
        ],
        "vehicles": [
            Column("plate", text(20), True),
            Column("vin", text(17), True),
            Column("make", text(50), True),
            Column("model", text(50), True),
            Column("year", integer(1980, 2100), True),
            Column("vehicle_class_code", text(20), True, ref="vehicle_class"),
            Column("branch_code", text(20), True, ref="branch"),
            Column("status", enum(VehicleStatus)),
            Column("odometer_km", integer(0, 5_000_000)),
            Column("fuel_level", integer(0, 8)),
            Column("registration_expiry", parse_date),
            Column("insurance_expiry", parse_date),
        ],
        "agreements": [
            Column("agreement_no", text(30), True),
            Column("customer_no", text(30), True, ref="customer"),
            Column("plate", text(20), True, ref="vehicle"),
            Column("branch_code", text(20), True, ref="branch"),
            Column("start_at", parse_datetime, True),
            Column("end_at", parse_datetime, True),
            Column("daily_rate", money, True),
            Column("monthly_rate", money, True),
            Column("deposit_amount", money),
            Column("status", enum(AgreementStatus)),
        ],
        "custodies": [
            Column("legacy_no", text(60), True),
            Column("status", enum(_HistoricalStatus), True),
            Column("branch_code", text(20), True, ref="branch"),
            Column("customer_no", text(30), True, ref="customer"),
            Column("agreement_no", text(30), ref="agreement"),
            Column("original_plate", text(20), ref="vehicle"),
            Column("replacement_plate", text(20), ref="vehicle"),
            Column("custodian_type", enum(CustodianType), True),
            Column("custodian_name", text(200), True),
            Column("custodian_phone", text(30)),
            Column("reason_code", enum(ReasonCode), True),
            Column("incident_at", parse_datetime, True),
            Column("incident_ref", text(60)),
            Column("effective_from", parse_datetime, True),
            Column("expected_return_at", parse_datetime),
            Column("handed_over_at", parse_datetime),
            Column("returned_at", parse_datetime),
            Column("closed_at", parse_datetime),
            Column("voided_at", parse_datetime),
            Column("void_reason", text(1000)),
            Column("notes", text(4000)),
            Column("charge_type", enum(ChargeType)),
            Column("charge_description", text(200)),
            Column("charge_quantity", decimal),
            Column("charge_unit_price", money),
            Column("charge_tax_rate", decimal),
            Column("charge_responsibility", enum(Responsibility)),
            Column("paid_amount", money),
            Column("payment_method", enum(PaymentMethod)),
            Column("payer", enum(Responsibility)),
            Column("paid_at", parse_datetime),
        ],
    }


class _HistoricalStatus:
    values = ["closed", "voided"]


# natural-key maps: name → (model path, key field)
REFS = {
    "branch": ("fleet.Branch", "code"),
    "vehicle_class": ("fleet.VehicleClass", "code"),
    "customer": ("fleet.Customer", "customer_no"),
    "vehicle": ("fleet.Vehicle", "plate"),
    "agreement": ("fleet.RentalAgreement", "agreement_no"),
}
# kind → (model path, natural key column, {column: model field} where they differ)
TARGETS = {
    "branches": ("fleet.Branch", "code", {}),
    "vehicle-classes": ("fleet.VehicleClass", "code", {}),
    "customers": ("fleet.Customer", "customer_no", {}),
    "vehicles": (
        "fleet.Vehicle",
        "plate",
        {"vehicle_class_code": "vehicle_class_id", "branch_code": "branch_id"},
    ),
    "agreements": (
        "fleet.RentalAgreement",
        "agreement_no",
        {"customer_no": "customer_id", "plate": "vehicle_id", "branch_code": "branch_id"},
    ),
}


def _model(path: str):
    from django.apps import apps

    return apps.get_model(path)


def read_rows(source, mapping: dict | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV (UTF-8, a BOM allowed, comma or semicolon separated).

    `mapping` (the admin page's column mapping) renames file columns to import columns; a column mapped
    to "" is left out. Rows keep their numbers either way."""
    raw = source.read() if hasattr(source, "read") else source
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed(["row 1: file: not UTF-8 text (save the sheet as CSV UTF-8)"]) from None
    raw = raw.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(raw.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(raw), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportFailed(["row 1: file: empty"]) from None
    keep = None
    if mapping:
        header = [mapping.get(h, h) for h in header]
        keep = [i for i, name in enumerate(header) if name]
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            rows.append({})  # a blank line keeps its row number but is ignored
            continue
        pairs = zip(header, values, strict=False)
        rows.append(
            {name: value for name, value in pairs if name or keep is None}
            | ({"__extra__": "1"} if len(values) > len(header) else {})
        )
        if len(rows) > MAX_ROWS:
            raise ImportFailed([f"row {MAX_ROWS + 2}: file: more than {MAX_ROWS} rows; split the file"])
    if keep is not None:
        header = [header[i] for i in keep]
    return header, rows


def columns(kind: str) -> list[Column]:
    """The import columns of a kind (the admin page maps file columns onto them)."""
    return _specs()[kind]


def _ref_maps(columns: Iterable[Column]) -> dict[str, dict[str, object]]:
    maps = {}
    for ref in {c.ref for c in columns if c.ref}:
        path, key = REFS[ref]
        maps[ref] = dict(_model(path).objects.values_list(key, "pk"))
    return maps


def parse_rows(
    kind: str, header: list[str], rows: list[dict], errors: list[str], progress=None
) -> list[tuple[int, dict]]:
    columns = _specs()[kind]
    by_name = {c.name: c for c in columns}
    for name in header:
        if name not in by_name:
            errors.append(f"row 1: {name or '(blank)'}: unknown column (expected: {', '.join(by_name)})")
    for column in columns:
        if column.required and column.name not in header:
            errors.append(f"row 1: {column.name}: required column is missing")
    if errors:
        return []
    maps = _ref_maps(columns)
    parsed = []
    key_column = columns[0].name
    first_seen: dict[str, int] = {}
    for index, row in enumerate(rows, start=2):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress("checking", index - 1, len(rows))
        if not row:
            continue
        row_errors = []
        if row.pop("__extra__", None):
            row_errors.append(f"row {index}: (row): more cells than columns")
        values = {}
        for column in columns:
            cell = (row.get(column.name) or "").strip()
            if not cell:
                if column.required:
                    row_errors.append(f"row {index}: {column.name}: required")
                continue
            if FORMULA.match(cell):
                row_errors.append(
                    f"row {index}: {column.name}: looks like a spreadsheet formula ({cell[:20]!r})"
                )
                continue
            try:
                value = column.parse(cell)
            except ValueError as exc:
                row_errors.append(f"row {index}: {column.name}: {exc}")
                continue
            if column.ref:
                found = maps[column.ref].get(value)
                if found is None:
                    row_errors.append(f"row {index}: {column.name}: unknown {column.name} {value!r}")
                    continue
                value = found
            values[column.name] = value
        key = values.get(key_column)
        if key is not None:
            if key in first_seen:
                row_errors.append(f"row {index}: {key_column}: {key!r} is already in row {first_seen[key]}")
            else:
                first_seen[key] = index
        errors.extend(row_errors)
        if not row_errors:
            parsed.append((index, values))
    return parsed


# ---- writing --------------------------------------------------------------------------------------------


def _import_reference(kind: str, rows: list[tuple[int, dict]], result: Result) -> None:
    path, key_field, renamed = TARGETS[kind]
    model = _model(path)
    keys = [values[key_field] for _index, values in rows]
    existing = {}
    for start in range(0, len(keys), 900):
        for obj in model.objects.filter(**{f"{key_field}__in": keys[start : start + 900]}):
            existing[getattr(obj, key_field)] = obj
    for index, values in rows:
        data = {renamed.get(name, name): value for name, value in values.items()}
        current = existing.get(values[key_field])
        if current is not None:
            different = [
                name for name, value in values.items() if getattr(current, renamed.get(name, name)) != value
            ]
            if different:
                result.errors.append(
                    f"row {index}: {different[0]}: {key_field} {values[key_field]!r} already exists with other "
                    f"values ({', '.join(different)})"
                )
            else:
                result.skipped += 1
            continue
        instance = model(**data)
        try:
            instance.full_clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = next((c for c, f in renamed.items() if f == name or f == f"{name}_id"), name)
                result.errors.extend(f"row {index}: {column}: {m}" for m in messages)
            continue
        if result.errors:
            continue  # keep checking the remaining rows, write nothing
        instance.save()
        audit.record(f"{model._meta.model_name}.created", instance, message=f"import row {index}")
        result.created += 1


def _check_custody_row(index: int, v: dict) -> list[str]:
    errors = []
    need = {"closed": ("handed_over_at", "returned_at", "closed_at"), "voided": ("voided_at", "void_reason")}
    for name in need[v["status"]]:
        if name not in v:
            errors.append(f"row {index}: {name}: required for a {v['status']} custody")
    if v.get("expected_return_at") and v["expected_return_at"] <= v["effective_from"]:
        errors.append(f"row {index}: expected_return_at: must be after effective_from")
    if v.get("returned_at") and v.get("handed_over_at") and v["returned_at"] < v["handed_over_at"]:
        errors.append(f"row {index}: returned_at: before handed_over_at")
    if v.get("closed_at") and v.get("handed_over_at") and v["closed_at"] < v["handed_over_at"]:
        errors.append(f"row {index}: closed_at: before handed_over_at")
    if v.get("original_plate") and v.get("original_plate") == v.get("replacement_plate"):
        errors.append(f"row {index}: replacement_plate: the same car as original_plate")
    if "charge_unit_price" in v and "charge_responsibility" not in v:
        errors.append(f"row {index}: charge_responsibility: required with a charge")
    if any(k.startswith("charge_") for k in v) and "charge_unit_price" not in v:
        errors.append(f"row {index}: charge_unit_price: required with a charge")
    if "paid_amount" in v:
        for name in ("payment_method", "payer"):
            if name not in v:
                errors.append(f"row {index}: {name}: required with paid_amount")
    return errors


def _import_custodies(rows: list[tuple[int, dict]], result: Result) -> None:
    from billing.choices import ChargeStatus
    from billing.models import Charge, Payment
    from billing.money import line_amounts
    from custodies.models import Custody
    from custodies.numbers import next_custody_nos

    from .models import ImportedRecord

    done = set(
        ImportedRecord.objects.filter(
            kind="custodies", key__in=[v["legacy_no"] for _i, v in rows]
        ).values_list("key", flat=True)
    )
    fresh = []
    for index, values in rows:
        if values["legacy_no"] in done:
            result.skipped += 1
            continue
        problems = _check_custody_row(index, values)
        result.errors.extend(problems)
        if not problems:
            fresh.append((index, values))
    if result.errors or not fresh:
        return
    numbers = next_custody_nos(len(fresh))
    custodies, charges, payments, records = [], [], [], []
    for (_index, v), number in zip(fresh, numbers, strict=True):
        custody = Custody(
            custody_no=number,
            status=v["status"],
            branch_id=v["branch_code"],
            customer_id=v["customer_no"],
            agreement_id=v.get("agreement_no"),
            original_vehicle_id=v.get("original_plate"),
            replacement_vehicle_id=v.get("replacement_plate"),
            custodian_type=v["custodian_type"],
            custodian_name=v["custodian_name"],
            custodian_phone=v.get("custodian_phone", ""),
            reason_code=v["reason_code"],
            incident_at=v["incident_at"],
            incident_ref=v.get("incident_ref", ""),
            effective_from=v["effective_from"],
            expected_return_at=v.get("expected_return_at"),
            handed_over_at=v.get("handed_over_at"),
            returned_at=v.get("returned_at"),
            closed_at=v.get("closed_at"),
            voided_at=v.get("voided_at"),
            void_reason=v.get("void_reason", ""),
            notes=v.get("notes", ""),
            tags=[f"legacy:{v['legacy_no']}"],
            created_at=v["incident_at"],
        )
        custodies.append(custody)
        records.append(ImportedRecord(kind="custodies", key=v["legacy_no"], object_id=str(custody.pk)))
        charge = None
        if "charge_unit_price" in v:
            quantity, tax_rate = (
                v.get("charge_quantity", Decimal("1")),
                v.get("charge_tax_rate", Decimal("0")),
            )
            amounts = line_amounts(quantity, v["charge_unit_price"], tax_rate)
            when = v.get("closed_at") or v.get("voided_at") or v["effective_from"]
            charge = Charge(
                custody=custody,
                charge_type=v.get("charge_type", "other"),
                description=v.get("charge_description", "Imported charge"),
                quantity=quantity,
                unit_price=v["charge_unit_price"],
                tax_rate=tax_rate,
                subtotal=amounts.subtotal,
                tax_amount=amounts.tax_amount,
                total=amounts.total,
                responsibility=v["charge_responsibility"],
                status=ChargeStatus.POSTED,
                created_at=when,
                posted_at=when,
            )
            charges.append(charge)
        if "paid_amount" in v:
            paid_at = v.get("paid_at") or v.get("closed_at") or v["effective_from"]
            payments.append(
                Payment(
                    custody=custody,
                    amount=v["paid_amount"],
                    method=v["payment_method"],
                    payer=v["payer"],
                    reference=f"legacy:{v['legacy_no']}",
                    received_at=paid_at,
                    created_at=paid_at,
                )
            )
            # Payments cover the payer's billed charge (the allocation billing keeps for live custodies).
            if charge is not None and charge.responsibility == v["payer"]:
                charge.amount_paid = min(charge.total, v["paid_amount"])
                if charge.amount_paid == charge.total:
                    charge.status, charge.paid_at = ChargeStatus.PAID, paid_at
    Custody.objects.bulk_create(custodies, batch_size=500)
    Charge.objects.bulk_create(charges, batch_size=500)
    Payment.objects.bulk_create(payments, batch_size=500)
    ImportedRecord.objects.bulk_create(records, batch_size=500)
    for custody in custodies:
        audit.record(
            "custody.imported",
            custody,
            custody_id=custody.pk,
            changes={"status": [None, custody.status]},
            message=custody.tags[0],
        )
    result.created = len(custodies)


def run_import(
    kind: str, source, *, dry_run: bool = False, user=None, mapping: dict | None = None, progress=None
) -> Result:
    """Import one CSV; raises ImportFailed (nothing written) when any row is rejected.

    `progress(phase, done, total)` is told how far the row checks are (every few hundred rows, outside the
    write transaction, so a page polling it sees it) and when the writing starts."""
    if kind not in KINDS:
        raise ImportFailed([f"row 1: kind: {kind!r} is not one of {', '.join(KINDS)}"])
    result = Result(kind=kind, dry_run=dry_run)
    header, rows = read_rows(source, mapping)
    result.rows = sum(1 for r in rows if r)
    parsed = parse_rows(kind, header, rows, result.errors, progress)
    if not parsed and result.errors:
        raise ImportFailed(result.errors)
    if progress is not None:
        progress("writing", len(rows), len(rows))

    class _Rollback(Exception):
        pass

    try:
        with acting_as(user, source="import"), transaction.atomic():
            if kind == "custodies":
                _import_custodies(parsed, result)
            else:
                _import_reference(kind, parsed, result)
            if result.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    except IntegrityError as exc:
        raise ImportFailed([f"row ?: (database): {exc}"]) from exc
    if result.errors:
        raise ImportFailed(sorted(result.errors, key=row_number))
    return result


def row_number(line: str) -> int:
    match = re.match(r"row (\d+):", line)
    return int(match.group(1)) if match else 0

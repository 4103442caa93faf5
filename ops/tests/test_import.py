"""Legacy import (DESIGN §15.2): all or nothing, row-level errors, idempotent, audited as `import`."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from billing.models import Charge, Payment
from custodies.models import Custody
from fleet.models import Branch, Customer, RentalAgreement, Vehicle, VehicleClass
from ops.importer import ImportFailed, run_import
from ops.verify import run_checks

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "import"
ORDER = ["branches", "vehicle-classes", "customers", "vehicles", "agreements", "custodies"]


def run(kind, text, *args) -> tuple[int, list[str]]:
    path = Path(f"/tmp/custody-import-test-{kind}.csv")
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    try:
        call_command("import", kind, str(path), *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue().strip().splitlines()
    return 0, out.getvalue().strip().splitlines()


def import_samples(until="custodies"):
    for kind in ORDER[: ORDER.index(until) + 1]:
        with (SAMPLES / f"{kind}.csv").open("rb") as handle:
            run_import(kind, handle)


def test_the_samples_import_in_order_and_verify_clean():
    import_samples()
    assert Branch.objects.count() == 2 and VehicleClass.objects.count() == 2
    assert Customer.objects.count() == 2 and Vehicle.objects.count() == 3
    assert RentalAgreement.objects.count() == 2
    closed = Custody.objects.get(status="closed")
    assert closed.tags == ["legacy:OLD-7781"] and closed.custody_no.startswith("CST-")
    charge = Charge.objects.get(custody=closed)
    assert (charge.subtotal, charge.tax_amount, charge.total, charge.status) == (660, 33, 693, "paid")
    assert Payment.objects.get(custody=closed).amount == 693
    assert Custody.objects.get(status="voided").void_reason == "Car repaired on the spot"
    assert run_checks() == []
    sources = set(AuditEntry.objects.values_list("source", flat=True))
    assert sources == {"import"}
    assert AuditEntry.objects.filter(action="custody.imported").count() == 2


def test_the_same_files_twice_create_nothing_new():
    import_samples()
    before = (Custody.objects.count(), Customer.objects.count(), AuditEntry.objects.count())
    for kind in ORDER:
        code, lines = run(kind, (SAMPLES / f"{kind}.csv").read_text())
        assert code == 0 and "created 0" in lines[-1]
    assert (Custody.objects.count(), Customer.objects.count(), AuditEntry.objects.count()) == before


def test_a_dry_run_reports_and_writes_nothing():
    code, lines = run("branches", (SAMPLES / "branches.csv").read_text(), "--dry-run")
    assert (code, lines) == (0, ["branches: 2 rows, would create 2, 0 already imported, 0 rejected"])
    assert not Branch.objects.exists() and not AuditEntry.objects.exists()


def test_malformed_rows_are_each_reported_and_nothing_is_written():
    import_samples(until="agreements")
    before = AuditEntry.objects.count()
    header = (SAMPLES / "vehicles.csv").read_text().splitlines()[0]
    text = "\n".join(
        [
            header,
            "DXB-N-1,JTDBR32E720999991,Toyota,Corolla,2023,ECON,DXB,available,100,8,2026-12-31,2026-12-31",
            "DXB-N-2,JTDBR32E720999992,Toyota,Corolla,2023,ECON,XXX,available,100,8,2026-13-45,2026-12-31",
            "DXB-N-1,JTDBR32E720999993,Toyota,Corolla,2023,ECON,DXB,available,100,8,,",
            "DXB-N-4,JTDBR32E720999994,Toyota,Corolla,2023,ECON,DXB,parked,100,8,,",
            "DXB-N-5,JTDBR32E720999995,=HYPERLINK(1),Corolla,2023,ECON,DXB,available,100,8,,",
            "DXB-A-10001,JTDBR32E720123456,Toyota,Camry,2023,ECON,DXB,rented,24500,6,2026-12-31,2026-12-31",
        ]
    )
    code, lines = run("vehicles", text)
    assert code == 1
    assert lines[:-1] == [
        "row 3: branch_code: unknown branch_code 'XXX'",
        "row 3: registration_expiry: '2026-13-45' is not a date (YYYY-MM-DD)",
        "row 4: plate: 'DXB-N-1' is already in row 2",
        "row 5: status: 'parked' is not one of available, reserved, rented, in_custody, maintenance, out_of_service",
        "row 6: make: looks like a spreadsheet formula ('=HYPERLINK(1)')",
        "row 7: model: plate 'DXB-A-10001' already exists with other values (model)",
    ]
    assert lines[-1] == "vehicles: 6 rejected rows/cells; nothing was written"
    assert not Vehicle.objects.filter(plate="DXB-N-1").exists()
    assert AuditEntry.objects.count() == before


def test_custody_rows_are_checked_for_their_history():
    import_samples(until="agreements")
    header = (SAMPLES / "custodies.csv").read_text().splitlines()[0]
    good = (SAMPLES / "custodies.csv").read_text().splitlines()[1]
    missing_return = good.replace("2025-03-08 17:00", "").replace("OLD-7781", "OLD-1")
    bad_ref = good.replace("C-10001", "C-404").replace("OLD-7781", "OLD-2")
    bad_money = good.replace(",110.00,", ",11.005,").replace("OLD-7781", "OLD-3")
    code, lines = run("custodies", "\n".join([header, good, missing_return, bad_ref, bad_money]))
    assert code == 1
    assert lines[:-1] == [
        "row 3: returned_at: required for a closed custody",
        "row 4: customer_no: unknown customer_no 'C-404'",
        "row 5: charge_unit_price: at most 2 decimal places",
    ]
    assert not Custody.objects.exists() and not Charge.objects.exists()


def test_unknown_and_missing_columns_are_reported_once():
    with pytest.raises(ImportFailed) as exc:
        run_import("branches", b"code,naam\nX,Y\n")
    assert exc.value.errors == [
        "row 1: naam: unknown column (expected: code, name, city, timezone, active)",
        "row 1: name: required column is missing",
    ]


def test_phone_numbers_and_negative_looking_values_are_not_formulas():
    import_samples(until="branches")
    text = "customer_no,full_name,phone\nC-1,Sara,+971 50 000 0000\nC-2,@Sara,\nC-3,Omar,+cmd|calc\n"
    with pytest.raises(ImportFailed) as exc:
        run_import("customers", text.encode())
    assert exc.value.errors == [
        "row 3: full_name: looks like a spreadsheet formula ('@Sara')",
        "row 4: phone: looks like a spreadsheet formula ('+cmd|calc')",
    ]

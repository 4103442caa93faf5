"""Backup → wipe → restore → verify on the test database (SQLite here, PostgreSQL in make test-postgres)."""

import json
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEntry
from billing.models import Charge
from documents.models import Document
from ops import backup, demo

pytestmark = pytest.mark.django_db(transaction=True)


def verify(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def stored_hashes() -> dict[str, str]:
    import hashlib

    result = {}
    for name, storage in backup.stored_files():
        with storage.open(name, "rb") as handle:
            result[name] = hashlib.sha256(handle.read()).hexdigest()
    return result


@pytest.fixture
def demo_instance():
    demo.load()
    assert Document.objects.exists() and Charge.objects.exists()
    return backup.row_counts()


def test_round_trip_keeps_every_row_and_file(demo_instance, tmp_path):
    before_hashes = stored_hashes()
    call_command("backup", str(tmp_path / "b1"), stdout=StringIO())
    manifest = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    assert manifest["database"]["vendor"] == connection.vendor
    assert len(manifest["files"]) == len(before_hashes) + 1
    assert all(len(item["sha256"]) == 64 and item["size"] > 0 for item in manifest["files"])

    # Wipe: every table emptied and every stored file gone.
    call_command("flush", interactive=False, verbosity=0)
    for name in before_hashes:
        Document._meta.get_field("file").storage.delete(name)
    assert backup.instance_is_empty()

    call_command("restore", str(tmp_path / "b1"), stdout=StringIO())
    assert backup.row_counts() == demo_instance
    assert stored_hashes() == before_hashes
    code, output = verify()
    assert (code, output.strip()) == (0, "ok: 8 checks, no violations")


def test_restore_refuses_a_non_empty_instance_without_force(demo_instance, tmp_path):
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    with pytest.raises(Exception, match="has data"):
        call_command("restore", str(tmp_path / "b"), stdout=StringIO())
    call_command("restore", str(tmp_path / "b"), "--force", stdout=StringIO())
    assert backup.row_counts() == demo_instance


def test_restore_checks_every_checksum_before_changing_anything(demo_instance, tmp_path):
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    damaged = next(p for p in (tmp_path / "b" / "files").rglob("*") if p.is_file())
    damaged.write_bytes(damaged.read_bytes() + b"x")
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(Exception, match="damaged") as exc:
        call_command("restore", str(tmp_path / "b"), stdout=StringIO())
    assert damaged.name in str(exc.value)
    assert backup.instance_is_empty()  # nothing was restored


def test_backup_refuses_a_directory_that_is_not_empty(db, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        call_command("backup", str(tmp_path), stdout=StringIO())


def test_verify_reports_a_tampered_audit_entry(demo_instance):
    from audit.services import link_pending
    from audit.tests.helpers import tamper

    link_pending(wait=True)
    entry = AuditEntry.objects.order_by("id")[5]
    # the ORM and the PostgreSQL trigger refuse this; someone with raw database access could do it
    tamper("UPDATE audit_auditentry SET message = 'edited afterwards' WHERE id = %s", [entry.pk])
    code, output = verify()
    assert code == 1
    assert f"audit_chain: entry {entry.pk}: hash or link to the previous entry does not match" in output


def test_verify_reports_a_missing_document_file(demo_instance):
    document = Document.objects.select_related("custody").first()
    Document._meta.get_field("file").storage.delete(document.file.name)
    code, output = verify()
    assert code == 1
    assert output.strip().splitlines() == [
        f"document_files: {document.custody.custody_no} document {document.pk}: file {document.file.name} is missing"
    ]


def test_verify_reports_a_document_whose_content_changed(demo_instance):
    document = Document.objects.first()
    storage = Document._meta.get_field("file").storage
    storage.delete(document.file.name)
    storage.save(document.file.name, ContentFile(b"other bytes"))
    code, output = verify("--check", "document_files")
    assert code == 1 and "does not match its SHA-256" in output


def test_verify_reports_a_wrong_charge_total_as_json(demo_instance):
    charge = Charge.objects.select_related("custody").first()
    Charge.objects.filter(pk=charge.pk).update(unit_price=charge.unit_price + 1)
    code, output = verify("--json")
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False
    assert [v["check"] for v in report["violations"]] == ["charge_totals"]
    assert report["violations"][0]["object"] == f"{charge.custody.custody_no} charge {charge.pk}"


def test_verify_reports_status_without_its_timestamp_and_a_vehicle_out_of_step(demo_instance):
    from custodies.models import Custody
    from fleet.models import Vehicle

    active = Custody.objects.filter(status="active", replacement_vehicle__isnull=False).first()
    Vehicle.objects.filter(pk=active.replacement_vehicle_id).update(status="available")
    closed = Custody.objects.filter(status="closed").first()
    Custody.objects.filter(pk=closed.pk).update(returned_at=None)
    code, output = verify()
    assert code == 1
    lines = output.strip().splitlines()
    assert f"status_timestamps: {closed.custody_no}: closed without returned_at" in lines
    plate = Vehicle.objects.get(pk=active.replacement_vehicle_id).plate
    assert (
        f"vehicles: {plate}: replacement of active {active.custody_no} but its status is available" in lines
    )


def test_the_scheduled_backup_keeps_the_newest(demo_instance, settings, tmp_path):
    from datetime import UTC, datetime, timedelta

    settings.CUSTODY_BACKUP_DIR = str(tmp_path / "backups")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(3):
        backup.scheduled_backup(start + timedelta(hours=hour), keep=2)
    names = [b["name"] for b in backup.list_backups()]
    assert names == ["custody-20260101-020000", "custody-20260101-010000"]


def test_the_admin_page_lists_backups_takes_one_and_runs_verify(demo_instance, settings, tmp_path):
    from accounts.models import User
    from conftest import login_client, run_queued_tasks

    settings.CUSTODY_BACKUP_DIR = str(tmp_path / "backups")
    client = login_client(User.objects.get(role="admin"))
    assert "No backup yet." in client.get("/manage/backups/").content.decode()
    assert client.post("/manage/backups/", {"action": "backup"}).status_code == 302
    run_queued_tasks()
    page = client.get("/manage/backups/").content.decode()
    assert "custody-" in page and "No backup yet." not in page
    page = client.get("/manage/backups/", {"verify": "1"}).content.decode()
    assert "every invariant holds" in page
    assert login_client(User.objects.get(role="manager")).get("/manage/backups/").status_code == 403

"""The import wizard (issue #10 §3): upload → preview and mapping → dry run → import by the worker with a
progress bar → summary and the rejected rows as CSV. The worker's task runs inline (run_queued_tasks)."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.choices import Role
from audit.models import AuditEntry
from conftest import login_client, run_queued_tasks
from fleet.models import Branch, Vehicle
from ops.models import ImportRun
from ops.tests.test_import import import_samples

pytestmark = pytest.mark.django_db
NEW = ["RAK", "FUJ", "SHJ"]
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "import"


def upload(client, kind, text, name="legacy.csv"):
    return client.post(
        "/manage/import/",
        {"kind": kind, "file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
    )


def figures(page: str) -> dict:
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', page)}


def test_a_legacy_file_goes_from_upload_to_imported_with_its_columns_mapped(users):
    admin = login_client(users[Role.ADMIN])
    # A legacy export: its own column names, an extra column, a blank line.
    text = (
        "Code;Name;City;Legacy Id\n"
        "RAK;Ras Al Khaimah;Ras Al Khaimah;17\n"
        "\n"
        "FUJ;Fujairah City;Fujairah;18\n"
        "SHJ;Sharjah;Sharjah;19\n"
    )
    response = upload(admin, "branches", text, "branches-export.csv")
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert response["Location"] == f"/manage/import/{run.pk}/"
    # Preview: the columns guessed by name (case-insensitive), the unknown one left out, the first rows.
    page = admin.get(response["Location"]).content.decode()
    assert run.mapping == {"Code": "code", "Name": "name", "City": "city", "Legacy Id": ""}
    assert 'id="import-preview"' in page and "Fujairah City" in page and "Sharjah" in page
    assert 'id="missing-columns"' not in page and "3 rows" in page
    assert '<option value="code" selected>' in page
    # Dry run: queued for the worker, the page polls the progress, nothing is written.
    dry = admin.post(f"/manage/import/{run.pk}/", {"action": "dry_run", **_mapping(run)})
    assert dry.status_code == 302
    running = admin.get(f"/manage/import/{run.pk}/").content.decode()
    assert 'id="import-progress"' in running and f"/manage/import/{run.pk}/progress/" in running
    assert 'hx-trigger="every 1s"' in running
    poll = admin.get(f"/manage/import/{run.pk}/progress/")
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    assert run_queued_tasks() == 1
    assert not Branch.objects.filter(code__in=NEW).exists()
    finished = admin.get(f"/manage/import/{run.pk}/progress/")
    assert finished["HX-Refresh"] == "true"
    checked = admin.get(f"/manage/import/{run.pk}/").content.decode()
    assert figures(checked) == {"created": 3, "skipped": 0, "rejected": 0}
    assert "Dry run: ready to import" in checked and 'id="import-start"' in checked
    # Import: by the worker, audited with source import, the summary shows what was done.
    assert admin.post(f"/manage/import/{run.pk}/", {"action": "import"}).status_code == 302
    assert run_queued_tasks() == 1
    assert sorted(Branch.objects.filter(code__in=NEW).values_list("code", flat=True)) == sorted(NEW)
    done = admin.get(f"/manage/import/{run.pk}/").content.decode()
    assert figures(done) == {"created": 3, "skipped": 0, "rejected": 0}
    assert ">Imported<" in done
    assert set(AuditEntry.objects.filter(action="branch.created").values_list("source", flat=True)) == {
        "import"
    }
    assert AuditEntry.objects.filter(action="import.done", actor_email=users[Role.ADMIN].email).exists()
    # The same file again: nothing new.
    again = upload(admin, "branches", text)
    rerun = ImportRun.objects.exclude(pk=run.pk).get()
    admin.post(again["Location"], {"action": "dry_run", **_mapping(rerun)})
    run_queued_tasks()
    admin.post(again["Location"], {"action": "import"})
    run_queued_tasks()
    assert figures(admin.get(again["Location"]).content.decode()) == {
        "created": 0,
        "skipped": 3,
        "rejected": 0,
    }
    assert Branch.objects.filter(code__in=NEW).count() == 3


def _mapping(run, **changes):
    run.refresh_from_db()
    return {f"map:{name}": changes.get(name, target) for name, target in run.mapping.items()}


def test_rejected_rows_are_listed_downloadable_and_block_the_import(users):
    import_samples(until="agreements")
    admin = login_client(users[Role.ADMIN])
    header = (SAMPLES / "vehicles.csv").read_text().splitlines()[0]
    text = "\n".join(
        [
            header,
            "DXB-N-1,JTDBR32E720999991,Toyota,Corolla,2023,ECON,DXB,available,100,8,2026-12-31,2026-12-31",
            "DXB-N-2,JTDBR32E720999992,Toyota,Corolla,2023,ECON,XXX,available,100,8,2026-13-45,2026-12-31",
            '=HYPERLINK("http://x"),JTDBR32E720999993,Toyota,Corolla,2023,ECON,DXB,available,100,8,,',
            "DXB-N-4,JTDBR32E720999994,Toyota,Corolla,2023,ECON,DXB,parked,100,8,,",
        ]
    )
    location = upload(admin, "vehicles", text)["Location"]
    run = ImportRun.objects.get()
    preview = admin.get(location).content.decode()
    # The preview already flags the first rows' problems.
    assert "unknown branch_code" in preview and "looks like a spreadsheet formula" in preview
    admin.post(location, {"action": "dry_run", **_mapping(run)})
    run_queued_tasks()
    page = admin.get(location).content.decode()
    assert figures(page)["rejected"] == 3
    assert "Dry run: rows to fix" in page and 'id="import-start"' not in page
    assert "row 3: branch_code: unknown branch_code" in page and "row 5: status" in page
    # The import cannot be forced past a dry run with errors.
    refused = admin.post(location, {"action": "import"})
    assert refused.status_code == 409 and "Run the dry run first" in refused.content.decode()
    assert run_queued_tasks() == 0
    assert not Vehicle.objects.filter(plate__startswith="DXB-N-").exists()
    # The rejected rows, as the file had them, with their errors; cells safe for a spreadsheet.
    rejects = admin.get(f"/manage/import/{run.pk}/rejects.csv")
    assert rejects["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(rejects.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["row", "errors", "plate"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert "unknown branch_code" in rows[1][1] and "not a date" in rows[1][1]
    assert rows[2][2].startswith("'=HYPERLINK")
    assert rows[3][2] == "DXB-N-4"


def test_a_required_column_left_unmapped_is_reported_before_the_dry_run(users):
    admin = login_client(users[Role.ADMIN])
    location = upload(admin, "branches", "Branch Code,Name\nDXB,Dubai\n")["Location"]
    run = ImportRun.objects.get()
    page = admin.get(location).content.decode()
    assert 'id="missing-columns"' in page and "code" in page.split('id="missing-columns"')[1][:200]
    # Two file columns cannot feed one import column.
    clash = admin.post(location, {"action": "map", **_mapping(run, **{"Branch Code": "name"})})
    assert clash.status_code == 422 and "already the column" in clash.content.decode()
    fixed = admin.post(location, {"action": "map", **_mapping(run, **{"Branch Code": "code"})})
    assert fixed.status_code == 302
    run.refresh_from_db()
    assert run.mapping == {"Branch Code": "code", "Name": "name"}
    assert 'id="missing-columns"' not in admin.get(location).content.decode()


def test_upload_errors_are_shown_on_the_form(users):
    admin = login_client(users[Role.ADMIN])
    not_text = admin.post(
        "/manage/import/",
        {
            "kind": "branches",
            "file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad", content_type="text/csv"),
        },
    )
    assert not_text.status_code == 422 and "not UTF-8 text" in not_text.content.decode()
    empty = admin.post("/manage/import/", {"kind": "branches"})
    assert empty.status_code == 422
    wrong_kind = upload(admin, "planes", "code\nX\n")
    assert wrong_kind.status_code == 422
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.FINANCE, Role.VIEWER])
def test_only_admins_import(users, role):
    run = ImportRun.objects.create(
        kind="branches", file_name="b.csv", content=b"code,name\nDXB,Dubai\n", created_by=users[Role.ADMIN]
    )
    client = login_client(users[role])
    assert client.get("/manage/import/").status_code == 403
    assert upload(client, "branches", "code,name\nX,Y\n").status_code == 403
    for path in ("", "progress/", "rejects.csv"):
        assert client.get(f"/manage/import/{run.pk}/{path}").status_code == 403
    assert client.post(f"/manage/import/{run.pk}/", {"action": "dry_run"}).status_code == 403
    assert ImportRun.objects.count() == 1 and run_queued_tasks() == 0


def test_the_custodies_sample_imports_through_the_wizard(users):
    import_samples(until="agreements")
    admin = login_client(users[Role.ADMIN])
    location = upload(admin, "custodies", (SAMPLES / "custodies.csv").read_text())["Location"]
    run = ImportRun.objects.get()
    admin.post(location, {"action": "dry_run", **_mapping(run)})
    run_queued_tasks()
    admin.post(location, {"action": "import"})
    run_queued_tasks()
    run.refresh_from_db()
    assert (run.status, run.created, run.rejected, run.processed, run.total) == ("done", 2, 0, 2, 2)
    assert run.finished_at is not None and run.started_at is not None

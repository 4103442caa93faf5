"""The import wizard and the approval-rule preview in a real browser (Debian's chromium): the progress bar
polls until the worker (run here, in the test) is done and the page shows the summary; the rule form's
effect preview follows the edits. Run with `make test-browser`; skipped without chromium."""

import pytest
from django.conf import settings

from accounts.choices import Role
from conftest import _OneRequestAtATimeServer, run_queued_tasks
from fleet.models import Branch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"


def worker_turn() -> None:
    """The worker's part, run here; never while the live server handles a poll on the shared connection."""
    with _OneRequestAtATimeServer._app_lock:
        run_queued_tasks()


def test_the_import_wizard_from_upload_to_summary(open_page, live_server, users, tmp_path):
    from playwright.sync_api import expect

    csv_file = tmp_path / "legacy-branches.csv"
    csv_file.write_text("Code,Name,City\nRAK,Ras Al Khaimah,Ras Al Khaimah\nFUJ,Fujairah,Fujairah\n")
    page = open_page(live_server, users[Role.ADMIN])
    page.goto(f"{live_server.url}/manage/import/")
    page.select_option("select[name=kind]", "branches")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("#import-upload button[type=submit]")
    expect(page.locator("#import-preview")).to_contain_text("Ras Al Khaimah")
    page.click("#dry-run")
    expect(page.locator("#import-progress .progress")).to_be_visible()
    worker_turn()  # the page's next poll reloads it
    expect(page.locator("#import-summary")).to_contain_text("ready to import")
    page.click("#import-start")
    expect(page.locator("#import-progress")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-progress.png"), full_page=True)
    worker_turn()
    expect(page.locator("#import-summary [data-figure=created]")).to_have_text("2")
    page.screenshot(path=str(SCREENSHOTS / "import-summary.png"), full_page=True)
    assert Branch.objects.filter(code__in=["RAK", "FUJ"]).count() == 2
    assert page.problems == [], page.problems


def test_the_rule_preview_follows_the_form(open_page, live_server, users):
    from playwright.sync_api import expect

    page = open_page(live_server, users[Role.ADMIN])
    page.goto(f"{live_server.url}/manage/settings/approval-rules/new/")
    expect(page.locator("#preview-errors")).to_be_visible()  # nothing filled in yet
    page.fill("input[name=name]", "Accidents: three levels")
    page.fill("input[name=priority]", "1")
    page.check("input[name=reason_codes][value=accident]")
    page.select_option("select[name=level_1_role]", "supervisor")
    page.select_option("select[name=level_2_role]", "manager")
    page.select_option("select[name=level_3_role]", "admin")
    expect(page.locator("#preview-rule")).to_contain_text("Supervisor, then Manager, then Admin")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "approval-rule-preview.png"), full_page=True)
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#settings-table")).to_contain_text("Accidents: three levels")
    assert page.problems == [], page.problems

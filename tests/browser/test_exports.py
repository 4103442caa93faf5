"""The custodies export follows a filter changed in place with HTMX (issue 12: it kept the first render's)."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User
from custodies.models import Custody

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_export_carries_the_status_filter_clicked_after_the_first_render(open_page, live_server):
    call_command("demo_data", verbosity=0)
    admin = User.objects.create_user(
        email="browser.export@example.com", password="x-Correct-Horse-42", role=Role.ADMIN, all_branches=True
    )
    page = open_page(live_server, admin)
    page.goto(f"{live_server.url}/custodies/")
    page.locator("label[for=status-active]").click()  # HTMX swaps the results and pushes the URL
    page.wait_for_url("**/custodies/?*status=active*")
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == Custody.objects.filter(status="active").count() > 0
    assert {row["Status"] for row in rows} == {"Active"}
    assert page.problems == []

"""The shared layout (base.html) with its per-language fragments (core.templatetags.fragments):
what each role sees, which entry is active, the language, and per-request parts left per request."""

import re
from pathlib import Path

import pytest
from django.utils.autoreload import file_changed

from accounts.choices import Role
from conftest import login_client, make_user
from core.templatetags import fragments

pytestmark = pytest.mark.django_db


def nav(html: str) -> list[tuple[str, bool]]:
    """(address, active) of the main navigation's links."""
    block = html[
        html.index('<ul class="navbar-nav') : html.index("</ul>", html.index('<ul class="navbar-nav'))
    ]
    return [
        (href, "active" in css) for css, href in re.findall(r'class="nav-link([^"]*)" href="([^"]+)"', block)
    ]


def test_each_role_sees_its_entries_and_the_pages_entry_is_active(users):
    finance = users[Role.FINANCE]
    operator = nav(login_client(users[Role.OPERATOR]).get("/custodies/").text)
    admin = nav(login_client(users[Role.ADMIN]).get("/").text)
    supervisor = nav(login_client(users[Role.SUPERVISOR]).get("/approvals/").text)
    money = nav(login_client(finance).get("/billing/charges/").text)

    assert ("/custodies/", True) in operator and ("/", False) in operator
    assert not any(href in ("/manage/", "/approvals/", "/billing/charges/") for href, _ in operator)
    assert ("/", True) in admin and ("/manage/", False) in admin and ("/custodies/", False) in admin
    assert ("/approvals/", True) in supervisor
    assert ("/billing/charges/", True) in money
    assert [active for _, active in admin].count(True) == 1


def test_a_path_that_names_two_sections_marks_both_as_before(users):
    # The rule is "the path contains the section's text": /manage/vehicles/ lit Admin and Vehicles.
    html = login_client(users[Role.ADMIN]).get("/manage/").text
    assert ("/manage/", True) in nav(html)
    from config.context_processors import nav_active

    assert set(nav_active("/manage/vehicles/x")) == {"admin", "vehicles"}
    assert nav_active("/") == ("dashboard",)


def test_the_layout_follows_each_users_language_whoever_came_first(users, branch):
    arabic = make_user(Role.OPERATOR, branch, email="arabic@example.com")
    arabic.language = "ar"
    arabic.save()
    english = login_client(users[Role.OPERATOR]).get("/custodies/").text
    rtl = login_client(arabic).get("/custodies/").text
    again = login_client(users[Role.OPERATOR]).get("/custodies/").text

    assert 'dir="rtl"' in rtl and "bootstrap.rtl.min.css" in rtl and ">لوحة التحكم<" in rtl
    assert "Dashboard</a>" not in rtl and "Keyboard shortcuts" not in rtl
    assert 'dir="ltr"' in english and "bootstrap.min.css" in english and "Dashboard</a>" in english
    assert _fixed(english) == _fixed(again)


def _fixed(html: str) -> str:
    """The page without what changes on every request (CSRF token, request id)."""
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    return re.sub(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", html.replace(token, "T")
    )


def test_per_request_parts_stay_per_request(users, branch, other_branch):
    operator = users[Role.OPERATOR]
    operator.branches.add(other_branch)
    client = login_client(operator)
    first = client.get("/custodies/?status=active").text
    client.post("/branch/switch/", {"branch_id": str(other_branch.pk), "next": "/"})
    second = client.get("/vehicles/").text

    assert f'<option value="{other_branch.pk}" selected>' not in first
    assert f'<option value="{other_branch.pk}" selected>' in second
    assert 'name="next" value="/custodies/?status=active"' in first
    assert 'name="next" value="/vehicles/"' in second
    assert operator.email in second and 'name="csrfmiddlewaretoken"' in second


def test_a_signed_out_page_has_no_signed_in_scripts_or_shortcuts(db):
    from django.test import Client

    html = Client().get("/accounts/login/").text
    assert "custody/app.js" in html
    assert "custody/shortcuts.js" not in html and "data-shortcut-" not in html


def test_editing_a_template_in_development_drops_the_kept_fragments(users):
    login_client(users[Role.OPERATOR]).get("/custodies/")
    assert fragments._kept
    file_changed.send(sender=None, file_path=Path("core/templates/core/layout/_nav.html"))
    assert not fragments._kept

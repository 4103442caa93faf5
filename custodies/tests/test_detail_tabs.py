"""The custody detail page renders only its open tab; the others load when first shown (issue 14)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client, make_user
from custodies import services
from custodies.tests.conftest import attach
from custodies.views import DETAIL_TABS

pytestmark = pytest.mark.django_db

# The tabs this app renders (charges is billing's, at billing:custody_tab).
OWN_TABS = [name for name, tab in DETAIL_TABS.items() if tab.template]
# The tables only some tab reads: the overview page must not touch them.
OTHER_TABS_TABLES = (
    "audit_auditentry",
    "notifications_notification",
    "documents_document",
    "documents_signature",
)


@pytest.fixture
def submitted(users, make_draft):
    """A submitted custody with something on every tab: audit entries, an approval round, a document and
    the notifications its submission sent."""
    from integrations.models import OutboxEvent
    from integrations.services import dispatch_event

    custody = make_draft()
    attach(custody, "incident_report")
    with acting_as(users[Role.OPERATOR], "web"):
        services.submit_custody(users[Role.OPERATOR], custody.id)
    for event in OutboxEvent.objects.filter(dispatched_at__isnull=True):
        dispatch_event(event.id)
    custody.refresh_from_db()
    return custody


def _tables(queries) -> set[str]:
    return {table for q in queries for table in re.findall(r'FROM "(\w+)"', q["sql"])}


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPERVISOR])
def test_the_page_renders_only_the_open_tab_and_runs_none_of_the_others_queries(
    users, submitted, role, django_assert_max_num_queries
):
    client = login_client(users[role])
    client.get(f"/custodies/{submitted.pk}/")  # the session and the per-process caches warm
    # Session, user, branches, custody, its approval level (the header's approve/reject, asked once),
    # the supervisor's earlier decisions, the record's users, the layout's switches and branches.
    with django_assert_max_num_queries(9), CaptureQueriesContext(connection) as queries:
        page = client.get(f"/custodies/{submitted.pk}/").content.decode()
    assert not _tables(queries.captured_queries) & set(OTHER_TABS_TABLES)
    # The overview is there, the other tabs' content is not: each has a placeholder that loads it.
    assert "Reason &amp; incident" in page and "Record" in page
    assert "Submission round 1" not in page  # approvals
    assert 'id="documents-panel"' not in page and 'id="audit-filters"' not in page
    assert "custody-notifications" not in page and 'class="list-unstyled timeline' not in page
    for name in OWN_TABS:
        if name == "overview":
            continue
        placeholder = re.search(rf'<div hx-get="/custodies/{submitted.pk}/tabs/{name}/"[^>]*>', page)
        assert placeholder and 'hx-trigger="intersect once"' in placeholder.group(0), name
        assert f'href="/custodies/{submitted.pk}/?tab={name}"' in page  # the tab itself, and without JS
    assert f'hx-get="/billing/custodies/{submitted.pk}/tab/"' in page  # charges, as before
    assert page.count("Loading…") == len(DETAIL_TABS) - 1


def test_the_tab_in_the_address_is_rendered_with_the_page(users, submitted):
    client = login_client(users[Role.OPERATOR])
    page = client.get(f"/custodies/{submitted.pk}/?tab=approvals").content.decode()
    assert "Submission round 1" in page
    assert re.search(r'class="tab-pane fade show active" id="tab-approvals"', page)
    assert f'hx-get="/custodies/{submitted.pk}/tabs/overview/"' in page  # now the overview waits
    assert "Reason &amp; incident" not in page
    # An unknown tab falls back to the overview.
    assert "Reason &amp; incident" in client.get(f"/custodies/{submitted.pk}/?tab=nope").content.decode()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("overview", "Reason &amp; incident"),
        ("timeline", "Submitted for approval"),
        ("vehicles", 'id="condition-links"'),
        ("documents", 'class="list-group-item px-0 document-item'),
        ("approvals", "Submission round 1"),
        ("notifications", "custody-notifications"),
        ("audit", 'id="audit-filters"'),
    ],
)
def test_each_tab_loads_on_its_own_without_the_layout(users, submitted, name, shown):
    assert name in OWN_TABS
    response = login_client(users[Role.OPERATOR]).get(f"/custodies/{submitted.pk}/tabs/{name}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert shown in body
    assert "<html" not in body and 'id="custody-actions"' not in body


def test_a_tab_loads_only_its_own_data(users, submitted, django_assert_max_num_queries):
    client = login_client(users[Role.OPERATOR])
    client.get(f"/custodies/{submitted.pk}/tabs/vehicles/")
    with django_assert_max_num_queries(6), CaptureQueriesContext(connection) as queries:
        assert client.get(f"/custodies/{submitted.pk}/tabs/vehicles/").status_code == 200
    assert not _tables(queries.captured_queries) & {*OTHER_TABS_TABLES, "approvals_approval"}


def test_the_audit_tab_keeps_its_filters_and_export(users, submitted):
    client = login_client(users[Role.OPERATOR])
    # The filter form's plain submit goes to the audit view, which sends the page with the audit tab open.
    response = client.get(f"/custodies/{submitted.pk}/audit/?action=custody.submitted")
    assert response.status_code == 302 and "tab=audit" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    results = page.split('id="audit-results"')[1].split('id="tab-')[0]
    assert 'data-action="custody.submitted"' in results and 'data-action="custody.created"' not in results
    assert "format=csv&amp;action=custody.submitted" in page
    # The page's filters go along to the tabs that load later.
    assert f'hx-get="/custodies/{submitted.pk}/tabs/timeline/?action=custody.submitted"' in page
    lazy = client.get(f"/custodies/{submitted.pk}/tabs/audit/?action=custody.submitted").content.decode()
    assert 'data-action="custody.submitted"' in lazy and 'data-action="custody.created"' not in lazy
    assert '<option value="custody.submitted" selected>' in lazy


def test_an_unknown_tab_or_one_another_app_serves_is_404(users, submitted):
    client = login_client(users[Role.OPERATOR])
    assert client.get(f"/custodies/{submitted.pk}/tabs/nope/").status_code == 404
    assert client.get(f"/custodies/{submitted.pk}/tabs/charges/").status_code == 404


def test_tabs_are_read_only_and_need_a_login(users, submitted):
    assert (
        login_client(users[Role.OPERATOR]).post(f"/custodies/{submitted.pk}/tabs/audit/").status_code == 405
    )
    from django.test import Client

    response = Client().get(f"/custodies/{submitted.pk}/tabs/audit/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_another_branchs_custody_has_no_tabs(users, submitted, other_branch):
    stranger = login_client(make_user(Role.MANAGER, other_branch, email="stranger@example.com"))
    assert stranger.get(f"/custodies/{submitted.pk}/").status_code == 404
    for name in OWN_TABS:
        assert stranger.get(f"/custodies/{submitted.pk}/tabs/{name}/").status_code == 404, name


def test_a_viewer_reads_every_tab(users, submitted):
    viewer = login_client(users[Role.VIEWER])
    for name in OWN_TABS:
        response = viewer.get(f"/custodies/{submitted.pk}/tabs/{name}/")
        assert response.status_code == 200, name
    documents = viewer.get(f"/custodies/{submitted.pk}/tabs/documents/").content.decode()
    assert 'id="documents-panel"' in documents and "data-upload-form" not in documents  # nothing to upload


def test_an_action_refused_on_the_form_reopens_its_dialog_over_the_overview(users, make_draft):
    custody = make_draft()
    response = login_client(users[Role.OPERATOR]).post(
        f"/custodies/{custody.pk}/action/void/", {"reason": ""}
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="modal-void"' in body and "data-show-on-load" in body
    assert "Reason &amp; incident" in body  # the overview, rendered with the page
    # The tab links lead to the page, not to the action's address.
    assert f'href="/custodies/{custody.pk}/?tab=timeline"' in body

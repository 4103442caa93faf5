"""Saved list filters (issue 12, "lists that remember"): save, apply, share, rename, delete."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import PermissionDenied

from accounts import services
from accounts.choices import Role
from accounts.models import SavedFilter
from audit.models import AuditEntry
from conftest import login_client, make_user
from core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter(branch):
    return make_user(Role.OPERATOR, branch, email="counter@example.com")


@pytest.fixture
def colleague(branch):
    return make_user(Role.SUPERVISOR, branch, email="colleague@example.com")


@pytest.fixture
def outsider(other_branch):
    return make_user(Role.OPERATOR, other_branch, email="outsider@example.com")


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def _save(user, name="Active accidents", query="status=active&reason_code=accident", **kw):
    return services.save_filter(user, "custodies", name=name, query=query, **kw)


# ---- save and apply -------------------------------------------------------------------------------


def test_a_user_saves_the_custody_lists_filters_and_gets_the_list_back_with_them(counter):
    client = login_client(counter)
    page = client.get("/filters/custodies/new/?status=active&status=pending_approval&reason_code=accident")
    assert page.status_code == 200
    assert "Active, Pending approval" in page.text  # what is about to be saved, in words
    assert "Accident" in page.text

    response = client.post(
        "/filters/custodies/new/",
        {"name": "  Open accidents ", "query": "status=active&status=pending_approval&reason_code=accident"},
    )

    saved = SavedFilter.objects.get(owner=counter)
    assert (saved.list_key, saved.name) == ("custodies", "Open accidents")
    assert saved.query == "status=active&status=pending_approval&reason_code=accident"
    assert list(saved.shared_with.all()) == []
    assert response.status_code == 302
    assert response["Location"] == "/custodies/?status=active&status=pending_approval&reason_code=accident"
    entry = AuditEntry.objects.get(action="saved_filter.created")
    assert entry.object_id == str(saved.pk)
    assert entry.changes["name"] == [None, "Open accidents"]


def test_applying_a_saved_filter_opens_the_list_with_its_filters(counter):
    saved = _save(counter, query="status=active&ordering=-custody_no")

    response = login_client(counter).get(f"/filters/{saved.pk}/")

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/custodies/"
    assert _query(response["Location"]) == [("status", "active"), ("ordering", "-custody_no")]


def test_only_the_lists_own_filter_keys_are_stored(counter):
    saved = _save(
        counter,
        query="status=active&page=3&cursor=abc&format=csv&limit=200&is_admin=1&q=&plate=+dxb-a-1+&ordering=-created_at",
    )

    assert _query("?" + saved.query) == [
        ("status", "active"),
        ("plate", "dxb-a-1"),
        ("ordering", "-created_at"),
    ]


def test_the_custody_list_shows_the_users_saved_filters_in_its_menu(counter, colleague):
    _save(counter, name="Mine")
    _save(colleague, name="Colleague private")

    page = login_client(counter).get("/custodies/")

    assert page.status_code == 200
    menu = page.text[page.text.index('id="saved-filters"') :]
    assert "Mine" in menu
    assert "Colleague private" not in menu
    assert "/filters/custodies/new/" in menu


# ---- sharing ----------------------------------------------------------------------------------------


def test_a_filter_shared_with_a_branch_is_applied_by_its_users_but_changed_only_by_its_owner(
    counter, colleague, branch
):
    saved = _save(counter, name="Overdue at DXB", query="overdue=1", shared_with=[branch.pk])
    client = login_client(colleague)

    menu = client.get("/custodies/").text
    applied = client.get(f"/filters/{saved.pk}/")
    edit_page = client.get(f"/filters/{saved.pk}/edit/")
    renamed = client.post(f"/filters/{saved.pk}/edit/", {"name": "Mine now"})
    deleted = client.post(f"/filters/{saved.pk}/delete/")

    assert "Overdue at DXB" in menu
    assert applied.status_code == 302
    assert _query(applied["Location"]) == [("overdue", "1")]
    assert (edit_page.status_code, renamed.status_code, deleted.status_code) == (403, 403, 403)
    saved.refresh_from_db()
    assert saved.name == "Overdue at DXB"
    assert not AuditEntry.objects.filter(action__in=["saved_filter.updated", "saved_filter.deleted"]).exists()


def test_a_user_of_another_branch_can_neither_see_apply_nor_delete_a_shared_filter(counter, outsider, branch):
    saved = _save(counter, name="DXB only", query="overdue=1", shared_with=[branch.pk])
    client = login_client(outsider)

    assert "DXB only" not in client.get("/custodies/").text
    assert "DXB only" not in client.get("/filters/custodies/").text
    assert client.get(f"/filters/{saved.pk}/").status_code == 404
    assert client.get(f"/filters/{saved.pk}/edit/").status_code == 404
    assert client.post(f"/filters/{saved.pk}/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    with pytest.raises(SavedFilter.DoesNotExist):
        services.delete_saved_filter(outsider, saved.pk)


def test_a_private_filter_is_not_found_by_a_colleague_of_the_same_branch(counter, colleague):
    saved = _save(counter)

    assert login_client(colleague).get(f"/filters/{saved.pk}/").status_code == 404


def test_a_filter_is_shared_only_with_branches_the_user_works_in(counter, other_branch):
    with pytest.raises(ValidationFailed) as refused:
        _save(counter, shared_with=[other_branch.pk])

    assert refused.value.details == {"shared_with": ["Share only with the branches you work in."]}
    with pytest.raises(ValidationFailed):
        _save(counter, shared_with=["not-a-uuid"])
    assert not SavedFilter.objects.exists()


def test_a_deactivated_users_shared_filters_leave_their_colleagues_menus(counter, colleague, branch):
    saved = _save(counter, name="Shared", shared_with=[branch.pk])
    counter.is_active = False
    counter.save(update_fields=["is_active"])

    assert login_client(colleague).get(f"/filters/{saved.pk}/").status_code == 404


# ---- rename, re-share, delete -------------------------------------------------------------------------


def test_the_owner_renames_shares_and_deletes_a_filter_each_audited(counter, branch):
    saved = _save(counter, name="First")
    client = login_client(counter)

    renamed = client.post(f"/filters/{saved.pk}/edit/", {"name": "Second", "shared_with": [str(branch.pk)]})
    saved.refresh_from_db()
    assert renamed.status_code == 302
    assert renamed["Location"] == "/filters/custodies/"
    assert saved.name == "Second"
    assert [b.code for b in saved.shared_with.all()] == ["DXB"]
    assert AuditEntry.objects.get(action="saved_filter.updated").changes == {
        "name": ["First", "Second"],
        "shared_with": [[], ["DXB"]],
    }

    deleted = client.post(f"/filters/{saved.pk}/delete/")
    assert deleted.status_code == 302
    assert not SavedFilter.objects.exists()
    assert AuditEntry.objects.get(action="saved_filter.deleted").changes["name"] == ["Second", None]


def test_the_manage_page_lists_own_filters_with_actions_and_shared_ones_read_only(counter, colleague, branch):
    mine = _save(counter, name="Mine")
    theirs = _save(colleague, name="Theirs", shared_with=[branch.pk])

    page = login_client(counter).get("/filters/custodies/").text

    assert f"/filters/{mine.pk}/edit/" in page
    assert f"/filters/{mine.pk}/delete/" in page
    assert f"/filters/{theirs.pk}/" in page
    assert f"/filters/{theirs.pk}/edit/" not in page
    assert f"/filters/{theirs.pk}/delete/" not in page


# ---- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the filter a name."),
        ("   ", "Give the filter a name."),
        ("x" * 61, "Use at most 60 characters."),
        ("active ACCIDENTS", "You already have a saved filter with this name."),
    ],
)
def test_a_name_is_required_short_and_unique_per_user_and_list(counter, name, message):
    _save(counter, name="Active accidents")

    with pytest.raises(ValidationFailed) as refused:
        _save(counter, name=name)

    assert refused.value.details == {"name": [message]}
    assert SavedFilter.objects.count() == 1


def test_the_same_name_is_free_on_another_list_and_for_another_user(counter, colleague):
    _save(counter, name="Drafts")

    services.save_filter(counter, "charges", name="Drafts", query="status=draft")
    _save(colleague, name="Drafts")

    assert SavedFilter.objects.filter(name="Drafts").count() == 3


def test_filters_the_list_refuses_are_not_saved_and_the_page_names_them(counter):
    response = login_client(counter).post(
        "/filters/custodies/new/", {"name": "Broken", "query": "status=bogus&date_from=yesterday"}
    )

    assert response.status_code == 422
    assert "Some filters are not valid: Status, Created from. Correct them before saving." in response.text
    assert not SavedFilter.objects.exists()


def test_saving_no_filter_at_all_is_refused(counter):
    response = login_client(counter).post("/filters/custodies/new/", {"name": "Nothing", "query": "page=2"})

    assert response.status_code == 422
    assert "Choose at least one filter or sort order before saving." in response.text
    assert not SavedFilter.objects.exists()


def test_an_unknown_list_is_not_found(counter):
    client = login_client(counter)

    assert client.get("/filters/payroll/").status_code == 404
    assert client.post("/filters/payroll/new/", {"name": "x", "query": "a=1"}).status_code == 404
    with pytest.raises(ValidationFailed):
        services.save_filter(counter, "payroll", name="x", query="a=1")


def test_a_bad_sort_order_is_refused_at_saving(counter):
    with pytest.raises(ValidationFailed) as refused:
        _save(counter, query="status=active&ordering=password")

    assert "Sort order" in refused.value.message


# ---- stale saved filters ---------------------------------------------------------------------------------


def test_a_saved_filter_with_a_stale_key_or_value_applies_what_still_holds(counter, other_branch):
    # Saved before a filter was renamed, a reason code removed and a branch taken away from the user.
    saved = SavedFilter.objects.create(
        owner=counter,
        list_key="custodies",
        name="Old",
        query=f"status=active&vehicle_group=SUV&reason_code=flood&branch_id={other_branch.pk}&ordering=-gone",
    )
    client = login_client(counter)

    response = client.get(f"/filters/{saved.pk}/")
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert _query(response["Location"]) == [("status", "active")]
    assert page.status_code == 200
    assert "Part of “Old” no longer applies and was left out: Reason, Branch, Sort order." in page.text


def test_a_saved_filter_of_a_list_that_no_longer_exists_is_not_found(counter):
    saved = SavedFilter.objects.create(owner=counter, list_key="retired", name="Old", query="a=1")

    assert login_client(counter).get(f"/filters/{saved.pk}/").status_code == 404


# ---- the other lists --------------------------------------------------------------------------------------


def test_the_charges_list_saves_its_own_filters(users):
    finance = users[Role.FINANCE]
    client = login_client(finance)

    assert 'id="saved-filters"' in client.get("/billing/charges/?status=draft").text
    response = client.post(
        "/filters/charges/new/", {"name": "Drafts", "query": "status=draft&charge_type=fuel&ordering=-total"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/billing/charges/?status=draft&charge_type=fuel&ordering=-total"
    assert SavedFilter.objects.get(owner=finance).list_key == "charges"


def test_the_quotes_list_saves_its_own_filters(operator):
    client = login_client(operator)

    assert 'id="saved-filters"' in client.get("/quotes/").text
    response = client.post("/filters/quotes/new/", {"name": "Sent", "query": "status=sent&status=bogus"})

    assert response.status_code == 422  # "bogus" is not a quote status
    response = client.post("/filters/quotes/new/", {"name": "Sent", "query": "status=sent&q=Gulf"})
    assert response["Location"] == "/quotes/?q=Gulf&status=sent"


def test_the_services_refuse_a_colleague_who_sees_a_shared_filter(counter, colleague, branch):
    saved = _save(counter, shared_with=[branch.pk])

    with pytest.raises(PermissionDenied):
        services.update_saved_filter(colleague, saved.pk, name="Taken over")
    with pytest.raises(PermissionDenied):
        services.delete_saved_filter(colleague, saved.pk)
    saved.refresh_from_db()
    assert saved.name == "Active accidents"


def test_an_oversized_or_hand_made_post_is_a_clear_answer_not_an_error(counter, other_branch):
    client = login_client(counter)

    huge = client.post("/filters/custodies/new/", {"name": "Huge", "query": "q=" + "x" * 5000})
    foreign = client.post(
        "/filters/custodies/new/",
        {"name": "AUH", "query": "status=draft", "shared_with": [str(other_branch.pk)]},
    )

    assert huge.status_code == 422
    assert "at most 4000 characters" in huge.text
    assert foreign.status_code == 422
    assert "Select a valid choice" in foreign.text
    assert not SavedFilter.objects.exists()

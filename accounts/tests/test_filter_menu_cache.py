"""The cached "Saved filters" menu (accounts.filter_menu): no query once cached, and every change
that the menu shows is on the next page at once."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import filter_menu, services
from accounts.choices import Role
from conftest import login_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter(branch):
    return make_user(Role.OPERATOR, branch, email="counter@example.com")


@pytest.fixture
def colleague(branch):
    return make_user(Role.SUPERVISOR, branch, email="colleague@example.com")


def _save(user, name, shared_with=(), query="status=active"):
    return services.save_filter(user, "custodies", name=name, query=query, shared_with=shared_with)


def menu(client, url="/custodies/") -> str:
    text = client.get(url).text
    start = text.index('id="saved-filters"')
    return text[start : text.index("</ul>", start)]


def test_a_cached_menu_costs_no_query(counter):
    _save(counter, "Mine")
    client = login_client(counter)
    assert "Mine" in menu(client)
    with CaptureQueriesContext(connection) as queries:
        assert "Mine" in menu(client)
    assert not [q for q in queries if "accounts_savedfilter" in q["sql"]]


def test_the_save_link_carries_this_pages_filters_not_the_cached_ones(counter):
    client = login_client(counter)
    assert 'href="/filters/custodies/new/"' in menu(client)
    assert 'href="/filters/custodies/new/?status=active&amp;q=a%3Cb"' in menu(
        client, "/custodies/?status=active&q=a<b&page=2"
    )


def test_saving_renaming_and_deleting_a_filter_show_at_once(counter):
    client = login_client(counter)
    assert "No saved filters yet." in menu(client)

    client.post("/filters/custodies/new/", {"name": "Open accidents", "query": "status=active"})
    assert "Open accidents" in menu(client)

    saved = counter.saved_filters.get()
    client.post(f"/filters/{saved.pk}/edit/", {"name": "Renamed"})
    shown = menu(client)
    assert "Renamed" in shown and "Open accidents" not in shown

    client.post(f"/filters/{saved.pk}/delete/")
    assert "No saved filters yet." in menu(client)


def test_a_colleagues_sharing_and_unsharing_show_at_once(counter, colleague, branch):
    client = login_client(colleague)
    assert "Shared by counter" not in menu(client)

    saved = _save(counter, "Shared by counter", shared_with=[branch.pk])
    assert "Shared by counter" in menu(client)  # the colleague's cached menu was rebuilt

    services.update_saved_filter(counter, saved.pk, name="Shared by counter", shared_with=[])
    assert "Shared by counter" not in menu(client)


def test_an_owners_new_name_and_deactivation_show_in_colleagues_menus(counter, colleague, branch):
    _save(counter, "Overdue", shared_with=[branch.pk])
    client = login_client(colleague)
    assert "Overdue" in menu(client)

    counter.full_name = "Counter Renamed"
    counter.save()
    assert "Counter Renamed" in menu(client)

    counter.is_active = False
    counter.save(update_fields=["is_active"])
    assert "Overdue" not in menu(client)


def test_a_user_given_another_branch_sees_the_filters_shared_there_at_once(counter, other_branch):
    elsewhere = make_user(Role.OPERATOR, other_branch, email="elsewhere@example.com")
    _save(elsewhere, "Abu Dhabi only", shared_with=[other_branch.pk])
    client = login_client(counter)
    assert "Abu Dhabi only" not in menu(client)

    counter.branches.add(other_branch)
    assert "Abu Dhabi only" in menu(client)


def test_the_menu_follows_the_users_language(counter):
    _save(counter, "Mine")
    client = login_client(counter)
    assert "Saved filters" in menu(client)
    counter.language = "ar"
    counter.save(update_fields=["language"])
    shown = menu(client)
    assert "Saved filters" not in shown and "Mine" in shown


def test_a_lost_generation_stamp_never_brings_back_an_old_menu(counter):
    client = login_client(counter)
    assert "No saved filters yet." in menu(client)
    caches["shared"].delete(filter_menu.GENERATION_KEY)  # evicted, or the cache restarted
    _save(counter, "After the restart")
    assert "After the restart" in menu(client)


def test_the_generation_lives_where_every_server_process_reads_it():
    assert not isinstance(caches["shared"], LocMemCache)
    before = filter_menu.generation()
    filter_menu.forget()
    assert filter_menu.generation() != before

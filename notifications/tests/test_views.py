"""The inbox page, the header bell and its badge partial."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.choices import Role
from conftest import login_client
from notifications.models import Notification
from notifications.services import notify_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(users):
    return users[Role.MANAGER]


def note(user, title, minutes_ago=0, custody=None, read=False):
    notify_users([user], "sla_at_risk", title, f"Body of {title}", custody=custody)
    item = Notification.objects.get(user=user, title=title)
    Notification.objects.filter(pk=item.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago), read_at=timezone.now() if read else None
    )
    item.refresh_from_db()
    return item


def test_the_inbox_lists_newest_first_unread_bold_with_a_link_to_the_custody(manager, make_draft):
    custody = make_draft()
    older = note(manager, "Older one", minutes_ago=30, read=True)
    newer = note(manager, "Newer one", minutes_ago=1, custody=custody)
    page = login_client(manager).get("/notifications/").content.decode()
    assert page.index("Newer one") < page.index("Older one")
    assert f'href="/notifications/{newer.pk}/open/" class="text-body text-decoration-none fw-bold"' in page
    assert f'href="/notifications/{older.pk}/open/" class="text-body text-decoration-none">' in page
    assert f'href="/custodies/{custody.pk}/">{custody.custody_no}</a>' in page
    assert "Unread (1)" in page and "Mark all read" in page
    assert f'hx-post="/notifications/{newer.pk}/read/"' in page
    assert f'hx-post="/notifications/{older.pk}/read/"' not in page


def test_the_inbox_shows_only_my_notifications_and_filters_unread(manager, users):
    note(manager, "Mine, unread")
    note(manager, "Mine, read", read=True)
    note(users[Role.SUPERVISOR], "Not mine")
    client = login_client(manager)
    page = client.get("/notifications/").content.decode()
    assert "Mine, unread" in page and "Mine, read" in page and "Not mine" not in page
    unread = client.get("/notifications/?unread=1").content.decode()
    assert "Mine, unread" in unread and "Mine, read" not in unread


def test_an_empty_inbox_says_so(manager):
    page = login_client(manager).get("/notifications/").content.decode()
    assert "No notifications yet." in page and "Mark all read" not in page


def test_the_inbox_pages(manager):
    for i in range(30):
        note(manager, f"Item {i:02d}", minutes_ago=i)
    client = login_client(manager)
    first = client.get("/notifications/").content.decode()
    assert "Item 00" in first and "Item 29" not in first and "Page 1 of 2" in first
    assert "Item 29" in client.get("/notifications/?page=2").content.decode()


def test_mark_one_read_in_place_with_htmx(manager):
    item = note(manager, "Approve me")
    response = login_client(manager).post(f"/notifications/{item.pk}/read/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    html = response.content.decode()
    assert f'id="notification-{item.pk}"' in html and "fw-bold" not in html and "Mark read" not in html
    item.refresh_from_db()
    assert item.read_at is not None


def test_mark_one_read_without_javascript(manager):
    item = note(manager, "Approve me")
    response = login_client(manager).post(
        f"/notifications/{item.pk}/read/", {"next": "/notifications/?unread=1"}
    )
    assert (response.status_code, response.url) == (302, "/notifications/?unread=1")
    item.refresh_from_db()
    assert item.is_read


def test_another_users_notification_is_not_found(manager, users):
    theirs = note(users[Role.SUPERVISOR], "Theirs")
    client = login_client(manager)
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_mark_all_read(manager, users):
    note(manager, "One")
    note(manager, "Two")
    theirs = note(users[Role.SUPERVISOR], "Theirs")
    response = login_client(manager).post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=manager, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_opening_a_notification_marks_it_read_and_follows_its_link(manager, make_draft):
    custody = make_draft()
    item = note(manager, "Go there", custody=custody)
    response = login_client(manager).get(f"/notifications/{item.pk}/open/")
    assert (response.status_code, response.url) == (302, f"/custodies/{custody.pk}/")
    item.refresh_from_db()
    assert item.is_read


def test_an_outside_link_is_not_followed(manager):
    notify_users([manager], "webhook_endpoint_disabled", "Disabled", "", url="https://evil.example.net/")
    item = Notification.objects.get(user=manager)
    response = login_client(manager).get(f"/notifications/{item.pk}/open/")
    assert response.url == "/notifications/"


def test_the_badge_shows_the_unread_count(manager):
    client = login_client(manager)
    assert client.get("/notifications/badge/").content.decode().strip() == ""
    note(manager, "One")
    note(manager, "Two")
    note(manager, "Read", read=True)
    response = client.get("/notifications/badge/")
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert 'id="notification-count"' in html and ">2<" in html and "unread notifications" in html


def test_the_badge_caps_at_99(manager):
    Notification.objects.bulk_create(
        [Notification(user=manager, kind="sla_at_risk", title=f"n{i}") for i in range(120)]
    )
    assert "99+" in login_client(manager).get("/notifications/badge/").content.decode()


def test_the_badge_stops_polling_after_logout(db):
    response = Client().get("/notifications/badge/")
    assert response.status_code == 286 and response.content == b""


def test_polling_the_badge_does_not_keep_the_session_alive(manager):
    client = login_client(manager)
    client.get("/notifications/")
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=10))
    before = Session.objects.get(pk=key).expire_date
    assert client.get("/notifications/badge/").status_code == 200
    assert Session.objects.get(pk=key).expire_date == before
    client.get("/notifications/")
    assert Session.objects.get(pk=key).expire_date > before


def test_the_header_has_the_bell_polling_every_30_seconds(manager):
    page = login_client(manager).get("/notifications/").content.decode()
    assert 'id="notification-bell"' in page and 'href="/notifications/"' in page
    assert 'hx-get="/notifications/badge/"' in page
    assert 'hx-trigger="load, every 30s, notifications-changed from:body"' in page
    assert "/static/notifications/notifications.js" in page


def test_the_pages_need_a_login(db):
    client = Client()
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read-all/").status_code == 302


def test_the_inbox_is_in_arabic_for_an_arabic_user(manager):
    manager.language = "ar"
    manager.save()
    note(manager, "One")
    page = login_client(manager).get("/notifications/").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "الإشعارات" in page and "تعليم الكل كمقروء" in page

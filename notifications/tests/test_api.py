"""GET /api/v1/notifications, POST /api/v1/notifications/{id}/read, POST /api/v1/notifications/read-all."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from notifications.models import Notification
from notifications.services import notify_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(users):
    return users[Role.MANAGER]


def seed(user, count, custody=None):
    for i in range(count):
        notify_users([user], "sla_at_risk", f"N{i}", "body", custody=custody)
    now = timezone.now()
    for i, item in enumerate(Notification.objects.filter(user=user).order_by("title")):
        Notification.objects.filter(pk=item.pk).update(created_at=now - timedelta(minutes=i))


def test_the_list_is_mine_newest_first_with_the_list_shape(manager, users, api_as, make_draft):
    custody = make_draft()
    seed(manager, 3, custody=custody)
    seed(users[Role.SUPERVISOR], 2)
    response = api_as(manager).get("/api/v1/notifications")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "count", "next"}
    assert (body["count"], body["next"]) == (3, None)
    assert [item["title"] for item in body["items"]] == ["N0", "N1", "N2"]
    item = body["items"][0]
    assert set(item) == {
        "id",
        "kind",
        "title",
        "body",
        "url",
        "custody_id",
        "custody",
        "created_at",
        "read_at",
        "read",
    }
    assert item["custody"] == {"id": str(custody.pk), "custody_no": custody.custody_no}
    assert (item["kind"], item["read"], item["read_at"], item["url"]) == (
        "sla_at_risk",
        False,
        None,
        f"/custodies/{custody.pk}/",
    )


def test_unread_filter_and_pagination(manager, api_as):
    seed(manager, 5)
    Notification.objects.filter(title="N0").update(read_at=timezone.now())
    client = api_as(manager)
    unread = client.get("/api/v1/notifications", {"unread": "true"}).json()
    assert unread["count"] == 4 and "N0" not in [i["title"] for i in unread["items"]]
    read = client.get("/api/v1/notifications", {"unread": "false"}).json()
    assert [i["title"] for i in read["items"]] == ["N0"]
    first = client.get("/api/v1/notifications", {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"].startswith("/api/v1/notifications?")
    second = client.get(first["next"]).json()
    assert [i["title"] for i in second["items"]] == ["N2", "N3"]


def test_mark_one_read(manager, users, api_as):
    seed(manager, 2)
    item = Notification.objects.get(user=manager, title="N1")
    client = api_as(manager)
    response = client.post(f"/api/v1/notifications/{item.pk}/read")
    assert response.status_code == 200
    assert response.json()["read"] is True and response.json()["read_at"]
    assert client.post(f"/api/v1/notifications/{item.pk}/read").status_code == 200  # idempotent
    assert client.get("/api/v1/notifications", {"unread": "true"}).json()["count"] == 1


def test_another_users_notification_is_not_found(manager, users, api_as):
    seed(users[Role.SUPERVISOR], 1)
    theirs = Notification.objects.get()
    response = api_as(manager).post(f"/api/v1/notifications/{theirs.pk}/read")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert api_as(manager).post("/api/v1/notifications/not-a-uuid/read").status_code == 422


def test_read_all(manager, users, api_as):
    seed(manager, 3)
    seed(users[Role.SUPERVISOR], 1)
    response = api_as(manager).post("/api/v1/notifications/read-all")
    assert (response.status_code, response.json()) == (200, {"updated": 3})
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_the_api_needs_authentication(db, api_as):
    response = api_as().get("/api/v1/notifications")
    assert response.status_code == 401 and response.json()["error"]["code"] == "AUTH_ERROR"

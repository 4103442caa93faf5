"""The outbox worker's batch path: the poller instead of a task per write, batched claims, kept-alive
connections, concurrent sends, the retry policy and the maintenance hold on the batch path too."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.context import acting_as
from conftest import run_queued_tasks
from core.schedule import run_pollers
from integrations import sender as sender_module
from integrations import services, webhooks
from integrations.events import emit
from integrations.models import DeliveryAttempt, OutboxEvent, WebhookDelivery

pytestmark = pytest.mark.django_db

DISPATCH = "integrations.tasks.dispatch_event_task"


def dispatch_tasks() -> int:
    return DBTaskResult.objects.filter(task_path=DISPATCH).count()


def endpoint(admin_user, url):
    return services.create_endpoint(admin_user, {"name": "Receiver", "url": url})[0]


def emit_many(n, start=0):
    with acting_as(source="system"):
        return [emit("custody.updated", {"n": start + i}).id for i in range(n)]


def test_a_write_queues_no_task_and_the_outbox_poller_sends_its_events(admin_user, receiver):
    endpoint(admin_user, receiver.url)
    with transaction.atomic():
        emit_many(5)
    assert dispatch_tasks() == 0
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 5
    assert run_pollers() is True
    assert sorted(b["data"]["n"] for b in receiver.json_bodies()) == [0, 1, 2, 3, 4]
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_rolled_back_savepoint_takes_its_events_along():
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            emit_many(1)
            raise RuntimeError("boom")
        assert not OutboxEvent.objects.exists()
        emit_many(2)
    assert OutboxEvent.objects.count() == 2


def test_events_emitted_after_a_drain_in_the_same_transaction_are_sent_too(admin_user, receiver):
    endpoint(admin_user, receiver.url)
    emit_many(2)
    run_queued_tasks()
    emit_many(3, start=2)  # same (test) transaction: the drain above saw the first two only
    run_queued_tasks()
    assert sorted(b["data"]["n"] for b in receiver.json_bodies()) == [0, 1, 2, 3, 4]


def test_an_idle_poller_costs_one_read(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert run_pollers() is False


def test_a_batch_is_sent_over_kept_alive_connections_and_recorded(admin_user, receiver):
    endpoint(admin_user, receiver.url)
    emit_many(40)
    result = services.drain()
    assert result == {"events_dispatched": 40, "attempts": 40}
    assert WebhookDelivery.objects.filter(status="delivered", attempts=1, last_status_code=200).count() == 40
    assert DeliveryAttempt.objects.filter(number=1, status_code=200).count() == 40
    connections = {r["client"] for r in receiver.requests}
    assert len(connections) <= sender_module.MAX_CONCURRENT_SENDS  # not one connection per delivery


def test_failures_in_a_batch_follow_the_retry_policy(admin_user, receiver):
    ep = endpoint(admin_user, receiver.url)
    receiver.responses = [(500, {}, 0), (503, {"Retry-After": "7200"}, 0)] + [(200, {}, 0)] * 3
    sender = sender_module.Sender(concurrency=1)  # the receiver answers in order
    emit_many(5)
    services.dispatch_pending()
    now = timezone.now()
    try:
        assert services.deliver_due(sender, now) == 5
    finally:
        sender.close()
    by_code = {}
    for d in WebhookDelivery.objects.all():
        by_code.setdefault(d.last_status_code, []).append(d)
    assert len(by_code[200]) == 3 and all(d.status == "delivered" for d in by_code[200])
    (failed_500,) = by_code[500]
    (failed_503,) = by_code[503]
    assert failed_500.status == failed_503.status == "pending"
    # the same schedule as the single path: webhooks.next_delay, Retry-After when it is later
    assert failed_500.next_attempt_at - now >= webhooks.RETRY_DELAYS[0] * 0.8
    assert failed_503.next_attempt_at - now == timedelta(seconds=7200)
    ep.refresh_from_db()
    assert ep.failing_since == now
    assert DeliveryAttempt.objects.count() == 5


def test_410_in_a_batch_disables_the_endpoint(admin_user, receiver):
    ep = endpoint(admin_user, receiver.url)
    receiver.responses = [(410, {}, 0)]
    emit_many(1)
    services.drain()
    ep.refresh_from_db()
    assert ep.active is False
    assert WebhookDelivery.objects.get().status == "failed"


def test_the_batch_path_holds_deliveries_during_maintenance(admin_user, receiver, monkeypatch):
    endpoint(admin_user, receiver.url)
    emit_many(3)
    monkeypatch.setattr(services.switches, "outbound_held", lambda: True)
    services.drain()
    assert receiver.requests == []
    assert WebhookDelivery.objects.filter(status="pending", attempts=0).count() == 3  # fanned out, held
    monkeypatch.setattr(services.switches, "outbound_held", lambda: False)
    services.drain()
    assert len(receiver.requests) == 3


def test_sends_that_cannot_start_within_the_lease_are_released_unattempted(admin_user, receiver, settings):
    settings.CUSTODY_WEBHOOK_LEASE_SECONDS = 1  # sends must start within 0.5 s
    endpoint(admin_user, receiver.url)
    receiver.responses = [(200, {}, 0.7)] * 3
    emit_many(3)
    services.dispatch_pending()
    sender = sender_module.Sender(concurrency=1)
    now = timezone.now()
    try:
        assert services.deliver_due(sender, now) == 1
    finally:
        sender.close()
    assert len(receiver.requests) == 1
    released = WebhookDelivery.objects.filter(status="pending")
    assert released.count() == 2
    assert all(d.attempts == 0 and d.next_attempt_at == now for d in released)  # due again, not penalised


def test_the_retry_job_dispatches_lost_events_and_sends_due_deliveries(admin_user, receiver):
    endpoint(admin_user, receiver.url)
    lost = OutboxEvent.objects.create(
        type="custody.updated", data={}, created_at=timezone.now() - timedelta(minutes=2)
    )
    fresh = OutboxEvent.objects.create(type="custody.updated", data={})  # its task may still come
    assert services.retry_due() == {"events_dispatched": 1, "attempts": 1}
    assert [b["id"] for b in receiver.json_bodies()] == [str(lost.pk)]
    fresh.refresh_from_db()
    assert fresh.dispatched_at is None

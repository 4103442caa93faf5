"""Kill the worker while deliveries are in flight, restart it: every event still arrives (at least once),
from the restarted worker alone, as soon as the killed worker's leases end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.context import acting_as
from integrations import services
from integrations.events import emit
from ops.models import JobRun

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 40


def _worker(env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "-v", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_delivery_loses_no_event(admin_user, receiver, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database shared with a worker process (PostgreSQL)")
    services.create_endpoint(admin_user, {"name": "Receiver", "url": receiver.url})
    receiver.responses = [(200, {}, 0.2)] * (EVENTS * 3)  # slow enough to kill mid-flight (8 sends at once)
    with transaction.atomic(), acting_as(source="system"):  # one transaction: one dispatch task
        ids = [str(emit("custody.updated", {"n": n}).id) for n in range(EVENTS)]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "CUSTODY_WEBHOOK_ALLOW_PRIVATE": "1",
        "CUSTODY_WEBHOOK_LEASE_SECONDS": "2",
        "DEBUG": "1",
    }

    first = _worker(env)
    deadline = time.monotonic() + 60
    while len(receiver.requests) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    delivered_before_restart = len({r["headers"]["X-Custody-Delivery"] for r in receiver.requests})
    assert 0 < delivered_before_restart < EVENTS

    # As if the killed worker's scheduler had just run the minute job: the restarted one may not run it
    # again for a minute.
    JobRun.objects.update_or_create(name="webhook_retries", defaults={"last_started_at": timezone.now()})
    second = _worker(env)  # at once: the killed worker's claims are still leased
    try:
        # Nothing new is emitted, so only the restarted worker's own recovery can send the leased
        # deliveries; it must not wait for the minute job's next turn (up to 80 s after a restart).
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            seen = {b["id"] for b in receiver.json_bodies()}
            if set(ids) <= seen:
                break
            time.sleep(0.5)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=20)
    received = [b["id"] for b in receiver.json_bodies()]
    assert set(ids) <= set(received)
    duplicates = len(received) - len(set(received))
    # Receivers de-duplicate on X-Custody-Delivery, which is stable per (event, endpoint).
    print(f"\ncrash test: events={EVENTS} delivered={len(set(received))} duplicates={duplicates}")

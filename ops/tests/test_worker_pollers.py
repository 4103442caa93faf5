"""The worker's poller thread (core.schedule.poll): it calls each poller as often as it asks, and a
poller that fails is called again on its next turn."""

import threading
import time

from core import schedule
from ops.management.commands import worker


def test_the_poller_thread_calls_again_after_a_failure_and_stops_when_asked(monkeypatch):
    calls = []
    enough = threading.Event()

    def flaky() -> dict:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        if len(calls) >= 3:
            enough.set()
        return {}

    monkeypatch.setattr(schedule, "_pollers", {"flaky": schedule.Poller("flaky", flaky, 0.05)})
    monkeypatch.setattr(schedule, "_discovered", True)
    stop = threading.Event()
    thread = threading.Thread(target=worker.poller_loop, args=(stop,), daemon=True)
    thread.start()
    assert enough.wait(5), calls
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert min(b - a for a, b in zip(calls, calls[1:], strict=False)) >= 0.04  # its own interval


def test_the_outbox_is_a_registered_poller_called_twice_a_second():
    [outbox] = [p for p in schedule.pollers() if p.name == "outbox"]
    assert outbox.seconds == 0.5

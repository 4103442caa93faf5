"""Scheduled jobs: each app declares its own in `<app>/jobs.py`; the worker (`ops`) runs them.

    from core.schedule import every

    @every(minutes=5)
    def sla(now): ...

A job that must follow its work within a second (the outbox: a committed event goes out at once)
is a poller instead: `@poll(seconds=0.5)`. The worker calls each poller in a loop of its own, that often,
with no claim and no run record, so a poller is cheap when idle (one indexed read) and safe to run in
several workers at once (it claims its rows itself, SKIP LOCKED).

The job's name is the function's name unless given. `after_worker_start=<callable returning a timedelta>`
also runs the job once that long after a worker starts, whatever its interval says: a job that picks up
what a killed worker left in flight (leases) then does so as soon as the leases end, not a whole
interval later. A job is idempotent and returns a dict of counts.
`first_time(key, now)` is true once per key across reruns and workers (the store is registered by `ops`,
which keeps the markers), for work that must happen once per custody per day and the like.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.module_loading import autodiscover_modules

DEFAULT_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], dict]
    interval: timedelta = DEFAULT_INTERVAL
    after_worker_start: Callable[[], timedelta] | None = None


@dataclass(frozen=True)
class Poller:
    name: str
    run: Callable[[], dict]
    seconds: float


_registry: dict[str, Job] = {}
_pollers: dict[str, Poller] = {}
_discovered = False
_marker_store: Callable[[str, datetime], bool] | None = None


def every(name: str = "", after_worker_start: Callable[[], timedelta] | None = None, **interval) -> Callable:
    """Register the decorated function as a job run every `interval` (timedelta keywords)."""

    def register(run: Callable[[datetime], dict]) -> Callable[[datetime], dict]:
        job = Job(
            name or run.__name__,
            run,
            timedelta(**interval) if interval else DEFAULT_INTERVAL,
            after_worker_start,
        )
        _registry[job.name] = job
        return run

    return register


def poll(seconds: float, name: str = "") -> Callable:
    """Register the decorated function as a poller the worker calls every `seconds`; it returns counts
    (empty or all zero when there was nothing to do)."""

    def register(run: Callable[[], dict]) -> Callable[[], dict]:
        _pollers[name or run.__name__] = Poller(name or run.__name__, run, seconds)
        return run

    return register


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("jobs")
        _discovered = True


def jobs() -> list[Job]:
    """Every registered job, in the order of INSTALLED_APPS (apps' `jobs` modules are imported once)."""
    _discover()
    return list(_registry.values())


def pollers() -> list[Poller]:
    """Every registered poller (from the same `jobs` modules)."""
    _discover()
    return list(_pollers.values())


def run_pollers() -> bool:
    """Call every poller once; true when one of them found work."""
    found = [any((poller.run() or {}).values()) for poller in pollers()]
    return any(found)


def register_marker_store(store: Callable[[str, datetime], bool]) -> None:
    global _marker_store
    _marker_store = store


def first_time(key: str, now: datetime) -> bool:
    if _marker_store is None:
        raise RuntimeError("No job marker store is installed (the ops app registers it).")
    return _marker_store(key, now)

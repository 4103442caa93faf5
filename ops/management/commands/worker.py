"""`custody worker`: runs queued background tasks, the apps' pollers (the outbox) and the scheduled
jobs, with a heartbeat.

Several workers may run at once: tasks are claimed by django-tasks-db (SKIP LOCKED on
PostgreSQL) and each scheduled job run is claimed in the JobRun table.
"""

import os
import socket
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string

HEARTBEAT_SECONDS = 20
SCHEDULE_CHECK_SECONDS = 30


def beat(worker_id: str) -> None:
    from ops.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": timezone.now(), "hostname": socket.gethostname()[:120], "pid": os.getpid()},
    )


def scheduler_loop(worker_id: str, stop: threading.Event) -> None:
    import time

    from audit.context import acting_as
    from core.schedule import jobs
    from ops.jobs import run_due_jobs

    started = time.monotonic()
    # Jobs that recover a killed worker's leased work run once as soon as the leases end. That run is
    # this worker's own recovery, not the scheduled run: it claims nothing and is not counted in
    # JobRun (the job's work is safe to run twice: it claims rows with SKIP LOCKED).
    recovery = {job.name: job for job in jobs() if job.after_worker_start}
    delays = {name: job.after_worker_start().total_seconds() for name, job in recovery.items()}
    last_jobs = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            beat(worker_id)
            if time.monotonic() - last_jobs >= SCHEDULE_CHECK_SECONDS:
                run_due_jobs()
                last_jobs = time.monotonic()
            for name in [n for n, delay in delays.items() if time.monotonic() - started >= delay]:
                del delays[name]
                with acting_as(source="system"):
                    recovery.pop(name).run(timezone.now())
        except Exception:  # noqa: BLE001 - keep the scheduler alive; errors are logged per job
            import logging

            logging.getLogger(__name__).exception("scheduler loop")
        waits = [delay - (time.monotonic() - started) for delay in delays.values()]
        stop.wait(max(0.5, min([HEARTBEAT_SECONDS, *waits])))
    connection.close()


def poller_loop(stop: threading.Event) -> None:
    """The apps' pollers (core.schedule.poll), each as often as it asks: the outbox's sends a committed
    event within a second, with no task row per write."""
    import logging
    import time

    from core.schedule import pollers

    due = {poller.name: 0.0 for poller in pollers()}
    while not stop.is_set():
        for poller in pollers():
            if time.monotonic() < due[poller.name]:
                continue
            try:
                close_old_connections()
                poller.run()
            except Exception:  # noqa: BLE001 - keep polling; the next round retries
                logging.getLogger(__name__).exception("poller %s", poller.name)
            due[poller.name] = time.monotonic() + poller.seconds
        stop.wait(max(0.05, min(due.values(), default=1.0) - time.monotonic()))
    connection.close()


class Command(BaseCommand):
    help = "Run background tasks (webhooks, e-mail) and the scheduled jobs every 5 minutes."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run what is queued and due now, then exit.")
        parser.add_argument("--no-jobs", action="store_true", help="Only run queued tasks (no scheduler).")

    def handle(self, *args, **options):
        worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(6)}"
        if options["batch"]:
            from core.schedule import run_pollers
            from ops.jobs import run_due_jobs

            beat(worker_id)
            run_pollers()
            call_command(
                "db_worker",
                batch=True,
                queue_name="*",
                reload=False,
                startup_delay=False,
                verbosity=options["verbosity"],
            )
            if not options["no_jobs"]:
                run_due_jobs()
                run_pollers()
                call_command(
                    "db_worker",
                    batch=True,
                    queue_name="*",
                    reload=False,
                    startup_delay=False,
                    verbosity=options["verbosity"],
                )
            return
        stop = threading.Event()
        poller = threading.Thread(target=poller_loop, args=(stop,), daemon=True, name="custody-pollers")
        poller.start()
        scheduler = None
        if not options["no_jobs"]:
            scheduler = threading.Thread(
                target=scheduler_loop, args=(worker_id, stop), daemon=True, name="custody-scheduler"
            )
            scheduler.start()
        self.stdout.write(f"Custody worker {worker_id} started (tasks + scheduled jobs).")
        try:
            call_command(
                "db_worker",
                queue_name="*",
                interval=1,
                reload=False,
                worker_id=worker_id[:32],
                verbosity=options["verbosity"],
            )
        finally:
            stop.set()
            poller.join(timeout=5)
            if scheduler:
                scheduler.join(timeout=5)

"""Outbox + webhook throughput: events per second one worker sustains, and delivery latency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench_hooks \
        .venv/bin/python bench/webhooks.py --events 2000

Uses a local receiver on 127.0.0.1 only; the database must be migrated (the script migrates it).
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CUSTODY_WEBHOOK_ALLOW_PRIVATE"] = "1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like any real receiver
    disable_nagle_algorithm = True  # TCP_NODELAY, like any real server (nginx tcp_nodelay on, gunicorn)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from audit.context import acting_as
    from integrations.events import emit
    from integrations.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    WebhookEndpoint.objects.all().delete()
    admin = User.objects.filter(role="admin").first() or User.objects.create_user(
        email="bench-admin@example.com", password=None, role="admin", all_branches=True
    )
    from integrations.services import create_endpoint

    create_endpoint(admin, {"name": "bench", "url": f"http://127.0.0.1:{server.server_address[1]}/"})

    started = time.monotonic()
    ids = []
    for n in range(args.events):
        with transaction.atomic(), acting_as(source="system"):
            ids.append(emit("custody.updated", {"n": n}).id)
    emit_seconds = time.monotonic() - started

    env = {**os.environ}
    from django.utils import timezone

    worker_started = timezone.now()
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch", "--no-jobs", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    deliver_seconds = time.monotonic() - started
    deliveries = list(
        WebhookDelivery.objects.filter(event_id__in=ids, status="delivered").select_related("event")
    )
    latencies = sorted((d.delivered_at - d.event.created_at).total_seconds() * 1000 for d in deliveries)
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else 0
    # Delivered per second: from the worker's start to the last delivery (includes starting Python and
    # Django), and from the worker's first claim (the first event's dispatched_at) to the last delivery.
    # "worker wall": the whole `worker --batch` run (its poller drains the outbox; writes queue no task).
    last = max((d.delivered_at for d in deliveries), default=worker_started)
    first_claim = min((d.event.dispatched_at for d in deliveries), default=worker_started)
    delivering = max((last - worker_started).total_seconds(), 1e-6)
    working = max((last - first_claim).total_seconds(), 1e-6)
    print(
        "| events | emitted/s | delivered | delivered/s (worker start → last delivery) "
        "| delivered/s (first claim → last delivery) | worker wall s "
        "| latency p50 ms | latency p95 ms | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.events} | {args.events / emit_seconds:.0f} | {len(deliveries)} | "
        f"{len(deliveries) / delivering:.0f} | {len(deliveries) / working:.0f} | {deliver_seconds:.1f} | "
        f"{statistics.median(latencies):.0f} | {p95:.0f} | {' / '.join(f'{x:.2f}' for x in os.getloadavg())} |"
    )
    OutboxEvent.objects.filter(id__in=ids).delete()
    server.shutdown()


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Every page on the demo data, as each role: server time per page (issue 12: "every page still loads
in < 300 ms server time on the demo data").

    .venv/bin/python bench/pages.py                        # a fresh SQLite copy of the demo data
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/demo .venv/bin/python bench/pages.py --no-load

A crawler per role: it starts at the dashboard and follows every same-site link and HTMX `hx-get`
of the pages it reaches (no logout, no static or media files, no API), at most `--per-pattern`
URLs of the same shape (ids replaced by `{id}`). Each URL is requested `--rounds` times through
Django's test client (routing, middleware, session, views, templates; no network) and its median
is reported. Prints the slowest pages, every URL at or over the budget, and any answer other than
200/302/404 (a broken link is a finding too). Run it on a quiet machine: the times are wall times.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if "--no-load" not in sys.argv and "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='custody-pages-')}/demo.sqlite3"
os.environ.setdefault("DEBUG", "0")

from _setup import django_setup  # noqa: E402

django_setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from ops import demo  # noqa: E402

LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')
ID = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)(?=/|$)")
SKIP = (
    "/static/",
    "/media/",
    "/api/",
    "/logout",
    "/accounts/logout",
    "/i18n/",
    "/__",
    "/admin/logout",
    "/readyz",
    "/healthz",
)
# Files, not pages: exports, downloads and printed PDFs (WeasyPrint) have their own figures.
FILES = ("export", "download", "/print/", "/pdf/", ".pdf", ".csv", ".xlsx")
ROLES = ("operator", "supervisor", "manager", "finance", "admin", "viewer")


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


def pattern(url: str) -> str:
    path, _sep, query = url.partition("?")
    keys = "&".join(sorted(part.split("=", 1)[0] for part in query.split("&") if part))
    return ID.sub("/{id}", path) + (f"?{keys}" if keys else "")


def crawl(client: Client, rounds: int, per_pattern: int, limit: int) -> list[dict]:
    queue, seen, shapes, results = ["/"], {"/"}, {}, []
    while queue and len(results) < limit:
        url = queue.pop(0)
        times, response = [], None
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(url, HTTP_HX_REQUEST="true" if "partial" in url else None)
            times.append((time.perf_counter() - started) * 1000)
        kind = response.get("Content-Type", "")
        results.append(
            {"url": url, "status": response.status_code, "ms": statistics.median(times), "type": kind}
        )
        if response.status_code != 200 or not kind.startswith("text/html"):
            continue
        for link in LINK.findall(response.content.decode(errors="replace")):
            link = link.replace("&amp;", "&")
            if link in seen or link.startswith(SKIP) or any(word in link for word in FILES):
                continue
            shape = pattern(link)
            if shapes.get(shape, 0) >= per_pattern:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            seen.add(link)
            queue.append(link)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-load", action="store_true", help="use the database as it is (demo data loaded)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-pattern", type=int, default=2)
    parser.add_argument("--limit", type=int, default=250, help="at most this many URLs per role")
    parser.add_argument("--budget-ms", type=float, default=300.0)
    parser.add_argument("--roles", nargs="*", default=list(ROLES))
    args = parser.parse_args(argv)

    if not args.no_load:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("demo_data", verbosity=0)
        out(f"demo data loaded in {time.perf_counter() - started:.0f} s")
    setup_test_environment()  # the test client's response attributes; templates render as in production
    users = {u.email.split("@")[0]: u for u in demo.demo_users()}
    everything, failures = [], []
    for role in args.roles:
        client = Client()
        client.force_login(users[role])
        results = crawl(client, args.rounds, args.per_pattern, args.limit)
        for row in results:
            row["role"] = role
        everything += results
        failures += [r for r in results if r["status"] not in (200, 302, 404)]
        pages = [r for r in results if r["status"] == 200]
        out(
            f"{role}: {len(results)} URLs, median {statistics.median(r['ms'] for r in pages):.0f} ms, "
            f"slowest {max(r['ms'] for r in pages):.0f} ms"
        )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    over = sorted((r for r in everything if r["ms"] >= args.budget_ms), key=lambda r: -r["ms"])
    out(f"\n{len(everything)} requests' medians, load average {load}; budget {args.budget_ms:.0f} ms\n")
    out("| role | page | status | median ms |")
    out("|---|---|---:|---:|")
    for row in sorted(everything, key=lambda r: -r["ms"])[:15]:
        out(f"| {row['role']} | `{row['url'][:90]}` | {row['status']} | {row['ms']:.0f} |")
    out(f"\nover budget: {len(over)}; answers other than 200/302/404: {len(failures)}")
    for row in failures:
        out(f"  {row['status']} {row['role']} {row['url']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

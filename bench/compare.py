#!/usr/bin/env python
"""Before/after of the query changes described in docs/performance.md (PostgreSQL, EXPLAIN ANALYZE).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench .venv/bin/python bench/compare.py

For each case it builds the query the old code produced and the one the current code produces,
runs EXPLAIN (ANALYZE) a few times and reports the median planning and execution time:

- select_related of 11 relations (old custodies_for) vs 6 (now): planning time per list/detail query
- search `q` and `plate`: OR across joined tables (old) vs id lists + BitmapOr (now)
- custodian-name contains with and without the trigram index (index hidden in a transaction)
- deep keyset cursor: the OR condition paginate() builds vs the same plus a bound on the sort key
  (a proposal for custody/pagination.py, not applied)
- count(*) of the whole table and of a big filtered set, vs a capped count (proposal)
"""

import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_setup  # noqa: E402

django_setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Q  # noqa: E402

from custodies import selectors  # noqa: E402
from custodies.models import Custody  # noqa: E402

OLD_RELATED = [
    "branch",
    "customer",
    "agreement",
    "original_vehicle",
    "original_vehicle__vehicle_class",
    "replacement_vehicle",
    "replacement_vehicle__vehicle_class",
    "special_rate_code",
    "created_by",
    "submitted_by",
]
NEW_RELATED = ["branch", "customer", "agreement", "original_vehicle", "replacement_vehicle"]


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


def measure(sql: str, params, runs: int = 7) -> tuple[float, float]:
    plans, execs = [], []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params)
            for (line,) in cursor.fetchall():
                if line.startswith("Planning Time"):
                    plans.append(float(line.split()[2]))
                if line.startswith("Execution Time"):
                    execs.append(float(line.split()[2]))
    return statistics.median(plans[1:]), statistics.median(execs[1:])


def count_sql(qs) -> tuple[str, tuple]:
    """The SQL of qs.count() (Django drops ordering and select_related the same way)."""
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    return f"SELECT count(*) FROM ({sql}) AS counted", params


def row(name: str, qs_or_sql, params=None) -> None:
    if isinstance(qs_or_sql, str):
        sql = qs_or_sql
    else:
        sql, params = qs_or_sql.query.sql_with_params()
    plan, execute = measure(sql, params)
    out(f"| {name} | {plan:.2f} | {execute:.2f} | {plan + execute:.2f} |")


def main() -> int:
    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only")
    rng = random.Random(3)
    total = Custody.objects.count()
    sample = list(
        Custody.objects.order_by("?").values_list(
            "id", "custody_no", "custodian_name", "original_vehicle__plate", "created_at"
        )[:50]
    )
    pick = rng.choice(sample)
    plate, name = pick[3], pick[2]
    out(f"{total:,} custodies; plate {plate}, name {name!r}")
    out("")
    out("| query | planning ms | execution ms | total ms |")
    out("|---|---:|---:|---:|")
    base_old = Custody.objects.select_related(*OLD_RELATED)
    base_new = Custody.objects.select_related(*NEW_RELATED)
    order = ("-created_at", "-pk")

    row("list page, 11 relations joined (before)", base_old.order_by(*order)[:51])
    row("list page, 6 relations joined (now)", base_new.order_by(*order)[:51])
    row("detail by id, 11 relations (before)", base_old.filter(pk=pick[0]))
    row("detail by id, 6 relations (now)", base_new.filter(pk=pick[0]))

    upper = plate.upper()
    old_plate = base_old.filter(Q(original_vehicle__plate=upper) | Q(replacement_vehicle__plate=upper))
    row("plate filter: OR across joins (before)", old_plate.order_by(*order)[:51])
    row("plate filter: count (before)", *count_sql(old_plate))
    new_plate = selectors.filter_custodies(base_new, selectors.CustodyFilters(plate=plate))
    row("plate filter: vehicle ids, BitmapOr (now)", new_plate.order_by(*order)[:51])
    row("plate filter: count (now)", *count_sql(new_plate))

    def old_search(term):
        up = term.upper()
        return base_old.filter(
            Q(custody_no=up)
            | Q(custody_no=f"CST-{term}")
            | Q(original_vehicle__plate=up)
            | Q(replacement_vehicle__plate=up)
            | Q(agreement__agreement_no=up)
            | Q(incident_ref=term)
            | Q(custodian_name__icontains=term)
        )

    for label, term in (("custody no", pick[1]), ("custodian name", name)):
        row(f"q={label}: OR across joins (before)", old_search(term).order_by(*order)[:51])
        new = selectors.filter_custodies(base_new, selectors.CustodyFilters(q=term))
        row(f"q={label}: ids + trigram, BitmapOr (now)", new.order_by(*order)[:51])
        row(f"q={label}: count (before)", *count_sql(old_search(term)))
        row(f"q={label}: count (now)", *count_sql(new))

    contains = count_sql(Custody.objects.filter(custodian_name__icontains=name))
    row("count custodian name contains, trigram index", *contains)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'custody_custodian_name_trgm'")
            has_index = cursor.fetchone() is not None
            if has_index:
                cursor.execute("DROP INDEX custody_custodian_name_trgm")  # rolled back below
        if has_index:
            row("count custodian name contains, no trigram index", *contains)
        transaction.set_rollback(True)

    deep = sorted(sample, key=lambda r: r[4])[len(sample) // 10]  # an old row: a deep page
    value, last = deep[4], deep[0]
    keyset = Q(created_at__lt=value) | Q(created_at=value, pk__lt=last)
    row("deep cursor, OR condition (paginate today)", base_new.filter(keyset).order_by(*order)[:51])
    row(
        "deep cursor, + created_at <= value (proposal)",
        base_new.filter(Q(created_at__lte=value) & keyset).order_by(*order)[:51],
    )
    branch_id = Custody.objects.filter(pk=last).values_list("branch_id", flat=True).get()
    scoped = base_new.filter(branch_id__in=[branch_id])
    row("deep cursor, one branch, OR condition (today)", scoped.filter(keyset).order_by(*order)[:51])
    row(
        "deep cursor, one branch, + bound (proposal)",
        scoped.filter(Q(created_at__lte=value) & keyset).order_by(*order)[:51],
    )

    row("count(*) all custodies", "SELECT count(*) FROM custodies_custody", [])
    row("count(*) status=closed", "SELECT count(*) FROM custodies_custody WHERE status = 'closed'", [])
    row(
        "capped count (LIMIT 10001) status=closed",
        "SELECT count(*) FROM (SELECT 1 FROM custodies_custody WHERE status = 'closed' LIMIT 10001) s",
        [],
    )
    row(
        "estimate from pg_class.reltuples",
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'custodies_custody'::regclass",
        [],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

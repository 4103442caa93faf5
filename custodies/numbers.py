"""Race-free custody numbers: a PostgreSQL sequence, or a locked counter row elsewhere."""

from django.db import connection, transaction
from django.db.models import F

from .models import Counter

PREFIX = "CST-"


def next_custody_no() -> str:
    return f"{PREFIX}{next_value('custody_no'):06d}"


def next_value(name: str) -> int:
    if connection.vendor == "postgresql" and name == "custody_no":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('custody_no_seq')")
            return int(cursor.fetchone()[0])
    with transaction.atomic():
        # The UPDATE takes the row's write lock until commit, so two writers never read the same value.
        Counter.objects.get_or_create(name=name)
        Counter.objects.filter(name=name).update(value=F("value") + 1)
        return Counter.objects.get(name=name).value


def next_custody_nos(count: int) -> list[str]:
    """`count` new numbers at once (bulk import): one round trip instead of one per custody."""
    if count <= 0:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('custody_no_seq') FROM generate_series(1, %s)", [count])
            values = [int(row[0]) for row in cursor.fetchall()]
    else:
        with transaction.atomic():
            Counter.objects.get_or_create(name="custody_no")
            Counter.objects.filter(name="custody_no").update(value=F("value") + count)
            last = Counter.objects.get(name="custody_no").value
        values = list(range(last - count + 1, last + 1))
    return [f"{PREFIX}{value:06d}" for value in sorted(values)]

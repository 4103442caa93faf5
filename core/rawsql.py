"""Hand-written SQL for the few reads on every request where building a queryset costs more than
running it (the session row, the system switches, a custody's balance, the list's recent customers;
docs/performance.md, issue 14). Identifiers always come from the models, never from input; values
are always parameters. Each caller is tested against the ORM query it replaces."""

from django.db import connections, router


def read_connection(model):
    return connections[router.db_for_read(model)]


def names(connection, model, *fields: str) -> tuple[str, ...]:
    """(table, *columns) of `model`, quoted for `connection`."""
    quote = connection.ops.quote_name
    meta = model._meta
    return (quote(meta.db_table), *(quote(meta.get_field(name).column) for name in fields))


def fetch(connection, sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()

"""Hand-written SQL for the few reads on every request where building a queryset costs more than
running it (the session row, the system switches, a custody's balance, the list's recent customers;
docs/performance.md, issue 14). Identifiers always come from the models, never from input; values
are always parameters. Each caller is tested against the ORM query it replaces."""

from contextlib import contextmanager

from django.conf import settings
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


@contextmanager
def prepared(using: str = "default", enabled: bool = True):
    """Statements run inside are prepared on PostgreSQL: the server plans each once per connection
    instead of on every request (the six-table custody detail and list: ~1 ms of planning against
    0.05-0.4 ms of execution, docs/performance.md). Django sends everything else as before.

    Only for statements whose best plan does not depend on their values: a lookup by key, the list
    unfiltered or by status. PostgreSQL may switch a prepared statement to one generic plan, and the
    generic plan of a text search walks the whole table for a rare name. CUSTODY_DB_PREPARE=0 turns it
    off (e.g. behind a pooler in transaction mode that does not keep prepared statements)."""
    connection = connections[using]
    if not (enabled and settings.CUSTODY_DB_PREPARE and connection.vendor == "postgresql"):
        yield
        return
    with connection.execute_wrapper(_prepare):
        yield


def _prepare(execute, sql, params, many, context):
    if many or params is None:
        return execute(sql, params, many, context)
    from django.db.backends.postgresql.base import ServerBindingCursor

    wrapper = context["cursor"]  # Django's CursorWrapper: the ORM fetches the rows from its .cursor
    wrapper.db.validate_no_broken_transaction()
    with wrapper.db.wrap_database_errors:
        # Django's cursors bind on the client (no statement to prepare); a server-binding cursor on the
        # same connection (same transaction, same adapters) takes this statement's place.
        cursor = ServerBindingCursor(wrapper.cursor.connection)
        cursor.execute(sql, params, prepare=True)
    wrapper.cursor.close()
    wrapper.cursor = cursor
    return cursor

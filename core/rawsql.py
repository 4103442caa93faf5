"""Hand-written SQL for the few reads on every request where building a queryset costs more than
running it (the session row, the system switches, a custody's balance, the list's recent customers;
docs/performance.md, issue 14). Identifiers always come from the models, never from input; values
are always parameters. Each caller is tested against the ORM query it replaces."""

from contextlib import contextmanager

from django.conf import settings
from django.db import connections, router
from django.db.transaction import TransactionManagementError


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


# ---- statements compiled once ------------------------------------------------------------------------

# (alias, key) → what the compiler made of the statement the first time: its SQL, the select list the
# ORM builds instances from, and the value converters for those columns. Never changed once complete,
# so threads share it (a thread that finds no converters yet computes its own).
_compiled: dict[tuple[str, str], dict] = {}

# What the ORM reads off a compiler after as_sql to build instances (ModelIterable, results_iter).
_KEPT = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")


def compiled_once(queryset, key: str, params: list | tuple) -> list:
    """`list(queryset)`, compiling its SQL once per process: later calls send the stored SQL with
    `params`. Compiling a locked read of a custody with its five references, and finding the
    converters of its ~150 columns, costs ~1.5 ms of CPU on every write, against ~0.1 ms to run it
    (docs/performance.md, issue 14).

    For a statement whose shape never changes under `key` (same filters, joins, columns, ordering;
    only the values differ). `params` are the values as the database takes them, in the statement's
    order (`db_value`); the first compilation checks them against the ORM's own, so a wrong order fails
    there, in a test, instead of reading another row."""
    alias = queryset.db
    query = queryset.query
    stored = _compiled.get((alias, key))
    make_compiler = query.get_compiler

    def get_compiler(using=None, connection=None, elide_empty=True):
        compiler = make_compiler(using, connection, elide_empty)
        if stored is None:
            as_sql, get_converters = compiler.as_sql, compiler.get_converters
            entry: dict = {}

            def first_as_sql(*args, **kwargs):
                sql, compiled_params = as_sql(*args, **kwargs)
                if list(compiled_params) != list(params):
                    raise ValueError(f"compiled_once({key!r}): the parameters are {compiled_params!r}")
                entry.update(sql=sql, converters=None, **{name: getattr(compiler, name) for name in _KEPT})
                _compiled[(alias, key)] = entry
                return sql, compiled_params

            def first_converters(expressions):
                entry["converters"] = get_converters(expressions)
                return entry["converters"]

            compiler.as_sql, compiler.get_converters = first_as_sql, first_converters
        else:
            if query.select_for_update and not compiler.connection.in_atomic_block:
                raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
            for name in _KEPT:
                setattr(compiler, name, stored[name])
            compiler.as_sql = lambda *args, **kwargs: (stored["sql"], tuple(params))
            if stored["converters"] is not None:
                compiler.get_converters = lambda expressions: stored["converters"]
        return compiler

    query.get_compiler = get_compiler
    try:
        return list(queryset)
    finally:
        del query.get_compiler  # a clone of this queryset (which copies the query's __dict__) compiles anew


def db_value(queryset, field: str, value):
    """`value` as a parameter of `queryset`'s statement for its model's `field` (a UUID is hex text on
    SQLite); raises ValidationError for a value the field cannot hold, as a filter would."""
    meta = queryset.model._meta
    target = meta.pk if field == "pk" else meta.get_field(field)
    return target.get_db_prep_value(value, connections[queryset.db])


def by_key(queryset, pk, key: str, *, prepare: bool = False):
    """The row of `queryset` whose primary key is `pk`, or None (a malformed key finds nothing): one
    statement per `key` whatever the value, compiled once (compiled_once) and, with `prepare`, planned
    once per connection on PostgreSQL (prepared). A branch scope is the caller's, checked on the row."""
    from django.core.exceptions import ValidationError

    try:
        value = db_value(queryset, "pk", pk)
        queryset = queryset.filter(pk=pk)
    except (ValidationError, ValueError, TypeError):
        return None
    with prepared(using=queryset.db, enabled=prepare):
        rows = compiled_once(queryset, key, [value])
    return rows[0] if rows else None

"""PostgreSQL: `timestamptz` values decoded by psycopg's C loader, not Django's Python one (issue 14).

Django (5.2, psycopg 3) registers its own `timestamptz` loader on every connection: a subclass of
psycopg's *pure-Python* `TimestamptzLoader` (a regular expression, then `datetime(...)`, then
`.replace(tzinfo=...)`) — psycopg's C loader is never used. A custody list row has 8–16
`timestamptz` columns, a page of 50 rows 400–800 values; in Python each costs several µs
(docs/performance.md, "Second pass": ~2.5 ms of the list API's 10 ms CPU).

psycopg's C loader parses the same text and returns the same aware datetime in the session's time
zone. Django sets the session's time zone to UTC (`USE_TZ = True` and no per-database `TIME_ZONE`),
and psycopg maps the session's "UTC" to `datetime.timezone.utc` — the very tzinfo Django's loader
puts on its values. So on such connections the C loader is registered instead; the `timezone`
class attribute is what Django's `create_cursor()` compares before it would register its own loader
on a cursor (it reads `loader.timezone`). Any other configuration keeps Django's loader.

Installed by `core.apps.CoreConfig.ready()` for every new connection (`connection_created`).
"""

from datetime import UTC

TIMESTAMPTZ = "timestamptz"


def c_timestamptz_loader():
    """A loader "class" for `AdaptersMap.register_loader` that makes psycopg's C `timestamptz` loader,
    or None without psycopg's C implementation (psycopg[c] or psycopg[binary])."""
    try:
        from psycopg._cmodule import _psycopg
    except ImportError:
        return None
    c_loader = getattr(_psycopg, "TimestamptzLoader", None) if _psycopg is not None else None
    if c_loader is None:
        return None

    class UtcTimestamptzLoader:
        """Makes psycopg's C loader. The C type cannot be subclassed (a final extension type), and
        psycopg's transformer decodes with the C fast path only for an instance of it, so this
        class only builds one: psycopg instantiates a loader as `cls(oid, context)`."""

        # Django's create_cursor() reads this to decide whether to register its own loader.
        timezone = UTC
        format = c_loader.format

        def __new__(cls, oid, context=None):
            return c_loader(oid, context)

    return UtcTimestamptzLoader


_LOADER = None


def use_c_timestamptz_loader(sender=None, connection=None, **kwargs) -> bool:
    """`connection_created` receiver: register the C loader on a PostgreSQL connection in UTC."""
    global _LOADER
    if connection is None or connection.vendor != "postgresql":
        return False
    # Django's loader puts connection.timezone on every value; the C loader gives the session's time
    # zone, which Django sets to UTC exactly when connection.timezone is UTC.
    if connection.timezone is not UTC or connection.timezone_name != "UTC":
        return False
    raw = connection.connection
    if not hasattr(raw, "adapters"):  # psycopg2
        return False
    if _LOADER is None:
        _LOADER = c_timestamptz_loader() or False
    if not _LOADER:
        return False
    raw.adapters.register_loader(TIMESTAMPTZ, _LOADER)
    return True

"""Sliding session expiry without a session write on every page (docs/performance.md, issue 14).

`SESSION_SAVE_EVERY_REQUEST` kept idle sessions ending `SESSION_COOKIE_AGE` after the last request by
writing the session row (and resending the cookie) on every page: a transaction and ~1.5 ms of CPU
per request. Here a request writes it only when the session was last written more than
`CUSTODY_SESSION_REFRESH_SECONDS` ago (or when something changed it anyway): an idle session still
ends between `SESSION_COOKIE_AGE - CUSTODY_SESSION_REFRESH_SECONDS` and `SESSION_COOKIE_AGE` after
the user's last request, and the cookie's expiry moves with the row's.

How old the session is comes from the row itself: `SessionStore` (the database engine) remembers the
`expire_date` it loaded, so no extra query and nothing added to the session. A request that never
looks at the session (no `request.session` access: public pages, health checks, or a view that
removes it, like the notification badge) does not count as activity, as before.
"""

from django.conf import settings
from django.contrib.sessions.backends import db
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils import timezone

from core import rawsql


class SessionStore(db.SessionStore):
    """The database session engine, remembering the expiry of the row it loaded (`loaded_expiry`).

    Every page loads its session: the row is read with one hand-written SELECT of the two columns the
    store uses (the ORM's `.get()` built and compiled the same query each time: ~0.3 ms of CPU against
    ~0.03 ms), then decoded as Django's engine decodes it."""

    loaded_expiry = None

    def load(self):
        row = self._read_row()
        if row is None:
            self.loaded_expiry = None
            return {}
        data, self.loaded_expiry = row
        return self.decode(data)

    def _read_row(self):
        """(session_data, expire_date) of this key's unexpired row, or None (and no key any more)."""
        key = self.session_key
        if key is None:
            return None
        model = self.model
        connection = rawsql.read_connection(model)
        table, data_col, key_col, expire_col = rawsql.names(
            connection, model, "session_data", "session_key", "expire_date"
        )
        sql = f"SELECT {data_col}, {expire_col} FROM {table} WHERE {key_col} = %s AND {expire_col} > %s"  # noqa: S608
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = rawsql.fetch(connection, sql, [key, now])
        row = rows[0] if rows else None
        if row is None:
            self._session_key = None
            return None
        data, expires = row
        expires = model._meta.get_field("expire_date").to_python(
            expires
        )  # SQLite: text; PostgreSQL: already a datetime
        if timezone.is_naive(expires):  # stored naive in the connection's time zone, as Django reads it
            expires = timezone.make_aware(expires, connection.timezone)
        return data, expires

    async def _aget_session_from_db(self):
        found = await super()._aget_session_from_db()
        self.loaded_expiry = found.expire_date if found is not None else None
        return found


def refresh_due(session, now=None) -> bool:
    """Should this request write the (unchanged) session to push its expiry back?"""
    if session.is_empty():
        return False
    loaded = getattr(session, "loaded_expiry", None)
    if loaded is None:  # a session this request did not load from the database: write it, as before
        return True
    now = now or timezone.now()
    # What a write now would set, minus what the last write set: the time since the last write.
    written_ago = (session.get_expiry_date(modification=now) - loaded).total_seconds()
    return written_ago >= settings.CUSTODY_SESSION_REFRESH_SECONDS


class SlidingSessionMiddleware(SessionMiddleware):
    """Django's session middleware; an accessed, unchanged session is written only when `refresh_due`."""

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.modified and refresh_due(session):
            session.modified = True  # Django's middleware then saves it and resends the cookie
        return super().process_response(request, response)

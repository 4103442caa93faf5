"""Writing, linking and verifying the audit chain.

Writers INSERT their entry in their own transaction and take no lock, so writers on different
records never wait for each other. After commit (and from the worker, and before any verification)
`link_pending` appends the committed, not yet linked entries to the one chain under a short lock of
its own: each gets the next `chain_seq`, the previous entry's hash and a SHA-256 over every stored
field. `verify_chain` walks the whole chain in `chain_seq` order.

Where the linking after commit runs: in the committing thread (the default: commands, the worker,
tests), or, with CUSTODY_AUDIT_LINK_IN_BACKGROUND (`custody serve` turns it on for its workers), in
one thread per server process that a commit wakes: a request then ends at its commit, and the
entries of the writes that commit meanwhile are linked together, in one transaction instead of one
each (4-5 statements a write). Either way an entry is linked moments after its commit, at the latest
by the worker's minute job, and always before a verification.
"""

import functools
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models import Model
from django.utils import translation
from django.utils.functional import Promise

from core import rawsql

from . import context
from .models import AuditEntry

logger = logging.getLogger(__name__)

_LINK_LOCK_KEY = 42_000_001  # PostgreSQL advisory lock id: one linker at a time (never held by writers)
LINK_BATCH = 2000
CURRENT_HASH_VERSION = 2


# Values that are their own JSON form: most of what a snapshot holds, so they skip the isinstance
# chain below (snapshots, diffs, entries and event payloads convert every audited field).
_PLAIN = frozenset({str, int, bool, float, type(None)})


def _jsonable(value):
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def _digest_v1(entry) -> str:
    """Hash format 1 (entries written before the rework): part of the fields, chained at insert."""
    payload = json.dumps(
        {
            "prev": entry.prev_hash,
            "at": entry.at.isoformat(),
            "actor": entry.actor_email,
            "source": entry.source,
            "action": entry.action,
            "type": entry.object_type,
            "id": entry.object_id,
            "changes": entry.changes,
            "message": entry.message,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields whose value changed."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = _jsonable(before.get(key)), _jsonable(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def snapshot(obj: Model, fields: list[str] | None = None) -> dict:
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {name: _jsonable(getattr(obj, name)) for name in names}


# An entry's note is stored in English and shown in the reader's language (audit.present.message_text):
# a fixed note is a gettext_lazy string; a note with values is (template, values), its template
# registered here at import so a reader's process can find it again.
MESSAGE_TEMPLATES: list[Promise] = []


def message_template(template: Promise) -> Promise:
    """Register a gettext_lazy note with %(name)s values; returns it for `record(message=(it, values))`."""
    MESSAGE_TEMPLATES.append(template)
    return template


def _english(message) -> str:
    if isinstance(message, tuple):
        template, values = message
        with translation.override("en"):
            return str(template) % values
    if isinstance(message, Promise):
        with translation.override("en"):
            return str(message)
    return message


def entry(
    action: str,
    obj: Model | None = None,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    changes: dict | None = None,
    message: str | Promise | tuple[Promise, dict] = "",
    custody_id=None,
) -> AuditEntry:
    """An unsaved entry by whoever is acting now: `record` writes one, `record_many` several at once."""
    actor = context.current()
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry(
        actor=user,
        actor_email=getattr(user, "email", "") or "",
        source=actor.source,
        ip=actor.ip,
        request_id=actor.request_id,
        action=action,
        object_type=object_type or (obj._meta.model_name if obj is not None else ""),
        object_id=str(object_id if object_id is not None else getattr(obj, "pk", "")),
        object_repr=str(obj)[:200] if obj is not None else "",
        custody_id=custody_id,
        changes=_jsonable(changes or {}),
        message=_english(message),
        hash_version=CURRENT_HASH_VERSION,
    )


def record(action: str, obj: Model | None = None, **fields) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits or rolls back with the change);
    `fields` are `entry`'s keywords."""
    new = entry(action, obj, **fields)
    new.save(force_insert=True)
    _link_after_commit()
    return new


def record_many(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Append several entries (made by `entry`) with one INSERT, in the caller's transaction and in
    their list order (the chain links them by id)."""
    if entries:
        AuditEntry.objects.bulk_create(entries)
        _link_after_commit()
    return entries


def _link_after_commit() -> None:
    """Link the new entries once the transaction commits: one `link_pending` (or one wake of the
    background linker) per transaction — it links every committed entry — not one per entry: each
    further call found nothing left and cost four statements. Django drops the callback with the
    savepoint it was registered in when that rolls back; an entry written after that registers it again."""
    after_commit = _background.wake if settings.CUSTODY_AUDIT_LINK_IN_BACKGROUND else link_pending
    if connection.in_atomic_block and any(
        callback[1] is after_commit for callback in connection.run_on_commit
    ):
        return
    transaction.on_commit(after_commit, robust=True)


class _BackgroundLinker:
    """One thread per process that links what the commits since its last round committed. Started by
    the first wake in the process (after gunicorn forked it), and again in a forked child."""

    GATHER_SECONDS = 0.02  # the writes committing at the same moment join the same round
    IDLE_SECONDS = 1.0  # no commit for this long: the thread closes its database connection

    def __init__(self):
        self._wanted = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def wake(self) -> None:
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                    self._wanted = threading.Event()
                    self._thread = threading.Thread(target=self._run, name="audit-linker", daemon=True)
                    self._pid = os.getpid()
                    self._thread.start()
        self._wanted.set()

    def _run(self) -> None:
        wanted = self._wanted
        while True:
            if not wanted.wait(self.IDLE_SECONDS):
                connection.close()
                continue
            time.sleep(self.GATHER_SECONDS)
            wanted.clear()  # a commit from now on asks for another round
            try:
                close_old_connections()  # this thread's own connection: replaced when broken or old
                link_pending()
            except Exception:  # the worker's minute job links whatever this round left
                logger.exception("audit linking failed in the background; the worker links these entries")


_background = _BackgroundLinker()


# ---- the chain ---------------------------------------------------------------------------------------

_V2_FIELDS = [
    "id",
    "at",
    "actor_id",
    "actor_email",
    "source",
    "ip",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "custody_id",
    "changes",
    "message",
    "hash_version",
]


def _digest_v2(row: dict, chain_seq: int, prev_hash: str) -> str:
    """Hash format 2: every stored field, the entry's place in the chain and the previous hash."""
    payload = {name: _jsonable(row[name]) for name in _V2_FIELDS}
    payload["at"] = row["at"].isoformat()
    payload["chain_seq"] = chain_seq
    payload["prev_hash"] = prev_hash
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _head() -> tuple[int, str]:
    last = (
        AuditEntry.objects.filter(chain_seq__isnull=False)
        .order_by("-chain_seq")
        .values_list("chain_seq", "entry_hash")
        .first()
    )
    return (last[0], last[1] or "") if last else (0, "")


# The reads of every link (after every write's commit) as one hand-written statement (core.rawsql):
# building the two querysets cost more CPU than running them. test_chain compares it with them.


@functools.cache
def _link_sql(alias: str) -> str:
    """The pending entries, oldest first, each row ending with the chain's head (its chain_seq and
    entry_hash: uncorrelated subqueries, read once), for the connection `alias`."""
    connection = connections[alias]
    table, *columns = rawsql.names(connection, AuditEntry, *_V2_FIELDS)
    entry_hash, chain_seq, pk = rawsql.names(connection, AuditEntry, "entry_hash", "chain_seq", "id")[1:]
    head = f"FROM {table} WHERE {chain_seq} IS NOT NULL ORDER BY {chain_seq} DESC LIMIT 1"
    return (
        f"SELECT {', '.join(columns)}, (SELECT {chain_seq} {head}), (SELECT {entry_hash} {head}) "  # noqa: S608
        f"FROM {table} WHERE {entry_hash} IS NULL ORDER BY {pk} LIMIT {LINK_BATCH}"
    )


def _pending(connection) -> tuple[list[dict], tuple[int, str]]:
    """The entries not yet linked, as `.values(*_V2_FIELDS)` gives them, and the chain's head as
    `_head()` gives it ((0, "") for an empty chain; only read with pending entries). The values go
    through the converters the ORM applies (the backend's and the fields'), so the hashes are the
    ones verify_chain computes."""
    converters = []
    for index, name in enumerate(_V2_FIELDS):
        field = AuditEntry._meta.get_field(name)
        column = field.get_col(AuditEntry._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, functions, column))
    rows, head = [], (0, "")
    for raw in rawsql.fetch(connection, _link_sql(connection.alias), []):
        values = list(raw[: len(_V2_FIELDS)])
        for index, functions, column in converters:
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        rows.append(dict(zip(_V2_FIELDS, values, strict=True)))
        head = (raw[-2] or 0, raw[-1] or "")
    return rows, head


def _link_batch(wait: bool) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if wait:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LINK_LOCK_KEY])
                else:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LINK_LOCK_KEY])
                    if not cursor.fetchone()[0]:
                        return 0  # another linker is at work; it or the next one picks these up
        rows, (seq, prev) = _pending(connection)
        if not rows:
            return 0
        updates = []
        for row in rows:
            seq += 1
            digest = _digest_v2(row, seq, prev)
            updates.append((seq, prev, digest, row["id"]))
            prev = digest
        _write_links(connection, updates)
        return len(updates)


def _write_links(connection, updates: list[tuple]) -> None:
    """The one UPDATE audit rows ever see (the PostgreSQL trigger, row by row, allows exactly this:
    setting a pending entry's link): one statement for the batch, its links as a VALUES list."""
    table, seq, prev, digest, pk = rawsql.names(
        connection, AuditEntry, "chain_seq", "prev_hash", "entry_hash", "id"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 33):  # no UPDATE ... FROM
            cursor.executemany(
                f"UPDATE {table} SET {seq} = %s, {prev} = %s, {digest} = %s WHERE {pk} = %s AND {digest} IS NULL",  # noqa: S608
                updates,
            )
            return
        rows = ", ".join(["(%s, %s, %s, %s)"] * len(updates))
        cursor.execute(
            f"WITH v (seq, prev, digest, pk) AS (VALUES {rows}) "  # noqa: S608 - identifiers from the model
            f"UPDATE {table} SET {seq} = v.seq, {prev} = v.prev, {digest} = v.digest "
            f"FROM v WHERE {table}.{pk} = v.pk AND {table}.{digest} IS NULL",
            [value for update in updates for value in update],
        )


def link_pending(wait: bool = False) -> int:
    """Link every committed entry not yet in the chain; returns how many were linked.

    wait=False (after each commit): skip when another linker holds the lock. wait=True (the worker,
    verification): wait for it, so nothing visible stays unlinked."""
    linked = 0
    while True:
        try:
            count = _link_batch(wait)
        except (IntegrityError, DatabaseError) as exc:  # SQLite: a concurrent linker won the race
            if wait:
                raise
            logger.info("audit linking deferred: %s", exc)
            return linked
        linked += count
        if count < LINK_BATCH:
            return linked


def verify_chain() -> list[int]:
    """Ids of entries whose hash or link does not match (empty list = intact): the whole history,
    old-format entries included. Links pending entries first."""
    link_pending(wait=True)
    broken: list[int] = []
    prev = ""
    qs = AuditEntry.objects.filter(chain_seq__isnull=False).order_by("chain_seq")
    for row in qs.values(*_V2_FIELDS, "chain_seq", "prev_hash", "entry_hash").iterator(chunk_size=2000):
        if row["hash_version"] == 1:
            expected = _digest_v1(_V1Row(row))
        else:
            expected = _digest_v2(row, row["chain_seq"], row["prev_hash"])
        if row["prev_hash"] != prev or expected != row["entry_hash"]:
            broken.append(row["id"])
        prev = row["entry_hash"]
    return broken


class _V1Row:
    def __init__(self, row: dict):
        self.__dict__.update(row)

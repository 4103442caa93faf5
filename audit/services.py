"""Writing and verifying the audit chain."""

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Model

from . import context
from .models import AuditEntry

_CHAIN_LOCK_KEY = 42_000_001  # PostgreSQL advisory lock id serializing chain appends


def _jsonable(value):
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


def _digest(entry: AuditEntry) -> str:
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
    return {
        key: [_jsonable(before.get(key)), _jsonable(after.get(key))]
        for key in sorted(set(before) | set(after))
        if _jsonable(before.get(key)) != _jsonable(after.get(key))
    }


def snapshot(obj: Model, fields: list[str] | None = None) -> dict:
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {name: _jsonable(getattr(obj, name)) for name in names}


def record(
    action: str,
    obj: Model | None = None,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    changes: dict | None = None,
    message: str = "",
    custody_id=None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits or rolls back with the change)."""
    actor = context.current()
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        entry = AuditEntry(
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
            message=message,
            prev_hash=last or "",
        )
        entry.entry_hash = _digest(entry)
        entry.save()
    return entry


def verify_chain() -> list[int]:
    """Ids of entries whose hash or link does not match (empty list = intact)."""
    broken: list[int] = []
    prev = ""
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != prev or _digest(entry) != entry.entry_hash:
            broken.append(entry.id)
        prev = entry.entry_hash
    return broken

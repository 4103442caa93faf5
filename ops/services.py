"""Operating switches: maintenance mode and "new custodies off" (DESIGN §14, §15.2).

`core.switches` is where every layer asks; this module stores the switches and changes them.
"""

from django.apps import apps
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from accounts import permissions
from audit import services as audit
from audit.context import acting_as
from core import rawsql, switches
from core.errors import Conflict, ValidationFailed
from core.switches import SwitchState

from .models import SystemSettings

MESSAGE_MAX = 500


def read_state() -> SwitchState:
    """The switches as stored now. Every page reads them (the layout's banners) and every write
    (maintenance): one hand-written SELECT, ~0.02 ms of CPU where the ORM's `.values().first()` built
    and compiled it each time (~0.3 ms; docs/performance.md, issue 14)."""
    connection = rawsql.read_connection(SystemSettings)
    table, maintenance, new_custodies, message, pk = rawsql.names(
        connection, SystemSettings, "maintenance_mode", "new_custodies_enabled", "message", "id"
    )
    sql = f"SELECT {maintenance}, {new_custodies}, {message} FROM {table} WHERE {pk} = %s"  # noqa: S608 - identifiers from the model
    rows = rawsql.fetch(connection, sql, [1])
    row = rows[0] if rows else None
    if row is None:
        return SwitchState()
    # SQLite answers booleans as 0/1.
    return SwitchState(maintenance_mode=bool(row[0]), new_custodies_enabled=bool(row[1]), message=row[2])


@transaction.atomic
def set_switches(
    user,
    *,
    maintenance_mode: bool | None = None,
    new_custodies_enabled: bool | None = None,
    message: str | None = None,
) -> SystemSettings:
    """Flip the switches; audited, and every active user is told. `user=None` is the CLI (system)."""
    if user is not None:
        permissions.require(user, "settings.manage")
    if message is not None:
        message = message.strip()
        if len(message) > MESSAGE_MAX:
            raise ValidationFailed(
                gettext_lazy("The message is too long."),
                {"message": [format_lazy(gettext_lazy("At most {n} characters."), n=MESSAGE_MAX)]},
            )
    SystemSettings.objects.get_or_create(pk=1)
    row = SystemSettings.objects.select_for_update().get(pk=1)
    wanted = {
        "maintenance_mode": maintenance_mode,
        "new_custodies_enabled": new_custodies_enabled,
        "message": message,
    }
    changes = {
        field: [getattr(row, field), value]
        for field, value in wanted.items()
        if value is not None and getattr(row, field) != value
    }
    if not changes:
        return row
    for field, (_old, new) in changes.items():
        setattr(row, field, new)
    row.save(update_fields=[*changes, "updated_at"])
    switches.forget()  # the rest of this request sees the new switches
    audit.record("system.switches_changed", row, object_type="system_settings", changes=changes)
    _tell_everyone(row, changes)
    if changes.get("maintenance_mode") == [True, False]:
        # Held deliveries go out now rather than at the next scheduled retry.
        from .tasks import release_held_outbound

        transaction.on_commit(lambda: release_held_outbound.enqueue())
    return row


def _tell_everyone(row: SystemSettings, changes: dict) -> None:
    if not apps.is_installed("notifications"):
        return
    from accounts.models import User
    from notifications.services import notify_users

    notes = []
    if "maintenance_mode" in changes:
        notes.append(
            gettext_lazy("Maintenance mode is on: the system is read-only for now.")
            if row.maintenance_mode
            else gettext_lazy("Maintenance is over: you can work as usual.")
        )
    if "new_custodies_enabled" in changes:
        notes.append(
            gettext_lazy("New custodies can be opened again.")
            if row.new_custodies_enabled
            else gettext_lazy("Opening new custodies is switched off; running custodies continue.")
        )
    if not notes:  # only the message changed
        notes.append(gettext_lazy("The administrators updated the system notice."))
    stamp = row.updated_at.strftime("%Y%m%d%H%M%S%f")
    for note in notes:
        notify_users(
            User.objects.filter(is_active=True),
            "system_status",
            note,
            row.message,
            url="/",
            dedupe_key=f"system:{stamp}:{str(note)[:40]}",
        )


# ---- the import wizard (admin page): upload → mapping → dry run → import, run by the worker ------------

IMPORT_MAX_BYTES = 25 * 1024 * 1024


def create_import_run(user, kind: str, file_name: str, content: bytes):
    """Store an uploaded CSV for the wizard; the columns are mapped by name where they match."""
    from . import importer
    from .models import ImportRun

    permissions.require(user, "settings.manage")
    if kind not in importer.KINDS:
        raise ValidationFailed(gettext("Choose what the file holds."), {"kind": [gettext("Unknown kind.")]})
    if not content:
        raise ValidationFailed(gettext("The file is empty."), {"file": [gettext("The file is empty.")]})
    if len(content) > IMPORT_MAX_BYTES:
        raise ValidationFailed(
            gettext("The file is too large."),
            {"file": [gettext("At most %(n)s MB; split the file.") % {"n": IMPORT_MAX_BYTES // 2**20}]},
        )
    try:
        header, _rows = importer.read_rows(content)
    except importer.ImportFailed as exc:
        raise ValidationFailed(gettext("The file cannot be read."), {"file": exc.errors}) from exc
    known = {c.name for c in importer.columns(kind)}
    mapping = {name: _guess_column(name, known) for name in header}
    run = ImportRun.objects.create(
        kind=kind, file_name=file_name[:200], content=content, mapping=mapping, created_by=user
    )
    audit.record(
        "import.uploaded",
        run,
        object_type="import_run",
        changes={"kind": [None, kind], "file": [None, run.file_name]},
    )
    return run


def _guess_column(name: str, known: set[str]) -> str:
    """ "Plate No" → plate? Exact names first, then case/space/dash-insensitive ones; else left unmapped."""
    if name in known:
        return name
    simple = name.strip().lower().replace(" ", "_").replace("-", "_")
    return simple if simple in known else ""


@transaction.atomic
def set_import_mapping(user, run, mapping: dict):
    """The admin's column mapping: each file column to one import column, or left out ("")."""
    from . import importer
    from .models import ImportRun

    permissions.require(user, "settings.manage")
    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    if run.running:
        raise Conflict(gettext("The file is being processed; wait for it to finish."), {})
    known = {c.name for c in importer.columns(run.kind)}
    errors: dict[str, list] = {}
    chosen: dict[str, str] = {}
    cleaned = {}
    for column in run.mapping:
        target = str(mapping.get(column, "") or "")
        if target and target not in known:
            errors.setdefault(column, []).append(gettext("Unknown import column."))
        elif target and target in chosen:
            errors.setdefault(column, []).append(
                gettext("%(target)s is already the column %(other)s.")
                % {"target": target, "other": chosen[target]}
            )
        elif target:
            chosen[target] = column
        cleaned[column] = target
    if errors:
        raise ValidationFailed(gettext("The mapping is not valid."), errors)
    before = run.mapping
    run.mapping = cleaned
    if run.status in (ImportRun.Status.CHECKED, ImportRun.Status.FAILED) and before != cleaned:
        run.status = ImportRun.Status.UPLOADED  # a changed mapping needs a new dry run
    run.save(update_fields=["mapping", "status"])
    if before != cleaned:
        audit.record("import.mapped", run, object_type="import_run", changes={"mapping": [before, cleaned]})
    return run


@transaction.atomic
def queue_import(user, run, *, dry_run: bool):
    """Hand the dry run (or, after a clean dry run with this mapping, the import) to the worker."""
    from .models import ImportRun
    from .tasks import run_import_job

    permissions.require(user, "settings.manage")
    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    if run.running:
        raise Conflict(gettext("The file is being processed; wait for it to finish."), {})
    if run.status == ImportRun.Status.DONE:
        raise Conflict(gettext("This file is imported already; upload it again to re-run it."), {})
    if not dry_run and not (run.status == ImportRun.Status.CHECKED and run.rejected == 0 and run.dry_run):
        raise Conflict(gettext("Run the dry run first; the import starts when it finds no errors."), {})
    run.status = ImportRun.Status.CHECKING if dry_run else ImportRun.Status.IMPORTING
    run.dry_run = dry_run
    run.phase, run.processed, run.total = "queued", 0, 0
    run.created = run.skipped = run.rejected = 0
    run.errors, run.started_at, run.finished_at = [], None, None
    run.save()
    audit.record("import.dry_run_queued" if dry_run else "import.queued", run, object_type="import_run")
    # The task row is written in this transaction (database queue): it exists exactly when the change does.
    run_import_job.enqueue(str(run.pk))
    return run


def execute_import_run(run_id) -> dict:
    """The worker's part: run the importer on the stored file with the mapping, keep the progress and the
    outcome on the run. The importer itself is all or nothing and audits what it creates (source import)."""
    from django.utils import timezone

    from . import importer
    from .models import ImportRun

    run = ImportRun.objects.select_related("created_by").get(pk=run_id)
    if not run.running:
        return {"skipped": "not queued"}
    ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now(), phase="checking")

    def progress(phase, done, total):
        ImportRun.objects.filter(pk=run.pk).update(phase=phase, processed=done, total=total)

    try:
        result = importer.run_import(
            run.kind,
            bytes(run.content),
            dry_run=run.dry_run,
            user=run.created_by,
            mapping=run.mapping,
            progress=progress,
        )
    except importer.ImportFailed as exc:
        rejected = len({importer.row_number(line) for line in exc.errors})
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.CHECKED if run.dry_run else ImportRun.Status.FAILED,
            phase="done",
            rejected=rejected,
            errors=exc.errors[:5000],
            finished_at=timezone.now(),
        )
        return {"rejected": rejected}
    except Exception as exc:
        # Nothing was written (the importer's transaction rolled back); the page must not wait forever.
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED,
            phase="done",
            errors=[f"row ?: (import): {exc.__class__.__name__}: {exc}"[:500]],
            finished_at=timezone.now(),
        )
        raise
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.CHECKED if run.dry_run else ImportRun.Status.DONE,
        phase="done",
        processed=result.rows,
        total=result.rows,
        created=result.created,
        skipped=result.skipped,
        rejected=0,
        errors=[],
        finished_at=timezone.now(),
    )
    if not run.dry_run:
        with acting_as(run.created_by, source="import"):
            audit.record(
                "import.done",
                run,
                object_type="import_run",
                changes={"created": [None, result.created], "skipped": [None, result.skipped]},
            )
    return {"created": result.created, "skipped": result.skipped}

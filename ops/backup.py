"""Backup and restore of the database and the stored files (DESIGN §14, §15.2).

A backup directory holds `database.sqlite3` (SQLite's online backup API: a consistent copy while the
app runs) or `database.dump` (`pg_dump` custom format, one snapshot), the files of every FileField
under `files/`, and `manifest.json` with each file's size and SHA-256. Restore checks every checksum
before it changes anything, and only replaces an empty instance unless forced.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db import connection, models

FORMAT = "custody-backup/1"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Refused or failed; the message says why (one line per problem)."""


@dataclass(frozen=True)
class Entry:
    path: str  # inside the backup directory
    size: int
    sha256: str
    storage_name: str = ""  # for stored files: the name in the app's storage


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _file_fields():
    """(model, field) for every FileField of the installed apps: documents today, more later."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                yield model, field


def stored_files() -> list[tuple[str, object]]:
    """(name, storage) of every file a row points at, each once."""
    seen: dict[str, object] = {}
    for model, field in _file_fields():
        names = model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
        for name in names.iterator(chunk_size=2000):
            if name:
                seen.setdefault(name, field.storage)
    return sorted(seen.items())


def row_counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        counts[model._meta.label_lower] = model._default_manager.count()
    return dict(sorted(counts.items()))


def _pg_env() -> dict[str, str]:
    conf = connection.settings_dict
    env = {**os.environ}
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    return env


def _pg_args() -> list[str]:
    conf = connection.settings_dict
    args = []
    if conf.get("HOST"):
        args += ["-h", str(conf["HOST"])]
    if conf.get("PORT"):
        args += ["-p", str(conf["PORT"])]
    if conf.get("USER"):
        args += ["-U", str(conf["USER"])]
    return args


def _run(command: list[str]) -> None:
    result = subprocess.run(command, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:2000]}")


# ---- backup ----------------------------------------------------------------------------------------


def _dump_database(target: Path) -> Path:
    if connection.vendor == "sqlite":
        path = target / "database.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        return path
    if connection.vendor == "postgresql":
        path = target / "database.dump"
        name = str(connection.settings_dict["NAME"])
        _run(["pg_dump", "-Fc", "--no-owner", "--no-acl", *_pg_args(), "-f", str(path), name])
        return path
    raise BackupError(f"Backups of {connection.vendor} databases are not supported.")


def take_backup(directory: str | Path) -> dict:
    """Write a backup into `directory` (new or empty). Returns the manifest."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new directory.")
    target.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    database = _dump_database(target)
    # Files after the database: a file written meanwhile is extra, never missing (rows are never
    # pointed at a file before it is stored).
    entries = [Entry(database.name, *_hash_file(database))]
    missing = []
    for name, storage in stored_files():
        destination = target / "files" / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            with storage.open(name, "rb") as source, destination.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            destination.unlink(missing_ok=True)
            missing.append(name)
            continue
        entries.append(Entry(f"files/{name}", size, digest.hexdigest(), storage_name=name))
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "database": {"vendor": connection.vendor, "file": database.name},
        "counts": row_counts(),
        "missing_files": missing,
        "files": [
            {
                "path": e.path,
                "size": e.size,
                "sha256": e.sha256,
                **({"name": e.storage_name} if e.storage_name else {}),
            }
            for e in entries
        ],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


# ---- restore ---------------------------------------------------------------------------------------


def read_manifest(directory: str | Path) -> dict:
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"No {MANIFEST} in {directory}: not a Custody backup.") from exc
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON.") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r} (expected {FORMAT}).")
    return manifest


def check_backup(directory: str | Path) -> list[str]:
    """Every file of the manifest present with its size and SHA-256; one line per problem."""
    root = Path(directory).resolve()
    manifest = read_manifest(root)
    problems = []
    for item in manifest.get("files", []):
        path = (root / item["path"]).resolve()
        if root not in path.parents:
            problems.append(f"{item['path']}: outside the backup directory")
            continue
        if not path.is_file():
            problems.append(f"{item['path']}: missing")
            continue
        size, sha256 = _hash_file(path)
        if size != item["size"]:
            problems.append(f"{item['path']}: size {size}, manifest says {item['size']}")
        elif sha256 != item["sha256"]:
            problems.append(f"{item['path']}: SHA-256 does not match the manifest")
    return problems


def instance_is_empty() -> bool:
    """No users and no custodies: a fresh, migrated instance (reference data seeded by migrations is fine)."""
    from accounts.models import User
    from custodies.models import Custody

    try:
        return not User.objects.exists() and not Custody.objects.exists()
    except Exception:  # noqa: BLE001 - tables missing: not migrated yet, nothing to lose
        return True


def _restore_database(root: Path, manifest: dict) -> None:
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(f"The backup is of a {vendor} database; this instance uses {connection.vendor}.")
    source = root / manifest["database"]["file"]
    if vendor == "sqlite":
        connection.ensure_connection()
        backup = sqlite3.connect(source)
        try:
            backup.backup(connection.connection)
        finally:
            backup.close()
        return
    name = str(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        # Everything of the current schema goes, so a forced restore leaves nothing of the old data.
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()
    _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", *_pg_args(), "-d", name, str(source)])


def _restore_files(root: Path, manifest: dict) -> int:
    from django.core.files.storage import default_storage

    storages = dict(_storages_by_name(manifest))
    count = 0
    for item in manifest.get("files", []):
        name = item.get("name")
        if not name:
            continue
        storage = storages.get(name, default_storage)
        if storage.exists(name):
            storage.delete(name)
        with (root / item["path"]).open("rb") as handle:
            saved = storage.save(name, File(handle, name=os.path.basename(name)))
        if saved != name:
            raise BackupError(f"{name}: the storage saved it as {saved}")
        count += 1
    return count


def _storages_by_name(manifest: dict):
    """Files are restored into the storage of the field that points at them (after the database is back)."""
    wanted = {item["name"] for item in manifest.get("files", []) if item.get("name")}
    for name, storage in stored_files():
        if name in wanted:
            yield name, storage


def restore_backup(directory: str | Path, force: bool = False) -> dict:
    """Restore a backup made by `take_backup`. Returns a summary; raises BackupError when refused."""
    root = Path(directory).resolve()
    manifest = read_manifest(root)
    problems = check_backup(root)
    if problems:
        raise BackupError("The backup is damaged; nothing was changed:\n" + "\n".join(problems))
    if not force and not instance_is_empty():
        raise BackupError(
            "This instance has data (users or custodies); restore only into an empty instance, "
            "or pass --force to replace everything."
        )
    _restore_database(root, manifest)
    files = _restore_files(root, manifest)
    return {"database": manifest["database"], "files": files, "counts": manifest.get("counts", {})}


# ---- the backup directory of the admin page and the scheduled job -----------------------------------


def backup_root() -> Path:
    return Path(getattr(settings, "CUSTODY_BACKUP_DIR", "") or settings.VAR_DIR / "backups")


def list_backups(root: Path | None = None) -> list[dict]:
    root = root or backup_root()
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        try:
            manifest = read_manifest(child)
        except BackupError:
            continue
        files = manifest.get("files", [])
        found.append(
            {
                "name": child.name,
                "path": str(child),
                "created_at": datetime.fromisoformat(manifest["created_at"]),
                "vendor": manifest["database"]["vendor"],
                "size": sum(item["size"] for item in files),
                "files": len(files) - 1,
                "custodies": manifest.get("counts", {}).get("custodies.custody"),
                "missing_files": len(manifest.get("missing_files", [])),
            }
        )
    return sorted(found, key=lambda b: b["created_at"], reverse=True)


def scheduled_backup(now: datetime, keep: int | None = None) -> dict:
    """A backup into the backup directory, keeping the `keep` newest (CUSTODY_BACKUP_KEEP)."""
    keep = keep if keep is not None else int(getattr(settings, "CUSTODY_BACKUP_KEEP", 7))
    root = backup_root()
    root.mkdir(parents=True, exist_ok=True)
    name = now.astimezone(UTC).strftime("custody-%Y%m%d-%H%M%S")
    take_backup(root / name)
    removed = 0
    for old in list_backups(root)[keep:]:
        shutil.rmtree(old["path"], ignore_errors=True)
        removed += 1
    return {"backup": name, "removed": removed}

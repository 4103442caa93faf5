"""Reading the audit log, shared by the pages that show it (the global log in `accounts`, a custody's
history tab in `custodies`): filters and the CSV export."""

from core.exports import ExportColumn, export_response

CSV_COLUMNS = [
    "id",
    "at",
    "actor_email",
    "source",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "message",
    "entry_hash",
]


def filter_entries(qs, params):
    for name in ("action", "object_type", "source"):
        if params.get(name):
            qs = qs.filter(**{name: params[name]})
    if params.get("actor"):
        qs = qs.filter(actor_email__icontains=params["actor"])
    return qs


AUDIT_EXPORT = [
    ExportColumn(name, (lambda e, name=name: getattr(e, name)), "datetime" if name == "at" else "text")
    for name in CSV_COLUMNS
]


def csv_response(entries, filename: str):
    """Through core.exports: text is formula-neutralised and times are local (issue 13 item 1)."""
    return export_response(
        entries.iterator(chunk_size=2000), AUDIT_EXPORT, filename.removesuffix(".csv"), "csv"
    )

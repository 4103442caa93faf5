from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from accounts import permissions
from core.errors import ValidationFailed
from core.exports import ExportColumn, export_response
from core.pagination import paginate

from .models import AuditEntry

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


def csv_response(entries, filename: str):
    """Through core.exports: text is formula-neutralised and times are local (issue 13 item 1)."""
    columns = [
        ExportColumn(name, (lambda e, name=name: getattr(e, name)), "datetime" if name == "at" else "text")
        for name in CSV_COLUMNS
    ]
    return export_response(entries.iterator(chunk_size=2000), columns, filename.removesuffix(".csv"), "csv")


@login_required
def global_log(request):
    if not permissions.may(request.user, "audit.view_all"):
        raise PermissionDenied
    qs = filter_entries(AuditEntry.objects.all(), request.GET)
    if request.GET.get("format") == "csv":
        return csv_response(qs.order_by("id"), "audit.csv")
    try:
        page = paginate(
            qs,
            params=request.GET,
            path=request.path,
            allowed_orderings={"id"},
            default_ordering="-id",
            count=True,
        )
    except ValidationFailed:
        page = None
    return render(request, "audit/global.html", {"page": page})

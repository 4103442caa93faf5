import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import render

from accounts import permissions
from core.errors import ValidationFailed
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


class _Echo:
    def write(self, value):
        return value


def csv_response(entries, filename: str):
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow([getattr(e, c) for c in CSV_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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

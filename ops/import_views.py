"""The import wizard (issue #10 §3): upload → preview with the column mapping → dry run → import by the
worker with a progress bar → summary with the rejected rows as CSV. It drives the same importer as
`custody import` (ops.importer); the steps' state changes are ops.services functions."""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy

from accounts import permissions
from core.errors import DomainError
from core.exports import neutralise_formula

from . import importer, services
from .models import ImportRun

PREVIEW_ROWS = 10
KIND_LABELS = {
    "branches": gettext_lazy("Branches"),
    "vehicle-classes": gettext_lazy("Vehicle classes"),
    "customers": gettext_lazy("Customers"),
    "vehicles": gettext_lazy("Vehicles"),
    "agreements": gettext_lazy("Rental agreements"),
    "custodies": gettext_lazy("Historical custodies (closed or voided)"),
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("The file holds"), choices=list(KIND_LABELS.items()))
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, comma or semicolon separated, one header row. Import in this order: branches, vehicle "
            "classes, customers, vehicles, agreements, custodies. Samples are in docs/import/."
        ),
    )


def _require_admin(request) -> None:
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied


def _run(run_id) -> ImportRun:
    run = ImportRun.objects.filter(pk=run_id).select_related("created_by").first()
    if run is None:
        raise Http404
    return run


@login_required
def import_home(request):
    _require_admin(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            content = upload.read(services.IMPORT_MAX_BYTES + 1)
            run = services.create_import_run(request.user, form.cleaned_data["kind"], upload.name, content)
        except DomainError as exc:
            for field_name, errors in exc.details.items() if isinstance(exc.details, dict) else []:
                for error in errors:
                    form.add_error(field_name if field_name in form.fields else None, str(error))
            if not form.errors:
                form.add_error(None, exc.message)
        else:
            return redirect("ops_import:run", run_id=run.pk)
    runs = ImportRun.objects.defer("content").select_related("created_by")[:20]
    return render(
        request,
        "ops/import.html",
        {"form": form, "runs": runs, "kinds": KIND_LABELS},
        status=422 if form.errors else 200,
    )


def _preview(run: ImportRun) -> dict:
    """The first rows as the file has them, the mapping, and what the importer says about those rows."""
    content = bytes(run.content)
    header, rows = importer.read_rows(content)
    columns = importer.columns(run.kind)
    mapped = set(filter(None, run.mapping.values()))
    missing = [c.name for c in columns if c.required and c.name not in mapped]
    first = [(index, row) for index, row in enumerate(rows[:PREVIEW_ROWS], start=2)]
    errors: list[str] = []
    try:
        mapped_header, mapped_rows = importer.read_rows(content, run.mapping)
        importer.parse_rows(run.kind, mapped_header, mapped_rows[:PREVIEW_ROWS], errors)
    except importer.ImportFailed as exc:
        errors = exc.errors
    by_row: dict[int, list[str]] = {}
    for line in errors:
        by_row.setdefault(importer.row_number(line), []).append(line.split(":", 1)[1].strip())
    return {
        "header": header,
        "mapping_rows": [(name, run.mapping.get(name, "")) for name in header],
        "columns": columns,
        "missing": missing,
        "rows": [
            {"index": i, "cells": [row.get(h, "") for h in header], "errors": by_row.get(i, [])}
            for i, row in first
        ],
        # Missing required columns are named once, above (from the mapping).
        "header_errors": [e for e in by_row.get(1, []) if "required column is missing" not in e],
        "row_count": sum(1 for r in rows if r),
    }


@login_required
def import_run(request, run_id):
    _require_admin(request)
    run = _run(run_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("map", "dry_run"):
                mapping = {name: request.POST.get(f"map:{name}", "") for name in run.mapping}
                run = services.set_import_mapping(request.user, run, mapping)
            if action == "dry_run":
                services.queue_import(request.user, run, dry_run=True)
            elif action == "import":
                services.queue_import(request.user, run, dry_run=False)
            elif action != "map":
                raise Http404
        except DomainError as exc:
            for message in exc.messages():
                messages.error(request, message)
            status = 409 if exc.status == 409 else 422
            run = _run(run_id)
            return render(request, "ops/import_run.html", _context(run), status=status)
        return redirect("ops_import:run", run_id=run.pk)
    return render(request, "ops/import_run.html", _context(run))


def _context(run: ImportRun) -> dict:
    context = {
        "run": run,
        "kind_label": KIND_LABELS.get(run.kind, run.kind),
        "errors_shown": run.errors[:200],
    }
    if run.status in (ImportRun.Status.UPLOADED, ImportRun.Status.CHECKED, ImportRun.Status.FAILED):
        context.update(_preview(run))
    context["may_import"] = run.status == ImportRun.Status.CHECKED and run.rejected == 0
    return context


@login_required
def import_progress(request, run_id):
    """Polled by the page every second while the worker runs; once done the page reloads to the summary."""
    _require_admin(request)
    # A read that must not write: with SQLite the import holds the write lock while it writes, and the
    # sliding-expiry session save (core.sessions: when the session is a few minutes old) would wait for it and fail the poll.
    request.session.save = lambda *args, **kwargs: None
    run = ImportRun.objects.defer("content").filter(pk=run_id).first()
    if run is None:
        raise Http404
    response = render(request, "ops/_import_progress.html", {"run": run})
    if not run.running:
        response["HX-Refresh"] = "true"
    return response


@login_required
def import_rejects(request, run_id):
    """The rejected rows as the file had them, each with its errors (cells made safe for spreadsheets)."""
    _require_admin(request)
    run = _run(run_id)
    header, rows = importer.read_rows(bytes(run.content))
    by_row: dict[int, list[str]] = {}
    for line in run.errors:
        by_row.setdefault(importer.row_number(line), []).append(line.split(":", 1)[1].strip())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "errors", *header])
    for number in sorted(by_row):
        values = rows[number - 2] if 2 <= number <= len(rows) + 1 else {}
        cells = [str(number), "; ".join(by_row[number]), *[values.get(h, "") for h in header]]
        writer.writerow([neutralise_formula(c) for c in cells])
    name = run.file_name.rsplit(".", 1)[0] or "import"
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-rejected.csv"'
    return response


app_name = "ops_import"
urlpatterns = [
    path("", import_home, name="home"),
    path("<uuid:run_id>/", import_run, name="run"),
    path("<uuid:run_id>/progress/", import_progress, name="progress"),
    path("<uuid:run_id>/rejects.csv", import_rejects, name="rejects"),
]

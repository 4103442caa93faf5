"""Large exports: the progress page (polled with HTMX) and the download, for the requester only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services
from .models import ExportJob, ExportStatus

RECENT = 20


def queue_response(request, queryset, columns_ref, columns_arg, name, fmt):
    """Registered with `core.exports`: a list over the limit becomes a job; show its progress."""
    job = services.queue_export(request.user, queryset, columns_ref, columns_arg, name, fmt)
    messages.info(
        request,
        _(
            "This export is large: it is being built in the background. You will be notified when it is ready."
        ),
    )
    return redirect("reports:export", job.pk)


def _own_job(request, pk) -> ExportJob:
    # Only the requester: anyone else (admins included) gets "not found", not a hint that it exists.
    try:
        return ExportJob.objects.get(pk=pk, requested_by=request.user)
    except ExportJob.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
@never_cache
def export_status(request, pk):
    job = _own_job(request, pk)
    template = "reports/_export_status.html" if request.headers.get("HX-Request") else "reports/export.html"
    return render(request, template, {"job": job})


@login_required
@require_GET
def export_list(request):
    jobs = ExportJob.objects.filter(requested_by=request.user).defer("query")[:RECENT]
    return render(request, "reports/exports.html", {"jobs": jobs})


@login_required
@require_GET
@never_cache
def export_download(request, pk):
    job = _own_job(request, pk)
    if job.status != ExportStatus.DONE or not job.file:
        raise Http404
    try:
        handle = job.file.storage.open(job.file.name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=job.filename)
    response["Cache-Control"] = "private, no-store"
    return response

"""The global audit log page (admins): the audit app records and reads entries; who may see them
all is an access rule, so the page lives here beside the other permission checks."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path

from audit.models import AuditEntry
from audit.present import action_choices, present
from audit.selectors import filter_entries
from core.exports import export_list
from core.pagination import page_for_request

from . import permissions


@login_required
def global_log(request):
    if not permissions.may(request.user, "audit.view_all"):
        raise PermissionDenied
    qs = filter_entries(AuditEntry.objects.select_related("actor"), request.GET)
    if request.GET.get("format") == "csv":
        return export_list(request, qs.order_by("id"), "audit.selectors.AUDIT_EXPORT", "audit", "csv")
    page, _error = page_for_request(request, qs, allowed_orderings={"id"}, default_ordering="-id")
    if page is not None:
        page.items = present(page.items)
    return render(request, "audit/global.html", {"page": page, "action_choices": action_choices()})


app_name = "audit"
urlpatterns = [path("", global_log, name="global")]

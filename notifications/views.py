"""Notifications inbox, header badge and preferences (DESIGN §10, §16)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from core.exports import ExportColumn, export_list
from core.pagination import page_for_request

from . import services
from .kinds import Channel
from .models import DeliveryStatus, Notification, NotificationDelivery

PAGE_SIZE = 25
CHANGED = "notifications-changed"  # HTMX event: the badge refreshes at once


def _safe(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _keep_session_idle(request) -> None:
    """The badge polls every 30 s; it must not count as activity, or a session left open in a tab would
    never expire (sliding expiry, core.sessions). Without `request.session` the session middleware leaves
    the session and its cookie as they are."""
    if hasattr(request, "session"):
        del request.session


@login_required
@require_GET
def inbox(request):
    unread_only = request.GET.get("unread") in ("1", "true", "yes")
    qs = services.inbox(request.user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": services.unread_count(request.user),
        },
    )


@require_GET
def badge(request):
    """The header bell's unread count (HTMX, every 30 s). 286 tells HTMX to stop polling after logout."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    # No request context: the layout's context processors (branches, messages) are not needed 2× a minute.
    response = HttpResponse(
        render_to_string("notifications/_badge.html", {"count": services.unread_count(request.user)})
    )
    response["Cache-Control"] = "no-store"
    _keep_session_idle(request)
    return response


@login_required
@require_POST
def mark_read(request, pk):
    try:
        notification = services.mark_read(request.user, pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    if request.htmx:
        response = render(request, "notifications/_item.html", {"n": notification})
        response["HX-Trigger"] = CHANGED
        return response
    return redirect(_safe(request, request.POST.get("next", "")) or reverse("notifications:inbox"))


@login_required
@require_POST
def mark_all_read(request):
    count = services.mark_all_read(request.user)
    if count:
        messages.success(request, _("All notifications marked read."))
    return redirect(_safe(request, request.POST.get("next", "")) or reverse("notifications:inbox"))


@login_required
@require_GET
def open_notification(request, pk):
    """Follow a notification's link and mark it read on the way."""
    try:
        notification = services.mark_read(request.user, pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    return redirect(_safe(request, notification.url) or reverse("notifications:inbox"))


@login_required
@require_POST
def preferences(request):
    services.save_preferences(request.user, request.POST.getlist("enabled"))
    messages.success(request, _("Notification preferences saved."))
    return redirect(reverse("accounts:settings") + "#notification-preferences")


DELIVERY_EXPORT = [
    ExportColumn(gettext_lazy("Created"), lambda d: d.created_at, "datetime"),
    ExportColumn(gettext_lazy("Recipient"), lambda d: d.user.email, width=28),
    ExportColumn(gettext_lazy("Channel"), lambda d: d.get_channel_display()),
    ExportColumn(gettext_lazy("Kind"), lambda d: d.kind),
    ExportColumn(gettext_lazy("Title"), lambda d: d.title, width=32),
    ExportColumn(gettext_lazy("Status"), lambda d: d.get_status_display()),
    ExportColumn(gettext_lazy("Attempts"), lambda d: d.attempts, "int"),
    ExportColumn(gettext_lazy("Sent to"), lambda d: d.recipient, width=24),
    ExportColumn(gettext_lazy("Sent"), lambda d: d.sent_at, "datetime"),
    ExportColumn(gettext_lazy("Last error"), lambda d: d.last_error, width=32),
]


@login_required
def deliveries(request):
    """Admin: every e-mail and SMS sent (or failing) to users, filtered by status and channel."""
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    qs = NotificationDelivery.objects.select_related("user")
    if request.GET.get("status") in DeliveryStatus.values:
        qs = qs.filter(status=request.GET["status"])
    if request.GET.get("channel") in Channel.values:
        qs = qs.filter(channel=request.GET["channel"])
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return export_list(
            request,
            qs.order_by("-created_at"),
            "notifications.views.DELIVERY_EXPORT",
            "notification-deliveries",
            fmt,
        )
    page, error = page_for_request(
        request, qs, allowed_orderings={"created_at"}, default_ordering="-created_at"
    )
    return render(
        request,
        "notifications/deliveries.html",
        {"page": page, "error": error, "statuses": DeliveryStatus.choices, "channels": Channel.choices},
        status=400 if error else 200,
    )

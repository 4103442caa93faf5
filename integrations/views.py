"""Admin pages: webhook endpoints, delivery log, attempt detail, redeliver, test event."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import permissions
from core.errors import DomainError
from core.exports import ExportColumn, export_list
from core.pagination import page_for_request

from . import services
from .choices import DELIVERY_COLOURS, DeliveryStatus
from .forms import EndpointForm
from .models import WebhookDelivery, WebhookEndpoint

DELIVERY_EXPORT = [
    ExportColumn(gettext_lazy("Created"), lambda d: d.created_at, "datetime"),
    ExportColumn(gettext_lazy("Endpoint"), lambda d: d.endpoint.name, width=24),
    ExportColumn(gettext_lazy("Event"), lambda d: d.event.type, width=24),
    ExportColumn(gettext_lazy("Status"), lambda d: d.get_status_display()),
    ExportColumn(gettext_lazy("Attempts"), lambda d: d.attempts, "int"),
    ExportColumn(gettext_lazy("Last status code"), lambda d: d.last_status_code, "int"),
    ExportColumn(gettext_lazy("Last error"), lambda d: d.last_error, width=32),
    ExportColumn(gettext_lazy("Delivered"), lambda d: d.delivered_at, "datetime"),
]


def _admin(request):
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied


def _show_secret(request, secret):
    request.session["new_webhook_secret"] = secret


@login_required
def endpoints(request):
    _admin(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.create_endpoint(request.user, form.cleaned_data)
        except DomainError as exc:
            for field, errors in (exc.details or {}).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            _show_secret(request, secret)
            return redirect("integrations:endpoint", endpoint_id=endpoint.pk)
    return render(
        request,
        "integrations/endpoints.html",
        {
            "form": form,
            "endpoints": WebhookEndpoint.objects.all(),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def endpoint(request, endpoint_id):
    _admin(request)
    obj = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    initial = {
        "name": obj.name,
        "integration_type": obj.integration_type,
        "url": obj.url,
        "events": obj.events,
        "active": obj.active,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(request.user, obj.pk, form.cleaned_data)
        except DomainError as exc:
            for field, errors in (exc.details or {}).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("integrations:endpoint", endpoint_id=obj.pk)
    return render(
        request,
        "integrations/endpoint.html",
        {
            "endpoint": obj,
            "form": form,
            "new_secret": request.session.pop("new_webhook_secret", None),
            "recent": obj.deliveries.select_related("event").order_by("-created_at")[:20],
            "colours": DELIVERY_COLOURS,
        },
    )


@login_required
@require_POST
def endpoint_action(request, endpoint_id, action):
    _admin(request)
    obj = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    if action == "rotate":
        _endpoint, secret = services.rotate_secret(request.user, obj.pk)
        _show_secret(request, secret)
        messages.success(request, _("New secret created; update the receiver."))
    elif action == "test":
        services.send_test_event(request.user, obj.pk)
        messages.success(request, _("Test event queued; see the delivery log."))
    else:
        raise PermissionDenied
    return redirect("integrations:endpoint", endpoint_id=obj.pk)


@login_required
def deliveries(request):
    _admin(request)
    qs = WebhookDelivery.objects.select_related("event", "endpoint")
    if request.GET.get("endpoint"):
        qs = qs.filter(endpoint_id=request.GET["endpoint"])
    if request.GET.get("event"):
        qs = qs.filter(event__type=request.GET["event"])
    if request.GET.get("status") in DeliveryStatus.values:
        qs = qs.filter(status=request.GET["status"])
    if request.GET.get("format") in ("csv", "xlsx"):
        return export_list(
            request, qs.order_by("-created_at"), "integrations.views.DELIVERY_EXPORT", "webhook-deliveries",
            request.GET["format"],
        )  # fmt: skip
    page, error = page_for_request(
        request, qs, allowed_orderings={"created_at"}, default_ordering="-created_at"
    )
    return render(
        request,
        "integrations/deliveries.html",
        {
            "page": page,
            "error": error,
            "endpoints": WebhookEndpoint.objects.all(),
            "statuses": DeliveryStatus.choices,
            "colours": DELIVERY_COLOURS,
        },
        status=400 if error else 200,
    )


@login_required
def delivery(request, delivery_id):
    _admin(request)
    obj = get_object_or_404(WebhookDelivery.objects.select_related("event", "endpoint"), pk=delivery_id)
    return render(
        request,
        "integrations/delivery.html",
        {
            "delivery": obj,
            "attempts": obj.attempt_log.all(),
            "colours": DELIVERY_COLOURS,
        },
    )


@login_required
@require_POST
def redeliver(request, delivery_id):
    _admin(request)
    get_object_or_404(WebhookDelivery, pk=delivery_id)
    services.redeliver(request.user, delivery_id)
    messages.success(request, _("Redelivery queued."))
    return redirect("integrations:delivery", delivery_id=delivery_id)

"""Webhook endpoints and deliveries (admin), and inbound integration events (signed)."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from accounts import permissions
from audit.context import acting_as
from core.errors import AuthFailed, ValidationFailed
from core.pagination import paginate
from core.ratelimit import enforce

from . import inbound, services, webhooks
from .choices import DeliveryStatus, IntegrationType
from .models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["integrations"])


class EndpointIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    integration_type: IntegrationType = IntegrationType.CUSTOM
    url: str = Field(min_length=8, max_length=500)
    events: list[str] = Field(default_factory=list)
    active: bool = True


class EndpointPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    integration_type: IntegrationType | None = None
    url: str | None = Field(None, min_length=8, max_length=500)
    events: list[str] | None = None
    active: bool | None = None


class EndpointOut(Schema):
    id: UUID
    name: str
    integration_type: str
    url: str
    events: list[str]
    active: bool
    secret_prefix: str
    disabled_at: datetime | None
    disabled_reason: str
    failing_since: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_secret_prefix(obj):
        return obj.secret[:10] + "…"


class EndpointCreated(EndpointOut):
    secret: str


class AttemptOut(Schema):
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int | None
    response_excerpt: str
    error: str


class DeliveryOut(Schema):
    id: UUID
    event_id: UUID
    event_type: str
    endpoint_id: UUID
    endpoint_name: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_event_type(obj):
        return obj.event.type

    @staticmethod
    def resolve_endpoint_name(obj):
        return obj.endpoint.name


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_attempt_log(obj):
        return list(obj.attempt_log.all())


class DeliveryList(Schema):
    items: list[DeliveryOut]
    count: int
    next: str | None


class DeliveryFilters(Schema):
    endpoint_id: UUID | None = None
    event_type: str | None = None
    status: list[DeliveryStatus] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


def _admin(request):
    permissions.require(request.user, "settings.manage")


@router.get("webhook-endpoints", response=list[EndpointOut])
def list_endpoints(request):
    _admin(request)
    return list(WebhookEndpoint.objects.all())


@router.post(
    "webhook-endpoints", response={201: EndpointCreated}, summary="Register an endpoint (secret shown once)"
)
def create_endpoint(request, payload: EndpointIn):
    endpoint, _secret = services.create_endpoint(request.user, payload.dict())
    return Status(201, endpoint)  # the only answer that carries the whole secret


@router.patch("webhook-endpoints/{endpoint_id}", response=EndpointOut)
def update_endpoint(request, endpoint_id: UUID, payload: EndpointPatch):
    _admin(request)
    get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    return services.update_endpoint(request.user, endpoint_id, payload.dict(exclude_unset=True))


@router.post("webhook-endpoints/{endpoint_id}/rotate-secret", response=EndpointCreated)
def rotate_secret(request, endpoint_id: UUID):
    _admin(request)
    get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    endpoint, _secret = services.rotate_secret(request.user, endpoint_id)
    return endpoint


@router.post("webhook-endpoints/{endpoint_id}/test", response={202: DeliveryOut}, summary="Send a test event")
def test_endpoint(request, endpoint_id: UUID):
    _admin(request)
    get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    delivery = services.send_test_event(request.user, endpoint_id)
    return Status(202, WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery.pk))


@router.get("webhook-deliveries", response=DeliveryList)
def list_deliveries(request, params: Query[DeliveryFilters]):
    _admin(request)
    qs = WebhookDelivery.objects.select_related("event", "endpoint")
    if params.endpoint_id:
        qs = qs.filter(endpoint_id=params.endpoint_id)
    if params.event_type:
        qs = qs.filter(event__type=params.event_type)
    if params.status:
        qs = qs.filter(status__in=[str(s) for s in params.status])
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings={"created_at"},
        default_ordering="-created_at",
    )
    return {"items": page.items, "count": page.count, "next": page.next}


@router.get("webhook-deliveries/{delivery_id}", response=DeliveryDetail)
def get_delivery(request, delivery_id: UUID):
    _admin(request)
    return get_object_or_404(WebhookDelivery.objects.select_related("event", "endpoint"), pk=delivery_id)


@router.post("webhook-deliveries/{delivery_id}/redeliver", response=DeliveryOut)
def redeliver(request, delivery_id: UUID):
    _admin(request)
    get_object_or_404(WebhookDelivery, pk=delivery_id)
    services.redeliver(request.user, delivery_id)
    return WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)


class InboundOut(Schema):
    id: str
    status: str
    result: str


@router.post(
    "integrations/{source}/events",
    auth=None,
    response={200: InboundOut},
    summary="Inbound events from fleet, billing and claims systems (HMAC-signed like our webhooks)",
)
def inbound_event(request, source: IntegrationType):
    enforce(request, "inbound")
    if source == IntegrationType.CUSTOM:
        raise ValidationFailed("Unknown integration.", {"source": ["Use fleet, billing or claims."]})
    body = request.body
    timestamp = request.headers.get("X-Custody-Timestamp", "")
    given = request.headers.get("X-Custody-Signature", "")
    if not any(
        webhooks.verify(e.secret, timestamp, body, given) for e in services.endpoint_for_inbound(source)
    ):
        raise AuthFailed("Bad or expired signature.")
    try:
        payload: dict[str, Any] = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The body is not JSON.", {"body": ["Send JSON."]}) from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be an object.", {"body": ["Send a JSON object."]})
    event_id, event_type = str(payload.get("id") or ""), str(payload.get("type") or "")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    if not event_id or len(event_id) > 100:
        raise ValidationFailed("The event needs an id.", {"id": ["Required (at most 100 characters)."]})
    handler = inbound.HANDLERS.get((str(source), event_type))
    if handler is None:
        raise ValidationFailed(
            "Unknown event type for this integration.",
            {"type": [f"Use one of: {', '.join(sorted(services.INBOUND_TYPES[source]))}."]},
        )
    with transaction.atomic(), acting_as(source="integration"):
        record, created = services.record_inbound(str(source), event_id, event_type, payload)
        if not created:
            return {"id": event_id, "status": "duplicate", "result": record.result}
        services.record_inbound_result(record, handler(data))
    return {"id": event_id, "status": "applied", "result": record.result}

"""Comparison views for bench/side_by_side.py (bench-only: routed by bench/urls.py, never by config/urls.py).

- bare: plain Django, `.values()` of the columns the custody list returns + `JsonResponse` — the floor
- drf: a plain Django REST framework `ModelSerializer` over the same tables and rows

Same rows, filters (`status`, `q` on the custodian name) and page size as `GET /api/v1/custodies`;
no authentication (they measure the framework, the project's endpoint pays for its own auth).
"""

import json

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from custodies import selectors, sla
from custodies.models import Custody
from custodies.numbers import next_custody_no

LIMIT = 50
COUNT_CAP = 10_000

# The same columns the API's list fetches — from the one place it declares them (custodies.selectors):
# the floor is the API's own query with nothing around it (no auth, no SLA state, no response shape).
BARE_LIST_COLUMNS = selectors.LIST_COLUMNS
# The references the detail returns besides the custody's own columns.
BARE_DETAIL_REFERENCES = (
    "branch__code",
    "branch__name",
    "customer_id",
    "customer__customer_no",
    "customer__full_name",
)


def _filtered(request):
    qs = Custody.objects.all()
    if request.GET.get("status"):
        qs = qs.filter(status=request.GET["status"])
    if request.GET.get("q"):
        qs = qs.filter(custodian_name__icontains=request.GET["q"])
    return qs


def _capped_count(qs) -> int:
    return qs.order_by().values("pk")[: COUNT_CAP + 1].count()


def bare_list(request):
    qs = _filtered(request)
    rows = list(qs.order_by("-created_at", "-pk").values(*BARE_LIST_COLUMNS)[:LIMIT])
    return JsonResponse({"items": rows, "count": min(_capped_count(qs), COUNT_CAP), "next": None})


def bare_detail(request, custody_id):
    columns = [f.attname for f in Custody._meta.concrete_fields] + list(BARE_DETAIL_REFERENCES)
    row = Custody.objects.filter(pk=custody_id).values(*columns).first()
    if row is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(row)


@csrf_exempt
def bare_create(request):
    """The same draft row `POST /api/v1/custodies` writes, with one ORM create() (no rules, audit, events)."""
    data = json.loads(request.body)
    custody = Custody.objects.create(
        custody_no=next_custody_no(),
        branch_id=data["branch_id"],
        customer_id=data["customer_id"],
        original_vehicle_id=data.get("original_vehicle_id"),
        custodian_type=data["custodian_type"],
        custodian_name=data.get("custodian_name", ""),
        reason_code=data["reason_code"],
        incident_at=data["incident_at"],
        effective_from=data["effective_from"],
        expected_return_at=data.get("expected_return_at"),
    )
    return JsonResponse({"id": str(custody.pk), "custody_no": custody.custody_no}, status=201)


class _BranchSer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()


class _CustomerSer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_no = serializers.CharField()
    full_name = serializers.CharField()


class _VehicleSer(serializers.Serializer):
    id = serializers.UUIDField()
    plate = serializers.CharField()
    make = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField()


class CustodyListSerializer(serializers.ModelSerializer):
    branch = _BranchSer()
    customer = _CustomerSer()
    original_vehicle = _VehicleSer(allow_null=True)
    replacement_vehicle = _VehicleSer(allow_null=True)
    sla_state = serializers.SerializerMethodField()

    class Meta:
        model = Custody
        fields = [
            "id",
            "custody_no",
            "status",
            "branch_id",
            "branch",
            "customer_id",
            "customer",
            "agreement_id",
            "custodian_type",
            "custodian_name",
            "original_vehicle_id",
            "original_vehicle",
            "replacement_vehicle_id",
            "replacement_vehicle",
            "reason_code",
            "reason_subcode",
            "incident_at",
            "effective_from",
            "expected_return_at",
            "sla_state",
            "created_at",
            "updated_at",
            "version",
        ]

    def get_sla_state(self, obj):
        view = sla.current_view(obj, self.context["now"])
        return view.state if view else None


class CustodyDetailSerializer(serializers.ModelSerializer):
    branch = _BranchSer()
    customer = _CustomerSer()
    original_vehicle = _VehicleSer(allow_null=True)
    replacement_vehicle = _VehicleSer(allow_null=True)

    class Meta:
        model = Custody
        fields = "__all__"


RELATED = ["branch", "customer", "agreement", "original_vehicle", "replacement_vehicle"]


class DrfList(APIView):
    def get(self, request):
        qs = _filtered(request)
        page = qs.select_related(*RELATED).order_by("-created_at", "-pk")[:LIMIT]
        data = CustodyListSerializer(page, many=True, context={"now": timezone.now()}).data
        return Response({"items": data, "count": min(_capped_count(qs), COUNT_CAP), "next": None})


class DrfDetail(APIView):
    def get(self, request, pk):
        custody = Custody.objects.select_related(*RELATED).filter(pk=pk).first()
        if custody is None:
            return Response({"error": "not found"}, status=404)
        return Response(CustodyDetailSerializer(custody).data)

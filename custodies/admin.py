from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import Custody, SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = [
        "reason_code",
        "branch",
        "approve_within_hours",
        "handover_within_hours",
        "close_within_hours",
    ]
    list_filter = ["reason_code", "branch"]


@admin.register(Custody)
class CustodyAdmin(admin.ModelAdmin):
    """Read-only here: custodies change only through the workflow (pages and API)."""

    list_display = ["custody_no", "status", "branch", "customer", "reason_code", "created_at"]
    list_filter = ["status", "reason_code", "branch"]
    search_fields = ["custody_no", "custodian_name", "incident_ref"]
    list_select_related = ["branch", "customer"]
    raw_id_fields = ["agreement", "customer", "original_vehicle", "replacement_vehicle"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

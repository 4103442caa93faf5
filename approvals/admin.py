from django.contrib import admin

from audit.admin_mixins import AuditedAdmin, ReadOnlyAdmin

from .models import Approval, ApprovalRule


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["priority", "name", "active", "auto_approve", "reason_codes", "min_damage_hold", "levels"]
    list_display_links = ["name"]
    list_editable = ["priority", "active"]
    ordering = ["priority"]
    fieldsets = (
        (None, {"fields": ("name", "priority", "active")}),
        (
            "Conditions (empty = any)",
            {
                "fields": (
                    "reason_codes",
                    "branch_codes",
                    "custodian_types",
                    "rate_policies",
                    "min_damage_hold",
                    "max_damage_hold",
                    "min_estimated_cost",
                )
            },
        ),
        (
            "Result",
            {
                "fields": ("auto_approve", "levels"),
                "description": 'Levels: a list like [{"role": "supervisor", "due_hours": null}, '
                '{"role": "manager", "due_hours": 4}]; null due hours = the SLA approve target.',
            },
        ),
    )


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["custody", "round", "level", "role", "status", "decided_by", "decided_at", "due_at"]
    list_filter = ["status", "role"]
    list_select_related = ["custody", "decided_by"]
    readonly_fields = [f.name for f in Approval._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

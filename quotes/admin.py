from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import CostDefaults, CostElement, Quote


@admin.register(CostDefaults)
class CostDefaultsAdmin(AuditedAdmin, admin.ModelAdmin):
    """The default financing, overhead and target margin of new cost sheets (one row)."""

    list_display = ["__str__", "financing_rate_pct", "overhead_pct", "target_margin_pct", "updated_at"]

    def has_add_permission(self, request):
        return not CostDefaults.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CostElement)
class CostElementAdmin(AuditedAdmin, admin.ModelAdmin):
    """Default acquisition cost and monthly running costs per vehicle class."""

    list_display = [
        "vehicle_class",
        "acquisition_cost",
        "maintenance_monthly",
        "insurance_monthly",
        "registration_monthly",
        "roadside_monthly",
        "replacement_monthly",
        "other_monthly",
    ]
    list_select_related = ["vehicle_class"]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    """Read-only here: quotes change only through their workflow (pages and API)."""

    list_display = ["quote_no", "status", "branch", "customer", "valid_until", "total", "created_at"]
    list_filter = ["status", "branch"]
    search_fields = ["quote_no", "customer__full_name"]
    list_select_related = ["branch", "customer"]
    exclude = ["signature_png", "review_nonce", "review_token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

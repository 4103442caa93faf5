from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdmin

from .models import ApiToken, User


@admin.register(User)
class UserAdmin(ReadOnlyAdmin, BaseUserAdmin):
    # Users are managed on the product's Users pages (accounts.services, audited).

    ordering = ["email"]
    list_display = ["email", "full_name", "role", "all_branches", "is_active", "last_login"]
    list_filter = ["role", "is_active", "all_branches", "branches"]
    search_fields = ["email", "full_name"]
    filter_horizontal = ["branches"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "phone", "language")}),
        (_("Access"), {"fields": ("role", "all_branches", "branches", "is_active")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["name", "user", "kind", "prefix", "created_at", "expires_at", "revoked_at"]
    list_filter = ["kind"]
    readonly_fields = ["token_hash", "prefix"]

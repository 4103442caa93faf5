from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import DocumentRule


@admin.register(DocumentRule)
class DocumentRuleAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["stage", "reason_code", "document_type", "active"]
    list_filter = ["stage", "reason_code", "active"]
    list_editable = ["active"]

from django.contrib import admin, messages
from django.utils import timezone

from audit.admin_mixins import ReadOnlyAdmin

from . import services
from .models import DeliveryStatus, Notification, NotificationDelivery, NotificationOptOut


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__email", "custody__custody_no"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "channel", "user", "kind", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["title", "user__email", "recipient"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in NotificationDelivery._meta.fields]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send again now (failed or pending)")
    def send_again(self, request, queryset):
        count = services.send_again(
            queryset.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]), timezone.now()
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "kind", "channel", "created_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["user__email"]

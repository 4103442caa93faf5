from django.contrib import admin, messages
from django.utils import timezone

from . import services
from .models import DeliveryStatus, Notification, NotificationDelivery, NotificationOptOut


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__email", "custody__custody_no"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):
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
        now = timezone.now()
        count = 0
        for delivery in queryset.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]):
            NotificationDelivery.objects.filter(pk=delivery.pk).update(
                attempts=min(delivery.attempts, services.MAX_ATTEMPTS - 1),
                enqueued_at=now,
                next_attempt_at=now + services.RETRY_AFTER,
            )
            services._enqueue(delivery)
            count += 1
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "channel", "created_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["user__email"]

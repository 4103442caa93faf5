from django import template

from .. import services
from ..kinds import Channel

register = template.Library()


@register.inclusion_tag("notifications/_preferences.html", takes_context=True)
def notification_preferences(context):
    """The settings page's "Notification preferences" card (kind × channel check boxes)."""
    user = context["request"].user
    return {
        "rows": services.preference_rows(user),
        "channels": [{"value": c, "label": Channel(c).label} for c in services.available_channels()],
        "csrf_token": context.get("csrf_token"),
    }

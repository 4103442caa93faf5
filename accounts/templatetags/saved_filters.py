"""`{% saved_filters_menu "custodies" "custody-filters" %}`: a list's "Saved filters" menu (issue 12)."""

from django import template
from django.urls import reverse

from .. import selectors

register = template.Library()


@register.inclusion_tag("accounts/saved_filters/_menu.html", takes_context=True)
def saved_filters_menu(context, list_key: str, form_id: str = ""):
    """The user's saved filters of the list and those shared with their branch (one query), a link to
    save the filters shown now (rebuilt from the filter form `form_id` on click, custody/app.js) and
    one to manage them."""
    request = context["request"]
    found = list(selectors.saved_filters_for(request.user, list_key))
    query = request.GET.copy()
    for key in ("page", "cursor", "format"):
        query.pop(key, None)
    new_url = reverse("saved_filters:new", args=[list_key])
    return {
        "key": list_key,
        "form_id": form_id,
        "mine": [f for f in found if f.mine],
        "shared": [f for f in found if not f.mine],
        "new_url": f"{new_url}?{query.urlencode()}" if query else new_url,
    }

"""`{% saved_filters_menu "custodies" "custody-filters" %}`: a list's "Saved filters" menu (issue 12)."""

from django import template

from .. import filter_menu

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_filters_menu(context, list_key: str, form_id: str = ""):
    """The user's saved filters of the list and those shared with their branch, a link to save the
    filters shown now (rebuilt from the filter form `form_id` on click, custody/app.js) and one to
    manage them. Rendered once per user, list and language until a saved filter or user changes
    (accounts.filter_menu)."""
    return filter_menu.menu(context["request"], list_key, form_id)

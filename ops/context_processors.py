from django.utils.functional import SimpleLazyObject

from core import switches


def system(request):
    """`system` in every template: read only when a page shows the banner (one small query)."""
    return {"system": SimpleLazyObject(switches.state)}

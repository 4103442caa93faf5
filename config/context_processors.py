from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts import permissions

# The navigation entries a page marks active: the path contains the text (a path may mark two).
NAV_SECTIONS = (
    ("custodies", "/custodies"),
    ("approvals", "/approvals"),
    ("charges", "/billing/charges"),
    ("quotes", "/quotes"),
    ("vehicles", "/vehicles"),
    ("customers", "/customers"),
    ("agreements", "/agreements"),
    ("reports", "/reports"),
    ("admin", "/manage"),
    ("help", "/help"),
)


def nav_active(path: str) -> tuple[str, ...]:
    """The sections core/layout/_nav.html marks active on this path (the dashboard: its own address)."""
    active = tuple(name for name, text in NAV_SECTIONS if text in path)
    return ("dashboard", *active) if path == reverse("dashboard") else active


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"currency": settings.CUSTODY_CURRENCY}
    from approvals.eligibility import may_decide_any
    from fleet.selectors import branch_list

    return {
        "currency": settings.CUSTODY_CURRENCY,
        # Read when the layout shows the switcher (not by HTMX fragments), in the query the page's
        # own branch filter may already have made.
        "my_branch_choices": SimpleLazyObject(
            lambda: [(b.id, f"{b.code} · {b.name}") for b in branch_list(user) if b.active]
        ),
        "current_branch_id": request.session.get("branch_id", ""),
        "is_admin": permissions.may(user, "settings.manage"),
        # The navigation asks the rules instead of naming roles.
        "nav_approvals": may_decide_any(user) or permissions.may(user, "quote.approve"),
        "nav_charges": permissions.may(user, "charge.post"),
        "nav_active": nav_active(request.path),
    }

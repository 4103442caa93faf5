from django.conf import settings

from accounts import permissions


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"currency": settings.CUSTODY_CURRENCY}
    from approvals.eligibility import may_decide_any
    from fleet.selectors import branches_for

    return {
        "currency": settings.CUSTODY_CURRENCY,
        "my_branches": list(branches_for(user).filter(active=True).only("id", "code", "name")),
        "current_branch_id": request.session.get("branch_id", ""),
        "is_admin": permissions.may(user, "settings.manage"),
        # The navigation asks the rules instead of naming roles.
        "nav_approvals": may_decide_any(user) or permissions.may(user, "quote.approve"),
        "nav_charges": permissions.may(user, "charge.post"),
    }

"""Read queries for the users pages and API (admins only)."""

from django.db.models import Q, QuerySet

from . import permissions
from .choices import UserStatus
from .models import User

UNUSABLE = "!"  # Django's prefix of an unusable password: an invited user who never set one

STATUS_FILTERS = {
    UserStatus.ACTIVE: Q(is_active=True) & ~(Q(last_login__isnull=True) & Q(password__startswith=UNUSABLE)),
    UserStatus.INVITED: Q(is_active=True, last_login__isnull=True, password__startswith=UNUSABLE),
    UserStatus.DEACTIVATED: Q(is_active=False),
}

USER_ORDERINGS = {"email", "full_name", "role", "last_login", "date_joined"}


def users_for(actor, *, q: str = "", role: str = "", status: str = "") -> QuerySet[User]:
    """Every user (users are not branch records; only admins manage them)."""
    permissions.require(actor, "user.manage")
    qs = User.objects.prefetch_related("branches")
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(email__icontains=q) | Q(full_name__icontains=q))
    if role:
        qs = qs.filter(role=role)
    if status in STATUS_FILTERS:
        qs = qs.filter(STATUS_FILTERS[status])
    return qs


def user_for(actor, user_id) -> User:
    return users_for(actor).get(pk=user_id)

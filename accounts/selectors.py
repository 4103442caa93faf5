"""Read queries for the users pages and API (admins only), and for saved list filters (everyone)."""

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from . import permissions
from .choices import UserStatus
from .models import SavedFilter, User

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


def visible_saved_filters(user) -> QuerySet[SavedFilter]:
    """The user's own saved filters and those an active colleague shared with one of the user's
    branches (every shared one for a user of all branches); `mine` and `shared` annotated, owners joined."""
    through = SavedFilter.shared_with.through
    shared_here = through.objects.filter(savedfilter=OuterRef("pk"))
    ids = permissions.visible_branch_ids(user)
    if ids is not None:
        shared_here = shared_here.filter(branch__in=ids)
    return (
        SavedFilter.objects.filter(Q(owner=user) | (Q(Exists(shared_here)) & Q(owner__is_active=True)))
        .select_related("owner")
        .annotate(
            shared=Exists(through.objects.filter(savedfilter=OuterRef("pk"))),
            mine=Case(When(owner=user, then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
    )


def saved_filters_for(user, list_key: str) -> QuerySet[SavedFilter]:
    """A list's saved-filter menu: the user's own first, then colleagues', each by name."""
    return visible_saved_filters(user).filter(list_key=list_key).order_by("-mine", Lower("name"), "pk")

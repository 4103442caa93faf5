"""Users in the product (DESIGN §14): list, invite, edit role and branches, deactivate, reset password."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.exports import ExportColumn, export_list
from core.pagination import paginate

from . import permissions, selectors, services
from .choices import Role, UserStatus
from .models import User
from .user_forms import UserForm


def _require_admin(request):
    if not permissions.may(request.user, "user.manage"):
        raise PermissionDenied


def _branches():
    return User._meta.get_field("branches").related_model.objects.filter(active=True).order_by("code")


def _apply_errors(form, exc: DomainError) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for key, errors in details.items():
        name = "branches" if key == "branch_ids" else key
        if name in form.fields and not form.fields[name].widget.is_hidden:
            for error in errors:
                form.add_error(name, error)
                placed = True
    if not placed:
        form.add_error(None, exc.message)


def _branch_codes(user) -> str:
    if user.all_branches:
        return str(gettext_lazy("All branches"))
    return ", ".join(sorted(b.code for b in user.branches.all()))


USER_EXPORT = [
    ExportColumn(gettext_lazy("E-mail"), lambda u: u.email, width=30),
    ExportColumn(gettext_lazy("Full name"), lambda u: u.full_name, width=24),
    ExportColumn(gettext_lazy("Role"), lambda u: u.get_role_display()),
    ExportColumn(gettext_lazy("Status"), lambda u: u.get_status_display()),
    ExportColumn(gettext_lazy("Branches"), _branch_codes, width=24),
    ExportColumn(gettext_lazy("Two-factor"), lambda u: u.two_factor_enabled),
    ExportColumn(gettext_lazy("Joined"), lambda u: u.date_joined, "datetime"),
    ExportColumn(gettext_lazy("Last login"), lambda u: u.last_login, "datetime"),
]


@login_required
def user_list(request):
    _require_admin(request)
    params = request.GET
    qs = selectors.users_for(
        request.user, q=params.get("q", ""), role=params.get("role", ""), status=params.get("status", "")
    )
    if params.get("format") in ("csv", "xlsx"):
        return export_list(
            request, qs.order_by("email"), "accounts.user_views.USER_EXPORT", "users", params["format"]
        )
    try:
        page = paginate(
            qs,
            params=params,
            path=request.path,
            allowed_orderings=selectors.USER_ORDERINGS,
            default_ordering="email",
        )
    except DomainError:
        return redirect("users:list")
    return render(
        request,
        "accounts/users/list.html",
        {
            "page": page,
            "q": params.get("q", ""),
            "role": params.get("role", ""),
            "status": params.get("status", ""),
            "roles": Role.choices,
            "statuses": UserStatus.choices,
        },
    )


@login_required
def user_invite(request):
    _require_admin(request)
    branches = list(_branches())
    form = UserForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.invite_user(
                request.user,
                email=data["email"],
                full_name=data["full_name"],
                phone=data["phone"],
                role=data["role"],
                all_branches=data["all_branches"],
                branch_ids=data["branches"],
                language=data["language"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("users:detail", user_id=user.pk)
    return render(request, "accounts/users/form.html", {"form": form, "inviting": True})


def _target(request, user_id) -> User:
    try:
        return selectors.user_for(request.user, user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def user_detail(request, user_id):
    _require_admin(request)
    target = _target(request, user_id)
    branches = list(_branches())
    initial = {
        "full_name": target.full_name,
        "phone": target.phone,
        "role": target.role,
        "all_branches": target.all_branches,
        "branches": [str(b.pk) for b in target.branches.all()],
        "language": target.language,
        "version": target.version,
    }
    form = UserForm(request.POST or None, branches=branches, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_user(
                request.user,
                target,
                full_name=data["full_name"],
                phone=data["phone"],
                role=data["role"],
                all_branches=data["all_branches"],
                branch_ids=data["branches"],
                language=data["language"],
                expected_version=data.get("version"),
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("users:detail", user_id=target.pk)
    return render(request, "accounts/users/form.html", {"form": form, "target": target, "inviting": False})


def _action(service, done_message):
    @login_required
    @require_POST
    def view(request, user_id):
        _require_admin(request)
        target = _target(request, user_id)
        try:
            service(request.user, target)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done_message() % {"email": target.email})
        return redirect("users:detail", user_id=target.pk)

    return view


user_deactivate = _action(
    services.deactivate_user, lambda: _("%(email)s is deactivated; their sessions and tokens have stopped.")
)
user_reactivate = _action(services.reactivate_user, lambda: _("%(email)s can log in again."))
user_reset_two_factor = _action(
    services.reset_two_factor, lambda: _("Two-factor authentication was removed from %(email)s.")
)
user_reset_password = _action(
    services.reset_password, lambda: _("A link to set a new password was sent to %(email)s.")
)

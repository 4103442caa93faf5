"""Account changes: users, tokens, passwords. Every change is audited.

User management (DESIGN §14, §15.2) is for admins (`user.manage`): invite, change role and branches,
deactivate/reactivate, reset password. Rules kept here, whatever the interface:
- an admin cannot deactivate themselves, and the last active admin can be neither deactivated nor
  given another role (someone must be able to manage users);
- deactivation ends the user's sessions (security stamp) and revokes every API token at once;
- a reset makes the current password unusable, ends sessions and login tokens, and e-mails a
  set-password link; personal tokens (used by integrations) are kept — deactivate to stop them too.
"""

import secrets
from collections.abc import Iterable
from contextlib import suppress

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from core.errors import Conflict, ValidationFailed

from . import filter_menu, lists, permissions
from .choices import Language, Role
from .models import ApiToken, SavedFilter, User


@transaction.atomic
def create_user(
    *,
    email: str,
    role: str,
    password: str | None,
    full_name: str = "",
    branch_codes: Iterable[str] = (),
    all_branches: bool = False,
    language: str = "en",
) -> User:
    Branch = User.branches.field.related_model  # fleet.Branch, without importing the layer above

    email = (email or "").strip().lower()
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", {"role": [f"Use one of: {', '.join(Role.values)}."]})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed("A user with this e-mail exists.", {"email": ["Already in use."]})
    codes = list(branch_codes)
    branches = list(Branch.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {b.code for b in branches})
    if missing:
        raise ValidationFailed(
            "Unknown branch.", {"branch": [f"Unknown branch code(s): {', '.join(missing)}."]}
        )
    if not all_branches and not branches:
        raise ValidationFailed("Choose branches.", {"branch": ["Give at least one branch or all branches."]})
    user = User.objects.create_user(
        email=email,
        password=password,
        role=role,
        full_name=full_name,
        all_branches=all_branches,
        language=language,
    )
    user.branches.set(branches)
    audit.record(
        "user.created",
        user,
        changes={"role": [None, role], "branches": [None, sorted(codes) or "all"]},
    )
    return user


@transaction.atomic
def create_personal_token(user: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "The expiry must be in the future.", {"expires_at": ["Must be in the future."]}
        )
    token, raw = ApiToken.issue(user, name=name.strip(), kind=ApiToken.Kind.PERSONAL, expires_at=expires_at)
    audit.record("token.created", token, object_type="api_token", changes={"name": [None, token.name]})
    return token, raw


@transaction.atomic
def revoke_token(user: User, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("token.revoked", token, object_type="api_token")
    return token


@transaction.atomic
def set_language(user: User, language: str) -> User:
    if language != user.language:
        old = user.language
        user.language = language
        user.save(update_fields=["language"])
        audit.record("user.updated", user, changes={"language": [old, language]})
    return user


def password_changed(user: User, *, how: str) -> None:
    """Audit a password change (never its value): `how` is "changed" or "reset by e-mail link"."""
    audit.record("user.password_changed", user, message=how)


# ---- user management (admins) -------------------------------------------------------------------

_Branch = User._meta.get_field("branches").related_model  # fleet.Branch, without importing upwards


def _branches(branch_ids) -> list:
    ids = [str(i) for i in branch_ids or []]
    found = list(_Branch.objects.filter(pk__in=ids)) if ids else []
    missing = sorted(set(ids) - {str(b.pk) for b in found})
    if missing:
        raise ValidationFailed(
            _("Unknown branch."),
            {"branch_ids": [_("No such branch: %(ids)s.") % {"ids": ", ".join(missing)}]},
        )
    return found


def _check_role(role) -> str:
    if role not in Role.values:
        message = _("Use one of: %(roles)s.") % {"roles": ", ".join(Role.values)}
        raise ValidationFailed(_("Unknown role."), {"role": [message]})
    return role


def _check_access(all_branches: bool, branches: list) -> None:
    if not all_branches and not branches:
        message = _("Give at least one branch or all branches.")
        raise ValidationFailed(message, {"branch_ids": [message]})


def _user_state(user: User) -> dict:
    return {
        "full_name": user.full_name,
        "phone": user.phone,
        "role": user.role,
        "all_branches": user.all_branches,
        "branches": sorted(user.branches.values_list("code", flat=True)),
        "language": user.language,
        "is_active": user.is_active,
    }


def _lock_user(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


def _other_active_admins(user: User) -> bool:
    return User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


def _end_sessions(user: User) -> None:
    user.security_stamp = secrets.token_hex(16)


def _revoke_tokens(user: User, kinds: Iterable[str]) -> int:
    from .tokencache import forget_user

    revoked = ApiToken.objects.filter(user=user, kind__in=list(kinds), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_user(user.pk)  # update() sends no signal
    return revoked


def _queue_set_password_email(user: User, purpose: str) -> None:
    from .tasks import send_set_password_email

    send_set_password_email.enqueue(str(user.pk), purpose)


@transaction.atomic
def invite_user(
    actor,
    *,
    email: str,
    role: str,
    full_name: str = "",
    branch_ids: Iterable = (),
    all_branches: bool = False,
    language: str = Language.ENGLISH,
    phone: str = "",
) -> User:
    """Create the account without a password and queue the invitation e-mail (set-password link)."""
    permissions.require(actor, "user.manage")
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationFailed(_("Enter an e-mail address."), {"email": [_("Enter a valid e-mail address.")]})
    _check_role(role)
    branches = _branches(branch_ids)
    _check_access(all_branches, branches)
    if language not in Language.values:
        raise ValidationFailed(_("Unknown language."), {"language": [_("Unknown language.")]})
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("A user with this e-mail exists."), {"email": [_("Already in use.")]})
    user = User.objects.create_user(
        email=email,
        password=None,  # unusable until the invitation link is used
        role=role,
        full_name=(full_name or "").strip(),
        phone=(phone or "").strip(),
        all_branches=all_branches,
        language=language,
    )
    user.branches.set(branches)
    audit.record("user.invited", user, changes=audit.diff({}, _user_state(user)))
    _queue_set_password_email(user, "invitation")
    return user


@transaction.atomic
def update_user(actor, user: User, *, expected_version: int | None = None, **changes) -> User:
    """Change any of full_name, phone, role, all_branches, branch_ids, language.

    `expected_version` (the version the editor read) refuses a lost update with 409 CONFLICT."""
    permissions.require(actor, "user.manage")
    user = _lock_user(user)
    if expected_version is not None and expected_version != user.version:
        raise Conflict(
            _("Someone else changed this user meanwhile (version %(now)s, you edited %(read)s): reload.")
            % {"now": user.version, "read": expected_version},
            {"version": [_("Stale version: reload the user and apply your change again.")]},
        )
    before = _user_state(user)
    role = changes.get("role")
    if role is not None:
        _check_role(role)
        if (
            user.role == Role.ADMIN
            and role != Role.ADMIN
            and user.is_active
            and not _other_active_admins(user)
        ):
            raise Conflict(
                _("This is the last active admin: make someone else admin first."),
                {"role": [_("The last active admin keeps the admin role.")]},
            )
        user.role = role
    for field in ("full_name", "phone"):
        if changes.get(field) is not None:
            setattr(user, field, str(changes[field]).strip())
    if changes.get("language") is not None:
        if changes["language"] not in Language.values:
            raise ValidationFailed(_("Unknown language."), {"language": [_("Unknown language.")]})
        user.language = changes["language"]
    all_branches = user.all_branches if changes.get("all_branches") is None else bool(changes["all_branches"])
    if changes.get("branch_ids") is not None:
        branches = _branches(changes["branch_ids"])
    else:
        branches = list(user.branches.all())
    _check_access(all_branches, branches)
    user.all_branches = all_branches
    user.save()
    user.branches.set(branches)
    user._branch_ids_cache = None
    changed = audit.diff(before, _user_state(user))
    if changed:
        _bump_version(user)
        audit.record("user.updated", user, changes=changed)
    return user


def _bump_version(user: User) -> None:
    """Every administrator's change makes the version the API's If-Match compares against."""
    user.version += 1
    user.save(update_fields=["version"])


@transaction.atomic
def deactivate_user(actor, user: User) -> User:
    """The user can no longer log in; their sessions and API tokens stop working at once."""
    permissions.require(actor, "user.manage")
    if user.pk == actor.pk:
        raise Conflict(_("You cannot deactivate your own account."), {})
    user = _lock_user(user)
    if not user.is_active:
        return user
    if user.role == Role.ADMIN and not _other_active_admins(user):
        raise Conflict(_("This is the last active admin: it cannot be deactivated."), {})
    user.is_active = False
    user.version += 1
    _end_sessions(user)
    user.save(update_fields=["is_active", "security_stamp", "version"])
    revoked = _revoke_tokens(user, ApiToken.Kind.values)
    audit.record(
        "user.deactivated", user, changes={"is_active": [True, False]}, message=f"tokens revoked: {revoked}"
    )
    return user


@transaction.atomic
def reactivate_user(actor, user: User) -> User:
    """The user may log in again with their password; old sessions and tokens stay dead."""
    permissions.require(actor, "user.manage")
    user = _lock_user(user)
    if user.is_active:
        return user
    user.is_active = True
    user.version += 1
    user.save(update_fields=["is_active", "version"])
    audit.record("user.reactivated", user, changes={"is_active": [False, True]})
    return user


@transaction.atomic
def reset_password(actor, user: User) -> User:
    """Invalidate the password, end sessions and login tokens, e-mail a set-password link.

    For a user who never accepted their invitation it simply sends a fresh invitation."""
    permissions.require(actor, "user.manage")
    user = _lock_user(user)
    if not user.is_active:
        raise Conflict(_("Reactivate the user before resetting the password."), {})
    invited = user.status == "invited"
    user.set_unusable_password()
    user.version += 1
    _end_sessions(user)
    user.save(update_fields=["password", "security_stamp", "version"])
    _revoke_tokens(user, [ApiToken.Kind.SESSION])
    audit.record("user.invitation_resent" if invited else "user.password_reset", user)
    _queue_set_password_email(user, "invitation" if invited else "reset")
    return user


# ---- two-factor (TOTP + recovery codes) --------------------------------------------------------


def _recovery_device(user):
    from django_otp.plugins.otp_static.models import StaticDevice

    from .two_factor import RECOVERY_DEVICE_NAME

    device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME)
    return device


def _new_recovery_codes(user) -> list[str]:
    from django_otp.plugins.otp_static.models import StaticToken

    from .two_factor import RECOVERY_CODE_COUNT

    device = _recovery_device(user)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def start_two_factor(user: User):
    """A new, unconfirmed authenticator device (its QR code is shown until a code confirms it)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _clean_code(code) -> str:
    return "".join(str(code or "").split()).lower()


@transaction.atomic
def confirm_two_factor(user: User, code) -> list[str]:
    """Turn two-factor on with a code from the app; returns the recovery codes (shown once).

    Ends the user's other sessions (they never passed the second factor)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise ValidationFailed(_("Start the set-up again."), {"code": [_("Start the set-up again.")]})
    if not device.verify_token(_clean_code(code)):
        message = _("That code is not right. Check the time on your phone and try the newest code.")
        raise ValidationFailed(message, {"code": [message]})
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    _end_sessions(user)
    user.two_factor_enabled = True
    user.save(update_fields=["security_stamp", "two_factor_enabled"])
    audit.record("user.two_factor_enabled", user)
    return codes


@transaction.atomic
def verify_second_factor(user: User, code):
    """The device that accepts `code` (a code from the app, or a recovery code, which is then used up),
    or None. Wrong codes slow further tries down (django-otp throttling)."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    code = _clean_code(code)
    if not code:
        return None
    models = (TOTPDevice,) if code.isdigit() else (StaticDevice,)
    for model in models:
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(code):
                if model is StaticDevice:
                    audit.record("user.recovery_code_used", user, message=f"left: {device.token_set.count()}")
                return device
    return None


@transaction.atomic
def new_recovery_codes(user: User, code) -> list[str]:
    if verify_second_factor(user, code) is None:
        message = _("That code is not right.")
        raise ValidationFailed(message, {"code": [message]})
    codes = _new_recovery_codes(user)
    audit.record("user.recovery_codes_replaced", user)
    return codes


def _remove_devices(user: User) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.two_factor_enabled = False
    user.save(update_fields=["two_factor_enabled"])


@transaction.atomic
def disable_two_factor(user: User, code) -> None:
    """The user turns it off with a current code; refused while it is required for them."""
    from .two_factor import required

    if required(user):
        raise Conflict(_("Two-factor authentication is required for admins; it cannot be turned off."), {})
    if verify_second_factor(user, code) is None:
        message = _("That code is not right.")
        raise ValidationFailed(message, {"code": [message]})
    _remove_devices(user)
    audit.record("user.two_factor_disabled", user)


@transaction.atomic
def reset_two_factor(actor, user: User) -> User:
    """An admin removes a user's second factor (lost phone and codes); their sessions end."""
    permissions.require(actor, "user.manage")
    user = _lock_user(user)
    _remove_devices(user)
    _end_sessions(user)
    user.save(update_fields=["security_stamp"])
    _revoke_tokens(user, [ApiToken.Kind.SESSION])
    audit.record("user.two_factor_reset", user)
    return user


# ---- saved list filters (issue 12) ----------------------------------------------------------------
#
# A user saves a list's current filters under a name, privately or shared read-only with branches.
# What may be stored is the list's own business (accounts.lists.clean_query, through its filter form);
# who may change one is accounts.permissions.may_change_saved_filter; who sees one is
# accounts.selectors.visible_saved_filters (a filter they cannot see is simply not found).

MAX_SAVED_FILTERS_PER_LIST = 50


def _clean_filter_name(owner: User, list_key: str, name, exclude_pk=None) -> str:
    name = " ".join(str(name or "").split())
    error = None
    if not name:
        error = _("Give the filter a name.")
    elif len(name) > SavedFilter.NAME_MAX:
        error = _("Use at most %(n)d characters.") % {"n": SavedFilter.NAME_MAX}
    elif (
        SavedFilter.objects.filter(owner=owner, list_key=list_key, name__iexact=name)
        .exclude(pk=exclude_pk)
        .exists()
    ):
        error = _("You already have a saved filter with this name.")
    if error:
        raise ValidationFailed(error, {"name": [error]})
    return name


def _share_branches(user: User, branch_ids) -> list:
    """The branches a filter is shared with: only branches the user works in."""
    ids = {str(i).strip() for i in branch_ids or [] if str(i).strip()}
    if not ids:
        return []
    allowed = permissions.scope_to_branches(_Branch.objects.filter(active=True), user, field="pk")
    found = []
    with suppress(ValueError, DjangoValidationError):  # a malformed id is simply not one of them
        found = list(allowed.filter(pk__in=ids))
    if len(found) != len(ids):
        message = _("Share only with the branches you work in.")
        raise ValidationFailed(message, {"shared_with": [message]})
    return sorted(found, key=lambda b: b.code)


def _lock_own_filter(user: User, saved_filter_id) -> SavedFilter:
    """The filter, locked: not found unless visible to the user (404); forbidden unless theirs (403)."""
    from .selectors import visible_saved_filters

    found = visible_saved_filters(user).filter(pk=saved_filter_id).first()
    if found is None:
        raise SavedFilter.DoesNotExist("saved filter not found")
    if not permissions.may_change_saved_filter(user, found):
        raise PermissionDenied(_("Only the person who saved this filter may change it."))
    return SavedFilter.objects.select_for_update().get(pk=found.pk)


@transaction.atomic
def save_filter(user: User, list_key: str, *, name, query, shared_with=()) -> SavedFilter:
    """Save a list's filters (a query string) under a name; `shared_with`: branch ids, or none."""
    definition = lists.get(list_key)
    if definition is None:
        raise ValidationFailed(_("This list cannot save filters."), {"list_key": [_("Unknown list.")]})
    User.objects.select_for_update().filter(pk=user.pk).first()  # one save at a time per user
    name = _clean_filter_name(user, list_key, name)
    cleaned = lists.clean_query(user, list_key, str(query or "")[: SavedFilter.QUERY_MAX * 2])
    if cleaned.dropped:
        message = _("Some filters are not valid: %(fields)s. Correct them before saving.") % {
            "fields": ", ".join(cleaned.dropped)
        }
        raise ValidationFailed(message, {"query": [message]})
    if not cleaned.query:
        message = _("Choose at least one filter or sort order before saving.")
        raise ValidationFailed(message, {"query": [message]})
    if len(cleaned.query) > SavedFilter.QUERY_MAX:
        message = _("These filters are too long to save; use fewer of them.")
        raise ValidationFailed(message, {"query": [message]})
    if SavedFilter.objects.filter(owner=user, list_key=list_key).count() >= MAX_SAVED_FILTERS_PER_LIST:
        message = _("You have %(n)d saved filters on this list; delete one first.") % {
            "n": MAX_SAVED_FILTERS_PER_LIST
        }
        raise ValidationFailed(message, {"name": [message]})
    branches = _share_branches(user, shared_with)
    saved = SavedFilter.objects.create(owner=user, list_key=list_key, name=name, query=cleaned.query)
    saved.shared_with.set(branches)
    filter_menu.forget()
    audit.record(
        "saved_filter.created",
        saved,
        changes={
            "list_key": [None, list_key],
            "name": [None, name],
            "query": [None, cleaned.query],
            "shared_with": [None, [b.code for b in branches] or None],
        },
    )
    return saved


@transaction.atomic
def update_saved_filter(user: User, saved_filter_id, *, name, shared_with=()) -> SavedFilter:
    """Rename a filter and choose again whom it is shared with (its owner only)."""
    saved = _lock_own_filter(user, saved_filter_id)
    before = {"name": saved.name, "shared_with": sorted(saved.shared_with.values_list("code", flat=True))}
    saved.name = _clean_filter_name(user, saved.list_key, name, exclude_pk=saved.pk)
    branches = _share_branches(user, shared_with)
    after = {"name": saved.name, "shared_with": [b.code for b in branches]}
    changes = audit.diff(before, after)
    if changes:
        saved.save(update_fields=["name", "updated_at"])
        saved.shared_with.set(branches)
        filter_menu.forget()
        audit.record("saved_filter.updated", saved, changes=changes)
    return saved


@transaction.atomic
def delete_saved_filter(user: User, saved_filter_id) -> None:
    saved = _lock_own_filter(user, saved_filter_id)
    audit.record(
        "saved_filter.deleted", saved, changes={"name": [saved.name, None], "query": [saved.query, None]}
    )
    saved.delete()
    filter_menu.forget()

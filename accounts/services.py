"""Account changes: users, tokens, passwords. Every change is audited."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from core.errors import ValidationFailed

from .choices import Role
from .models import ApiToken, User


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
    from fleet.models import Branch

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

"""Authentication for the API and the account endpoints (tokens, me, users)."""

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status
from ninja.security import HttpBearer, SessionAuth
from pydantic import AwareDatetime, Field

from audit import context as audit_context
from core.errors import AuthFailed, DomainError, Forbidden, PreconditionRequired, ValidationFailed
from core.pagination import paginate
from core.ratelimit import enforce

from . import selectors, services, tokencache, two_factor
from .models import ApiToken, User


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"


def _act_as(request, user, source: str) -> None:
    request.user = user
    audit_context.set_actor(
        audit_context.Actor(user=user, source=source, ip=audit_context.client_ip(request))
    )


class BearerTokenAuth(HttpBearer):
    openapi_description = "Token from POST /api/v1/auth/token or a personal token."

    def authenticate(self, request, token):
        api_token = tokencache.lookup(request, token)
        if api_token is None or not api_token.is_usable or not api_token.user.is_active:
            return None
        now = timezone.now()
        # Throttle the write: at most once a minute per token.
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
            api_token.last_used_at = now
            tokencache.remember(api_token)
        _act_as(request, api_token.user, "api")
        return api_token.user


class SessionCookieAuth(SessionAuth):
    """The pages' session cookie also works (with CSRF) so HTMX can call the API."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user and two_factor.needs_verification(user):
            return None  # a session that still owes its second factor is not signed in for the API
        if user:
            _act_as(request, user, "api")
        return user


router = Router(tags=["auth"])


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    """The error shape of DESIGN §15: {"error": {"code", "message", "details"}}."""

    error: ErrorDetail


class TokenIn(Schema):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)
    otp: str | None = Field(
        None,
        max_length=20,
        description="For users with two-factor authentication: a code from the authenticator app "
        "or a recovery code.",
    )


class TokenOut(Schema):
    token: str
    expires_at: datetime


@router.post(
    "auth/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="Exchange e-mail + password (+ two-factor code) for a token",
)
def obtain_token(request, payload: TokenIn):
    enforce(request, "token")  # per IP, before the per-account lockout counts
    # Lower-cased so the lockout counts every spelling of an address together.
    user = authenticate(request, username=payload.email.lower(), password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise RateLimited("Too many failed logins; try again later.")
    if user is None:
        raise AuthFailed("E-mail or password is wrong.")
    # Not a way around two-factor: the same code as the login page, and admins who must use it
    # but have not set it up get no token until they have (on the two-factor page).
    if two_factor.has_two_factor(user):
        if not payload.otp:
            raise AuthFailed(
                "Two-factor code required.", {"otp": ["Send a code from your authenticator app."]}
            )
        if services.verify_second_factor(user, payload.otp) is None:
            raise AuthFailed("Two-factor code is wrong.", {"otp": ["That code is not right."]})
    elif two_factor.required(user):
        raise Forbidden("Set up two-factor authentication in the app before using the API.")
    expires_at = timezone.now() + settings.CUSTODY_API_TOKEN_TTL
    _token, raw = ApiToken.issue(user, name="API login", kind=ApiToken.Kind.SESSION, expires_at=expires_at)
    return {"token": raw, "expires_at": expires_at}


class BranchRef(Schema):
    id: UUID
    code: str
    name: str


class MeOut(Schema):
    id: UUID
    email: str
    full_name: str
    role: str
    all_branches: bool
    branches: list[BranchRef]
    language: str


@router.get("me", response=MeOut, tags=["users"], summary="The authenticated user")
def me(request):
    user = request.user
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "all_branches": user.all_branches,
        "branches": list(user.branches.all()),
        "language": user.language,
    }


class PersonalTokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = None  # with an offset: a naive time cannot be compared


class PersonalTokenOut(Schema):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class PersonalTokenCreated(PersonalTokenOut):
    token: str


@router.get("tokens", response=list[PersonalTokenOut], tags=["users"], summary="My personal tokens")
def list_tokens(request):
    return list(request.user.api_tokens.filter(kind=ApiToken.Kind.PERSONAL))


@router.post(
    "tokens",
    response={201: PersonalTokenCreated},
    tags=["users"],
    summary="Create a personal token (shown once)",
)
def create_token(request, payload: PersonalTokenIn):
    token, raw = services.create_personal_token(request.user, payload.name, payload.expires_at)
    data = PersonalTokenOut.from_orm(token).dict()
    data["token"] = raw
    return Status(201, data)


@router.post(
    "tokens/{token_id}/revoke", response=PersonalTokenOut, tags=["users"], summary="Revoke a personal token"
)
def revoke_token(request, token_id: UUID):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, kind=ApiToken.Kind.PERSONAL)
    return services.revoke_token(request.user, token)


class UserOut(Schema):
    id: UUID
    email: str
    full_name: str
    phone: str
    role: str
    all_branches: bool
    branch_ids: list[UUID]
    branches: list[BranchRef]
    language: str
    is_active: bool
    two_factor_enabled: bool
    status: str = Field(description="active | invited (no password set yet) | deactivated")
    last_login: datetime | None
    date_joined: datetime
    version: int = Field(description="Send it back as If-Match: <version> with PATCH")

    @staticmethod
    def resolve_branches(obj):
        return list(obj.branches.all())

    @staticmethod
    def resolve_branch_ids(obj):
        return [b.pk for b in obj.branches.all()]

    @staticmethod
    def resolve_status(obj):
        return str(obj.status)


class UserList(Schema):
    items: list[UserOut]
    count: int
    next: str | None


class UserIn(Schema):
    email: str = Field(min_length=3, max_length=254)
    full_name: str = Field("", max_length=150)
    phone: str = Field("", max_length=30)
    role: str
    branch_ids: list[UUID] = []
    all_branches: bool = False
    language: str = "en"


class UserPatch(Schema):
    full_name: str | None = Field(None, max_length=150)
    phone: str | None = Field(None, max_length=30)
    role: str | None = None
    branch_ids: list[UUID] | None = None
    all_branches: bool | None = None
    language: str | None = None
    version: int | None = Field(None, description="The version you read (or send If-Match: <version>)")


USER_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _user(request, user_id) -> User:
    return selectors.user_for(request.user, user_id)


@router.get(
    "users",
    response={200: UserList, **USER_ERRORS},
    tags=["users"],
    summary="Users (admin): ?q=&role=&status=active|invited|deactivated",
)
def list_users(request, q: str = "", role: str = "", status: str = ""):
    qs = selectors.users_for(request.user, q=q, role=role, status=status)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings=selectors.USER_ORDERINGS,
        default_ordering="email",
    )
    return {"items": page.items, "count": page.count, "next": page.next}


@router.post(
    "users",
    response={201: UserOut, **USER_ERRORS},
    tags=["users"],
    summary="Invite a user (admin): an e-mail with a set-password link is queued",
)
def invite_user(request, payload: UserIn):
    user = services.invite_user(request.user, **payload.dict())
    return Status(201, user)


@router.get(
    "users/{user_id}", response={200: UserOut, **USER_ERRORS}, tags=["users"], summary="One user (admin)"
)
def get_user(request, user_id: UUID):
    return _user(request, user_id)


@router.patch(
    "users/{user_id}",
    response={200: UserOut, 428: ErrorOut, **USER_ERRORS},
    tags=["users"],
    summary="Change a user's name, role, branches or language (admin); requires If-Match: <version>",
    description="Send the `version` you read as `If-Match: <version>` (or as `version` in the body). "
    "Without it the answer is 428 PRECONDITION_REQUIRED; when someone changed the user meanwhile it is "
    "409 CONFLICT (reload and apply the change again), like every other update (DESIGN §15).",
    openapi_extra={
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The user's version, e.g. 3 (required unless the body has version)",
            }
        ],
    },
)
def update_user(request, user_id: UUID, payload: UserPatch):
    target = _user(request, user_id)  # 404/403 before the precondition (role before state)
    data = payload.dict(exclude_unset=True)
    version = _if_match(request, data.pop("version", None))
    return services.update_user(request.user, target, expected_version=version, **data)


def _if_match(request, body_version: int | None) -> int:
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if header:
        if not header.isdigit():
            raise ValidationFailed(
                _("If-Match must be the user's version number."),
                {"If-Match": [_("Send the version number, e.g. If-Match: 3.")]},
            )
        return int(header)
    if body_version is None:
        raise PreconditionRequired(
            _("Send the version you read as If-Match: <version>, so a change made meanwhile is not lost."),
            {"If-Match": [_("Required: the user's version, e.g. If-Match: 3.")]},
        )
    return body_version


@router.post(
    "users/{user_id}/deactivate",
    response={200: UserOut, **USER_ERRORS},
    tags=["users"],
    summary="Deactivate: sessions and API tokens stop at once (admin)",
)
def deactivate_user(request, user_id: UUID):
    return services.deactivate_user(request.user, _user(request, user_id))


@router.post(
    "users/{user_id}/reactivate",
    response={200: UserOut, **USER_ERRORS},
    tags=["users"],
    summary="Reactivate (admin)",
)
def reactivate_user(request, user_id: UUID):
    return services.reactivate_user(request.user, _user(request, user_id))


@router.post(
    "users/{user_id}/reset-password",
    response={200: UserOut, **USER_ERRORS},
    tags=["users"],
    summary="Reset the password: it stops working and a set-password link is e-mailed (admin)",
)
def reset_user_password(request, user_id: UUID):
    return services.reset_password(request.user, _user(request, user_id))

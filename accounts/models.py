import hashlib
import secrets
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .choices import Language, Role, UserStatus


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("all_branches", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address; one role, one or more branches."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.VIEWER, db_index=True
    )
    all_branches = models.BooleanField(_("all branches"), default=False)
    branches = models.ManyToManyField(
        "fleet.Branch", blank=True, related_name="users", verbose_name=_("branches")
    )
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.ENGLISH
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    # Changed to end every session and outstanding set-password link at once (deactivation, reset).
    security_stamp = models.CharField(max_length=32, blank=True, default="", editable=False)
    # Kept by accounts.services with the authenticator device, so no request needs a query to know it.
    two_factor_enabled = models.BooleanField(_("two-factor authentication"), default=False, editable=False)
    # Optimistic locking of administrators' edits (`PATCH /api/v1/users/{id}` needs If-Match: <version>).
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_staff(self) -> bool:
        # Django admin is for admins only.
        return self.is_active and self.role == Role.ADMIN

    def has_perm(self, perm, obj=None) -> bool:
        # Django admin permissions follow the role: admins may do everything there.
        return (self.is_active and self.role == Role.ADMIN) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        return (self.is_active and self.role == Role.ADMIN) or super().has_module_perms(app_label)

    def _get_session_auth_hash(self, secret=None):
        # Django's hash of the password, plus the stamp: with an empty stamp it equals Django's own,
        # so sessions made before the stamp existed stay valid.
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            self.password + self.security_stamp,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def status(self) -> str:
        """`active`, `invited` (never set a password) or `deactivated`."""
        if not self.is_active:
            return UserStatus.DEACTIVATED
        if self.last_login is None and not self.has_usable_password():
            return UserStatus.INVITED
        return UserStatus.ACTIVE

    def get_status_display(self) -> str:
        return UserStatus(self.status).label

    @property
    def status_colour(self) -> str:
        return UserStatus(self.status).colour

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the raw value is shown once."""

    class Kind(models.TextChoices):
        SESSION = "session", _("Login token")
        PERSONAL = "personal", _("Personal token")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "kind"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, user: User, name: str, kind: str = Kind.PERSONAL, expires_at=None
    ) -> tuple["ApiToken", str]:
        raw = "cst_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            kind=kind,
            token_hash=hash_token(raw),
            prefix=raw[:10],
            expires_at=expires_at,
        )
        return token, raw

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class SavedFilter(models.Model):
    """A list's filters saved under a name (issue 12, "lists that remember").

    `query` holds only the list's own filter keys (accounts.lists cleans it through the list's filter
    form). Private to its owner, or shared read-only with branches: their users see it in the list's
    menu and may apply it; only the owner renames, re-shares or deletes it.
    """

    NAME_MAX = 60
    QUERY_MAX = 2000

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_filters")
    list_key = models.CharField(_("list"), max_length=30)
    name = models.CharField(_("name"), max_length=NAME_MAX)
    query = models.CharField(_("filters"), max_length=QUERY_MAX, blank=True)
    shared_with = models.ManyToManyField(
        "fleet.Branch", blank=True, related_name="+", verbose_name=_("shared with")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("owner", "list_key", Lower("name"), name="saved_filter_name_unique")
        ]

    def __str__(self):
        return self.name

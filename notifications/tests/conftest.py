import pytest

from accounts.choices import Role
from conftest import make_user
from custodies.tests.conftest import attach, draft_data, make_draft  # noqa: F401
from integrations.models import OutboxEvent


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CUSTODY_SMS_BACKEND = ""
    settings.CUSTODY_PUBLIC_URL = "https://custody.example.com"


def last_event(event_type: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(type=event_type).order_by("-created_at").first()


@pytest.fixture
def outsiders(other_branch):
    """Staff of another branch, who never hear about this branch's custodies."""
    return {
        role: make_user(role, other_branch, email=f"{role}@auh.example.com")
        for role in (Role.SUPERVISOR, Role.MANAGER, Role.OPERATOR)
    }

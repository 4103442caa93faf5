import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import make_user
from custodies import services
from documents.models import Document

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attach(custody, *types, user=None):
    for document_type in types:
        Document.objects.create(
            custody=custody,
            document_type=document_type,
            file=ContentFile(PDF, name="x.pdf"),
            file_name=f"{document_type}.pdf",
            size=len(PDF),
            content_type="application/pdf",
            sha256=hashlib.sha256(PDF).hexdigest(),
            uploaded_by=user,
        )


def draft_data(agreement, spare_vehicle, **overrides):
    now = timezone.now()
    data = {
        "branch_id": agreement.branch_id,
        "agreement_id": agreement.id,
        "customer_id": agreement.customer_id,
        "original_vehicle_id": agreement.vehicle_id,
        "replacement_vehicle_id": spare_vehicle.id if spare_vehicle else None,
        "custodian_type": "customer",
        "custodian_name": "",
        "reason_code": "breakdown",
        "reason_subcode": "engine_failure",
        "incident_at": now - timedelta(hours=2),
        "effective_from": now - timedelta(hours=1),
        "expected_return_at": now + timedelta(days=3),
        "rate_policy": "inherit",
    }
    if spare_vehicle is None and data["reason_code"] in ("accident", "breakdown", "damage"):
        # Without a replacement car the rules want that decision recorded.
        data.update(no_replacement_needed=True, no_replacement_reason="Customer has another car")
    data.update(overrides)
    return data


@pytest.fixture
def second_supervisor(branch):
    return make_user(Role.SUPERVISOR, branch, email="supervisor2@example.com")


@pytest.fixture
def make_draft(users, agreement, spare_vehicle):
    def factory(user=None, **overrides):
        user = user or users[Role.OPERATOR]
        with acting_as(user, "web"):
            custody = services.create_custody(user, draft_data(agreement, spare_vehicle, **overrides))
        attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
        return custody

    return factory

"""missing_documents (hand-written SQL, core.rawsql) answers what the querysets it replaces answer."""

import itertools

import pytest
from django.utils import timezone

from custodies.choices import ReasonCode
from custodies.models import Custody
from custodies.tests.conftest import attach
from documents import services
from documents.choices import RuleStage
from documents.models import Document, DocumentRule

pytestmark = pytest.mark.django_db


def expected(custody, stage):
    have = services.present_types(custody)
    return [t for t in services.required_types(custody.reason_code, stage) if t not in have]


def test_missing_documents_answers_required_less_present(make_draft):
    DocumentRule.objects.create(reason_code="", stage="submit", document_type="photos", active=False)
    DocumentRule.objects.create(reason_code="accident", stage="close", document_type="photos")
    custody = make_draft()
    Document.objects.filter(custody=custody).delete()
    attach(custody, "incident_report", "handover_checklist")
    Document.objects.filter(custody=custody, document_type="handover_checklist").update(
        superseded_at=timezone.now()
    )  # an old version only: missing again
    checked = 0
    for reason, stage in itertools.product(ReasonCode.values, RuleStage.values):
        Custody.objects.filter(pk=custody.pk).update(reason_code=reason)
        custody.reason_code = reason
        assert services.missing_documents(custody, stage) == expected(custody, stage), (reason, stage)
        checked += bool(expected(custody, stage))
    assert checked >= 5
    assert "handover_checklist" in services.missing_documents(custody, "handover")
    assert "incident_report" not in services.missing_documents(custody, "submit")

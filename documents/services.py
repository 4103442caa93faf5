"""Document rules and storage. Upload, supersede and signatures live here too."""

from django.db.models import Q

from .models import Document, DocumentRule


def required_types(reason_code: str, stage: str) -> list[str]:
    rules = DocumentRule.objects.filter(active=True, stage=stage).filter(Q(reason_code=reason_code) | Q(reason_code=""))
    return sorted(set(rules.values_list("document_type", flat=True)))


def present_types(custody) -> set[str]:
    return set(
        Document.objects.filter(custody=custody, superseded_at__isnull=True).values_list("document_type", flat=True)
    )


def missing_documents(custody, stage: str) -> list[str]:
    """Document types the rules require at `stage` that the custody does not have (current versions)."""
    have = present_types(custody)
    return [t for t in required_types(custody.reason_code, stage) if t not in have]

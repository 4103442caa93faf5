from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self):
        from custodies import rules

        from .choices import DocumentType
        from .services import missing_documents, present_types

        rules.register_documents(
            rules.DocumentRequirements(
                missing=missing_documents,
                present=present_types,
                label=lambda document_type: str(dict(DocumentType.choices).get(document_type, document_type)),
            )
        )

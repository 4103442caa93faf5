from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self):
        from custodies import hooks

        from . import condition
        from .choices import DocumentType
        from .services import missing_documents, panel_context, present_types

        # custodies sits below us: its rules and its page reach the custody's documents through this.
        hooks.register_documents(
            hooks.CustodyDocuments(
                missing=missing_documents,
                present=present_types,
                label=lambda document_type: str(dict(DocumentType.choices).get(document_type, document_type)),
                panel=panel_context,
                readings=condition.readings_for,
            )
        )

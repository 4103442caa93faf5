from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("charges/", views.finance_list, name="charges"),
    path("charges/post/", views.bulk_post, name="bulk_post"),
    path("custodies/<uuid:custody_id>/tab/", views.custody_tab, name="custody_tab"),
    path("custodies/<uuid:custody_id>/charges/", views.add_charge, name="add_charge"),
    path("custodies/<uuid:custody_id>/charges/post/", views.post_selected, name="post_selected"),
    path("custodies/<uuid:custody_id>/charges/<uuid:charge_id>/void/", views.void_charge, name="void_charge"),
    path("custodies/<uuid:custody_id>/charges/<uuid:charge_id>/edit/", views.edit_charge, name="edit_charge"),
    path("custodies/<uuid:custody_id>/payments/", views.record_payment, name="record_payment"),
    path("custodies/<uuid:custody_id>/holds/<str:action>/", views.hold_action, name="hold_action"),
    path(
        "custodies/<uuid:custody_id>/holds/<str:action>/<uuid:hold_id>/",
        views.hold_action,
        name="hold_action",
    ),
    path("custodies/<uuid:custody_id>/close-suggestions/", views.close_suggestions, name="close_suggestions"),
    path("custodies/<uuid:custody_id>/invoices/", views.issue_invoices, name="issue_invoices"),
    path("invoices/<uuid:invoice_id>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("custodies/<uuid:custody_id>/summary.pdf", views.summary_pdf, name="summary_pdf"),
]

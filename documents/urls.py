from django.urls import path

from . import public_views, views

app_name = "documents"
urlpatterns = [
    path("<uuid:document_id>/download/", views.download, name="download"),
    path("<uuid:document_id>/delete/", views.delete, name="delete"),
    path("custody/<uuid:custody_id>/", views.custody_documents, name="custody"),
    path("custody/<uuid:custody_id>/upload/", views.upload, name="upload"),
    path("custody/<uuid:custody_id>/sign/<str:document_type>/", views.sign, name="sign"),
    path("custody/<uuid:custody_id>/signing-link/", public_views.send_link, name="send_link"),
    path("custody/<uuid:custody_id>/condition/<str:stage>/", views.condition_page, name="condition"),
    path(
        "custody/<uuid:custody_id>/condition/<str:stage>/mark/", views.condition_mark, name="condition_mark"
    ),
    path("condition/marks/<uuid:mark_id>/remove/", views.condition_remove, name="condition_remove"),
    path("custody/<uuid:custody_id>/print/<str:document_type>.pdf", views.print_form, name="print_form"),
]
